use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::util::*;

/// Waits until the router reports the task finished; returns it.
pub async fn finished(f: &Fleet, router: &str, task: &Value) -> Value {
    let uid = task["taskUid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no task uid in {task}"));
    let url = format!("{router}/tasks/{uid}");
    eventually("a Miroir task to finish", || async {
        let (_, t) = f.call(Method::GET, &url, None).await;
        matches!(t["status"].as_str(), Some("succeeded" | "failed")).then_some(t)
    })
    .await
}

/// Creates an index through `router` (with primary key `id`, or none) and
/// waits for its task to succeed; returns the task summary.
pub async fn create_index(f: &Fleet, router: &str, uid: &str, pk: Option<&str>) -> Value {
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": uid, "primaryKey": pk})),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(f, router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    t
}

/// Adds `docs` to index `uid` through `router` and waits for the task to
/// succeed; returns the finished task.
pub async fn add_documents(f: &Fleet, router: &str, uid: &str, docs: Vec<Value>) -> Value {
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/{uid}/documents"),
            Some(&Value::from(docs)),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(f, router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    done
}

/// Changes index `uid`'s settings through `router` and waits for the task to succeed.
pub async fn set_settings(f: &Fleet, router: &str, uid: &str, body: Value) {
    let url = format!("{router}/indexes/{uid}/settings");
    let (status, t) = f.call(Method::PATCH, &url, Some(&body)).await;
    assert_eq!(status, 202, "{t}");
    let done = finished(f, router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

pub async fn total(f: &Fleet, router: &str, uid: &str) -> u64 {
    let (status, body) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/{uid}/search"),
            Some(&json!({"q": "", "limit": 0})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["estimatedTotalHits"].as_u64().unwrap()
}

/// 1,000 documents written through the router in batches land on every node,
/// are all found (once) through search, and each write's task succeeds.
async fn thousand_documents_in_all_found(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 2).await;
    let router = f.start_router().await;
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": "docs", "primaryKey": "id"})),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    for batch in 0..4u64 {
        let docs: Vec<Value> = (batch * 250..(batch + 1) * 250)
            .map(|i| json!({"id": i, "title": format!("doc {i}")}))
            .collect();
        let done = add_documents(&f, &router, "docs", docs).await;
        assert_eq!(done["details"]["indexedDocuments"], 250);
    }
    assert_eq!(total(&f, &router, "docs").await, 1000);
    for (id, _, p) in &f.nodes {
        let (_, stats) = f
            .call(Method::GET, &format!("{}/indexes/docs/stats", p.addr), None)
            .await;
        assert!(
            stats["numberOfDocuments"].as_u64().unwrap_or(0) > 0,
            "node {id} holds nothing: {stats}"
        );
    }
}

/// Bad batches are refused whole, the way Meilisearch reports them (a failed
/// task, or 400 for a body that is not JSON), and nothing is written.
async fn bad_batches_write_nothing(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": "docs", "primaryKey": "id"})),
        )
        .await;
    finished(&f, &router, &t).await;
    let url = format!("{router}/indexes/docs/documents");
    let (_, t) = f
        .call(Method::POST, &url, Some(&json!([{"id": 1}, {"id": 2}])))
        .await;
    finished(&f, &router, &t).await;
    for (bad, code) in [
        (
            json!([{"id": 3}, {"title": "no id"}]),
            "missing_document_id",
        ),
        (json!([{"id": "has space"}]), "invalid_document_id"),
        (
            json!([{"id": 4, "_miroir_shard": 0}]),
            "miroir_reserved_field",
        ),
    ] {
        let (status, t) = f.call(Method::POST, &url, Some(&bad)).await;
        assert_eq!(status, 202, "{t}");
        let done = finished(&f, &router, &t).await;
        assert_eq!(done["status"], "failed");
        assert_eq!(done["error"]["code"], code, "{done}");
    }
    let resp = f
        .http
        .post(&url)
        .bearer_auth(KEY)
        .header("content-type", "application/json")
        .body("[{\"id\": 5,")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "malformed_payload");
    assert_eq!(total(&f, &router, "docs").await, 2);
    let resp = f
        .http
        .post(&url)
        .bearer_auth("wrong")
        .json(&json!([{"id": 9}]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(total(&f, &router, "docs").await, 2);
}

/// Two routers hand out unique, increasing task uids, and either one answers
/// for a task the other created. A write to a missing index creates it and
/// infers its primary key.
async fn routers_share_tasks_and_autocreate(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let a = f.start_router().await;
    let b = f.start_router().await;
    let mut uids = vec![];
    for i in 0..6u64 {
        let router = if i % 2 == 0 { &a } else { &b };
        let (status, t) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/auto/documents"),
                Some(&json!([{"sku_id": i, "name": "x"}])),
            )
            .await;
        assert_eq!(status, 202, "{t}");
        uids.push(t["taskUid"].as_u64().unwrap());
        let other = if i % 2 == 0 { &b } else { &a };
        assert_eq!(finished(&f, other, &t).await["status"], "succeeded");
    }
    let mut sorted = uids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), uids.len(), "task uids repeat: {uids:?}");
    let per_router: Vec<u64> = uids.iter().step_by(2).copied().collect();
    assert!(per_router.windows(2).all(|w| w[0] < w[1]), "{uids:?}");
    assert_eq!(total(&f, &a, "auto").await, 6);
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let d = admin
        .describe_index(
            f.cluster
                .req(miroir::pb::v1::IndexRef { uid: "auto".into() }),
        )
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.index.unwrap().primary_key.as_deref(), Some("sku_id"));
}

