//! Index renames (`PATCH /indexes/{uid}` with a new uid) and `POST
//! /swap-indexes` through a router: a fenced flip of which client uid names
//! which physical index, with Meilisearch's answers, errors and task history.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished, total};
use crate::util::*;
use miroir::pb::v1::SetConfigRequest;

/// `n` documents with ids `from..from+n`, each tagged with `tag`.
fn docs(from: u64, n: u64, tag: &str) -> Vec<Value> {
    (from..from + n)
        .map(|i| json!({"id": i, "tag": tag}))
        .collect()
}

async fn swap(f: &Fleet, router: &str, body: Value) -> Value {
    let (status, t) = f
        .call(Method::POST, &format!("{router}/swap-indexes"), Some(&body))
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(
        (&t["type"], &t["indexUid"]),
        (&json!("indexSwap"), &Value::Null),
        "{t}"
    );
    finished(f, router, &t).await
}

async fn rename(f: &Fleet, router: &str, from: &str, body: Value) -> Value {
    let (status, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/{from}"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(
        (&t["type"], &t["indexUid"]),
        (&json!("indexUpdate"), &json!(from)),
        "{t}"
    );
    finished(f, router, &t).await
}

async fn tag_of(f: &Fleet, router: &str, uid: &str, id: u64) -> Value {
    let (status, d) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/{uid}/documents/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    d["tag"].clone()
}

fn uids(list: &Value) -> Vec<&str> {
    list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uid"].as_str().unwrap())
        .collect()
}

