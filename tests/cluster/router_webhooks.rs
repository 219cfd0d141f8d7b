//! `/webhooks`: kept by the coordinators, so any router manages them, and
//! fired once per Miroir task (whichever router finishes it), with no
//! client asking for the task.

use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::util::*;

/// What the receiving end got: each delivery's headers and NDJSON lines.
type Received = Arc<Mutex<Vec<(HeaderMap, Vec<Value>)>>>;

async fn receiver() -> (String, Received, tokio::task::JoinHandle<()>) {
    let got: Received = Default::default();
    let store = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let store = store.clone();
            async move {
                let lines = body
                    .lines()
                    .map(|l| serde_json::from_str(l).expect("NDJSON line"))
                    .collect();
                store.lock().unwrap().push((headers, lines));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, got, server)
}

/// How many times each task uid was delivered.
fn deliveries(got: &Received) -> std::collections::BTreeMap<u64, usize> {
    let mut count = std::collections::BTreeMap::new();
    for (_, lines) in got.lock().unwrap().iter() {
        for t in lines {
            *count.entry(t["uid"].as_u64().unwrap()).or_default() += 1;
        }
    }
    count
}

async fn webhooks_fire_once_per_task(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let a = f.start_router().await;
    let b = f.start_router().await;
    let (url, got, server) = receiver().await;

    let hook = json!({"url": url, "headers": {"authorization": "Bearer s3cret", "x-test": "1"}});
    let (status, created) = f
        .call(Method::POST, &format!("{a}/webhooks"), Some(&hook))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["isEditable"], true);
    assert_ne!(
        created["headers"]["authorization"], "Bearer s3cret",
        "secrets are not shown"
    );
    let uuid = created["uuid"].as_str().unwrap().to_string();
    let (_, listed) = f.call(Method::GET, &format!("{b}/webhooks"), None).await;
    assert_eq!(listed["results"][0]["uuid"], uuid.as_str(), "{listed}");

    // Three tasks on two routers, one of them failing; nobody asks for them.
    let mut uids = vec![];
    let index = json!({"uid": "hooked", "primaryKey": "id"});
    let (_, t) = f
        .call(Method::POST, &format!("{a}/indexes"), Some(&index))
        .await;
    uids.push(t["taskUid"].as_u64().unwrap());
    let docs = json!([{"id": 1}, {"id": 2}]);
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{a}/indexes/hooked/documents"),
            Some(&docs),
        )
        .await;
    uids.push(t["taskUid"].as_u64().unwrap());
    let bad = json!([{"id": "not an id!"}]);
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{b}/indexes/hooked/documents"),
            Some(&bad),
        )
        .await;
    uids.push(t["taskUid"].as_u64().unwrap());
    eventually("every task to be delivered", || async {
        let seen = deliveries(&got);
        uids.iter().all(|u| seen.contains_key(u)).then_some(())
    })
    .await;
    // An index deletion, which the coordinator leader finishes: one router
    // takes it from the coordinators and fires its webhook.
    let (_, t) = f
        .call(Method::DELETE, &format!("{b}/indexes/hooked"), None)
        .await;
    let deletion = t["taskUid"].as_u64().unwrap();
    eventually("the deletion to be delivered", || async {
        deliveries(&got).contains_key(&deletion).then_some(())
    })
    .await;
    uids.push(deletion);
    // One more task after those: by the time it is delivered, a second
    // delivery of the earlier ones would have had every chance to happen.
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{a}/indexes/hooked/documents"),
            Some(&json!([{"id": 3}])),
        )
        .await;
    let last = t["taskUid"].as_u64().unwrap();
    eventually("the last task to be delivered", || async {
        deliveries(&got).contains_key(&last).then_some(())
    })
    .await;
    let seen = deliveries(&got);
    for u in &uids {
        assert_eq!(seen[u], 1, "task {u} delivered {} times", seen[u]);
    }
    let all: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .flat_map(|(_, l)| l.clone())
        .collect();
    let failed = all.iter().find(|t| t["uid"] == uids[2]).unwrap();
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "invalid_document_id");
    let deleted = all.iter().find(|t| t["uid"] == deletion).unwrap();
    assert_eq!(
        (&deleted["type"], &deleted["status"]),
        (&json!("indexDeletion"), &json!("succeeded")),
        "{deleted}"
    );
    let (headers, _) = got.lock().unwrap()[0].clone();
    assert_eq!(headers["authorization"], "Bearer s3cret");
    assert_eq!(headers["x-test"], "1");
    assert_eq!(headers["content-type"], "application/x-ndjson");

    // Edit (a null header is removed), then delete.
    let patch = json!({"headers": {"x-test": null}});
    let (status, edited) = f
        .call(Method::PATCH, &format!("{b}/webhooks/{uuid}"), Some(&patch))
        .await;
    assert_eq!(status, 200, "{edited}");
    assert!(edited["headers"].get("x-test").is_none(), "{edited}");
    let (status, _) = f
        .call(Method::DELETE, &format!("{a}/webhooks/{uuid}"), None)
        .await;
    assert_eq!(status, 204);
    let (status, gone) = f
        .call(Method::GET, &format!("{b}/webhooks/{uuid}"), None)
        .await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("webhook_not_found"))
    );
    let (status, bad) = f
        .call(
            Method::POST,
            &format!("{a}/webhooks"),
            Some(&json!({"url": "ftp://x"})),
        )
        .await;
    assert_eq!(
        (status, bad["code"].as_str()),
        (400, Some("invalid_webhook_url")),
        "{bad}"
    );
    server.abort();
}

crate::on_both_nodes!(webhooks_fire_once_per_task,);