/// With one node of a single-copy group killed, writes that need it are
/// refused with 503 miroir_no_quorum (never reported as done), searches still
/// answer (marked degraded), and once it is back writes succeed again.
async fn dead_node_fails_writes_honestly(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": "docs", "primaryKey": "id"})),
        )
        .await;
    finished(&f, &router, &t).await;
    f.nodes[0].2.kill();
    let docs: Vec<Value> = (0..50u64).map(|i| json!({"id": i})).collect();
    let resp = f
        .http
        .post(format!("{router}/indexes/docs/documents"))
        .bearer_auth(KEY)
        .json(&docs)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    assert!(resp.headers().get("x-miroir-degraded").is_some());
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["code"], "miroir_no_quorum");
    let resp = f
        .http
        .post(format!("{router}/indexes/docs/search"))
        .bearer_auth(KEY)
        .json(&json!({"q": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.headers().get("x-miroir-degraded").is_some());
}

/// Killing the coordinator leader while clients write and search: searches
/// never fail, and writes go through again once a new leader is elected.
async fn coordinator_leader_loss_keeps_searches_and_resumes_writes(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": "docs", "primaryKey": "id"})),
        )
        .await;
    finished(&f, &router, &t).await;
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/documents"),
            Some(&json!([{"id": 0}])),
        )
        .await;
    finished(&f, &router, &t).await;
    let leader = f.cluster.leader().await;
    f.cluster.kill(leader);
    let mut writes_ok = 0;
    let mut attempt = 1u64;
    while writes_ok < 3 {
        let (status, body) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/docs/search"),
                Some(&json!({"q": ""})),
            )
            .await;
        assert_eq!(
            status, 200,
            "a search failed while the coordinators elected a leader: {body}"
        );
        let (status, t) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/docs/documents"),
                Some(&json!([{"id": attempt}])),
            )
            .await;
        if status == 202 && finished(&f, &router, &t).await["status"] == "succeeded" {
            writes_ok += 1;
        }
        attempt += 1;
        assert!(attempt < 500, "writes did not resume");
    }
}

crate::on_both_nodes!(
    thousand_documents_in_all_found,
    bad_batches_write_nothing,
    routers_share_tasks_and_autocreate,
    dead_node_fails_writes_honestly,
);

/// A write is acknowledged once the nodes enqueued it, and its Miroir task
/// succeeds only once every node has applied it: with devnodes that hold each
/// task in their queue for 3 s, the task is still open and nothing is found
/// right after the 202, and everything is found once the task has succeeded.
#[tokio::test(flavor = "multi_thread")]
async fn tasks_succeed_only_once_the_nodes_applied_them() {
    let mut f = Fleet::start_on(Nodes::DelayedDevnode(3000), 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "docs", Some("id")).await;
    let docs: Vec<Value> = (0..20u64).map(|i| json!({"id": i})).collect();
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/documents"),
            Some(&Value::from(docs)),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let uid = t["taskUid"].as_u64().unwrap();
    let (_, open) = f
        .call(Method::GET, &format!("{router}/tasks/{uid}"), None)
        .await;
    assert!(
        matches!(open["status"].as_str(), Some("enqueued" | "processing")),
        "the task is done before any node applied it: {open}"
    );
    assert_eq!(total(&f, &router, "docs").await, 0);
    let done = finished(&f, &router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(total(&f, &router, "docs").await, 20);
}

crate::on_both_nodes!(coordinator_leader_loss_keeps_searches_and_resumes_writes,);