/// A swap exchanges two indexes' documents and their task history for the
/// client; a rename moves an index to a new uid and frees the old one; the
/// physical indexes on the nodes stay where they were. What Meilisearch
/// fails when it processes the task fails the task here, and leaves every
/// index writable.
async fn renamed_and_swapped(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "a", Some("id")).await;
    create_index(&f, &router, "b", Some("id")).await;
    let written = add_documents(&f, &router, "a", docs(0, 10, "a")).await;
    add_documents(&f, &router, "b", docs(0, 5, "b")).await;

    let done = swap(&f, &router, json!([{"indexes": ["a", "b"]}])).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["details"],
        json!({"swaps": [{"indexes": ["a", "b"], "rename": false}]})
    );
    assert_eq!(
        (total(&f, &router, "a").await, total(&f, &router, "b").await),
        (5, 10)
    );
    assert_eq!(tag_of(&f, &router, "a", 0).await, "b");
    let url = format!("{router}/tasks/{}", written["uid"]);
    let (_, earlier) = f.call(Method::GET, &url, None).await;
    assert_eq!(
        earlier["indexUid"], "b",
        "the task follows its documents: {earlier}"
    );
    // Writes after the swap reach the index the uid names now.
    add_documents(&f, &router, "a", docs(100, 1, "after")).await;
    assert_eq!(total(&f, &router, "a").await, 6);

    let done = rename(&f, &router, "a", json!({"uid": "c"})).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["details"],
        json!({"primaryKey": null, "oldIndexUid": "a", "newIndexUid": "c"})
    );
    let (status, e) = f
        .call(Method::GET, &format!("{router}/indexes/a"), None)
        .await;
    assert_eq!(
        (status, &e["code"]),
        (404, &json!("index_not_found")),
        "{e}"
    );
    let (status, c) = f
        .call(Method::GET, &format!("{router}/indexes/c"), None)
        .await;
    assert_eq!(
        (status, &c["uid"], &c["primaryKey"]),
        (200, &json!("c"), &json!("id")),
        "{c}"
    );
    let (_, list) = f
        .call(Method::GET, &format!("{router}/indexes"), None)
        .await;
    assert_eq!(uids(&list), ["b", "c"], "{list}");
    assert_eq!(total(&f, &router, "c").await, 6);
    let (_, tasks) = f
        .call(
            Method::GET,
            &format!("{router}/tasks?indexUids=c&types=documentAdditionOrUpdate"),
            None,
        )
        .await;
    assert_eq!(
        tasks["total"], 2,
        "the renamed index's writes are listed under it: {tasks}"
    );

    // Failures as Meilisearch processes them: the task fails, nothing moves.
    let failed = swap(&f, &router, json!([{"indexes": ["c", "zz"]}])).await;
    assert_eq!(failed["status"], "failed", "{failed}");
    assert_eq!(failed["error"]["message"], "Index `zz` not found.");
    let failed = rename(&f, &router, "c", json!({"uid": "b"})).await;
    assert_eq!(failed["error"]["code"], "index_already_exists", "{failed}");
    let failed = rename(&f, &router, "zz", json!({"uid": "y"})).await;
    assert_eq!(failed["error"]["code"], "index_not_found", "{failed}");
    for (body, code) in [
        (json!([{"indexes": ["b"]}]), "invalid_swap_indexes"),
        (
            json!([{"indexes": ["b", "c"]}, {"indexes": ["c", "x"]}]),
            "invalid_swap_duplicate_index_found",
        ),
        (json!({"indexes": ["b", "c"]}), "bad_request"),
    ] {
        let (status, e) = f
            .call(Method::POST, &format!("{router}/swap-indexes"), Some(&body))
            .await;
        assert_eq!((status, e["code"].as_str().unwrap()), (400, code), "{e}");
    }
    for (body, code) in [
        (json!({"uid": "bad uid"}), "invalid_index_uid"),
        (json!({"uid": "x__miroir_g2"}), "invalid_index_uid"),
        (json!({"uid": 5}), "invalid_index_uid"),
        (json!({"uid": "y", "other": 1}), "bad_request"),
    ] {
        let (status, e) = f
            .call(Method::PATCH, &format!("{router}/indexes/c"), Some(&body))
            .await;
        assert_eq!((status, e["code"].as_str().unwrap()), (400, code), "{e}");
    }
    // A failed rename of a missing index took an epoch with no map: the
    // routers hear of it, and keep their leases.
    add_documents(&f, &router, "c", docs(200, 1, "still")).await;
    add_documents(&f, &router, "b", docs(200, 1, "still")).await;
    assert_eq!(
        (total(&f, &router, "b").await, total(&f, &router, "c").await),
        (11, 7)
    );

    // A rename with a primary key sets it first; an empty swap succeeds.
    create_index(&f, &router, "fresh", None).await;
    let done = rename(
        &f,
        &router,
        "fresh",
        json!({"uid": "fresh2", "primaryKey": "sku"}),
    )
    .await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let (_, idx) = f
        .call(Method::GET, &format!("{router}/indexes/fresh2"), None)
        .await;
    assert_eq!(idx["primaryKey"], "sku", "{idx}");
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/swap-indexes"),
            Some(&json!([])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");

    // The old uid can be created again, under a new physical name; the
    // nodes still hold the first indexes under their first names.
    create_index(&f, &router, "a", Some("id")).await;
    assert_eq!(total(&f, &router, "a").await, 0);
    for (_, _, p) in &f.nodes {
        for physical in ["a", "b", "a__miroir_g2"] {
            let (status, _) = f
                .call(Method::GET, &format!("{}/indexes/{physical}", p.addr), None)
                .await;
            assert_eq!(status, 200, "node {} lacks `{physical}`", p.addr);
        }
    }
}

crate::on_both_nodes!(renamed_and_swapped);

/// Searches of both indexes in one multi-search, run while they are swapped
/// back and forth, see them either before or after each swap, never half
/// of one (both with the same documents).
#[tokio::test(flavor = "multi_thread")]
async fn no_search_sees_half_a_swap() {
    let mut f = Fleet::start(1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "left", Some("id")).await;
    create_index(&f, &router, "right", Some("id")).await;
    add_documents(&f, &router, "left", docs(0, 3, "l")).await;
    add_documents(&f, &router, "right", docs(0, 7, "r")).await;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (http, url, stop) = (
            f.http.clone(),
            format!("{router}/multi-search"),
            stop.clone(),
        );
        tokio::spawn(async move {
            let body = json!({"queries": [
                {"indexUid": "left", "q": "", "limit": 0},
                {"indexUid": "right", "q": "", "limit": 0},
            ]});
            let mut seen = std::collections::BTreeSet::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r = http
                    .post(&url)
                    .bearer_auth(KEY)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let v: Value = r.json().await.unwrap();
                let count = |i: usize| v["results"][i]["estimatedTotalHits"].as_u64().unwrap();
                seen.insert((count(0), count(1)));
            }
            seen
        })
    };
    for _ in 0..4 {
        let done = swap(&f, &router, json!([{"indexes": ["left", "right"]}])).await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.await.unwrap();
    assert!(seen.contains(&(3, 7)), "{seen:?}");
    for s in &seen {
        assert!(
            *s == (3, 7) || *s == (7, 3),
            "a half-swapped view: {seen:?}"
        );
    }
}

/// Every acknowledged write's task names the index its documents are in,
/// even for a write a router cleared just before a swap's fence and sent
/// only seconds later: the flip waits for it. With the wait switched off
/// (`--unsafe-skip-router-wait`), the held write lands after the flip, in
/// the index that now has the other uid, and the check notices.
async fn held_write(skip_router_wait: bool) -> (Value, bool) {
    let extra: &[&str] = match skip_router_wait {
        true => &["--unsafe-skip-router-wait"],
        false => &[],
    };
    let mut f = Fleet::start_with_coordinators(Nodes::Devnode, 1, 2, extra).await;
    // A lease long enough to outlast the hold, so the held write is sent.
    let leader = f.cluster.leader().await;
    let req = SetConfigRequest {
        key: "lease_ms".into(),
        value: "20000".into(),
        expect_version: None,
    };
    let mut admin = f.cluster.admin(leader).await;
    admin.set_config(f.cluster.req(req)).await.unwrap();
    let swapper = f.start_router().await;
    create_index(&f, &swapper, "a", Some("id")).await;
    create_index(&f, &swapper, "b", Some("id")).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let held = f
        .start_router_with(&[
            "--test-pause-before-send-ms",
            "8000",
            "--metrics-listen",
            &metrics,
        ])
        .await;
    let write = {
        let (http, url) = (f.http.clone(), format!("{held}/indexes/a/documents"));
        tokio::spawn(async move {
            let r = http
                .post(url)
                .bearer_auth(KEY)
                .json(&docs(7, 1, "held"))
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        })
    };
    // The write has passed the fence gate once it is held before sending.
    eventually("the write to be held before sending", || async {
        let text = f
            .http
            .get(format!("http://{metrics}/metrics"))
            .send()
            .await
            .ok()?
            .text()
            .await
            .ok()?;
        text.contains("miroir_router_test_pauses_total")
            .then_some(())
    })
    .await;
    let done = swap(&f, &swapper, json!([{"indexes": ["a", "b"]}])).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let (status, t) = write.await.unwrap();
    assert_eq!(status, 202, "{t}");
    let task = finished(&f, &swapper, &t).await;
    assert_eq!(task["status"], "succeeded", "{task}");
    let named = task["indexUid"].as_str().unwrap().to_string();
    let url = format!("{swapper}/indexes/{named}/documents/7");
    let (status, _) = f.call(Method::GET, &url, None).await;
    (task, status == 200)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_held_across_a_swap_lands_where_its_task_says() {
    let (task, found) = held_write(false).await;
    assert!(
        found,
        "the write's document is not in index {}: {task}",
        task["indexUid"]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_router_wait_a_held_write_lands_in_the_other_index() {
    let (task, found) = held_write(true).await;
    assert!(
        !found,
        "the unsafe switch should let the write land after the flip: {task}"
    );
}
