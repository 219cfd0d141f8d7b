//! Tombstones (DESIGN section 6): every kind of delete is recorded, with its
//! version and task, before the router acknowledges it, and operators see
//! them through `miroir-ctl tombstones`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished};

/// `miroir-ctl --json ARGS` on coordinator 1, parsed; panics on failure.
fn ctl_json(f: &Fleet, args: &[&str]) -> Value {
    let out = f.cluster.ctl(1, &[&["--json"][..], args].concat());
    assert!(
        out.status.success(),
        "miroir-ctl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON from miroir-ctl")
}

fn newest(f: &Fleet, index: &str) -> Vec<Value> {
    let l = ctl_json(f, &["tombstones", "list", "--index", index]);
    l["tombstones"].as_array().cloned().unwrap_or_default()
}

/// Sends one delete and checks, as soon as it is acknowledged (before its
/// task has run), that the newest tombstone is its own.
async fn delete(f: &Fleet, method: Method, url: &str, body: Option<Value>) -> Option<Value> {
    let (status, t) = f.call(method, url, body.as_ref()).await;
    assert_eq!(status, 202, "{t}");
    let top = newest(f, "gone").first().cloned();
    assert_eq!(
        finished(f, &url_router(url), &t).await["status"],
        "succeeded"
    );
    let top = top?;
    assert_eq!(
        top["task_uid"], t["taskUid"],
        "the tombstone names its task: {top}"
    );
    Some(top)
}

fn url_router(url: &str) -> String {
    url.split("/indexes").next().unwrap().to_string()
}

/// Runs one delete of each kind through a router started with `extra`;
/// returns the tombstones each left (newest first at the end).
async fn deletes_of_every_kind(nodes: Nodes, extra: &[&str]) -> (Vec<Option<Value>>, Fleet) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router_with(extra).await;
    create_index(&f, &router, "gone", Some("id")).await;
    let (status, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/gone/settings"),
            Some(&json!({"filterableAttributes": ["n"]})),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    finished(&f, &router, &t).await;
    let docs = (0..10).map(|i| json!({"id": i, "n": i})).collect();
    add_documents(&f, &router, "gone", docs).await;
    let at = |tail: &str| format!("{router}/indexes/gone/documents{tail}");
    let left = vec![
        delete(&f, Method::DELETE, &at("/1"), None).await,
        delete(
            &f,
            Method::POST,
            &at("/delete-batch"),
            Some(json!([2, "3"])),
        )
        .await,
        delete(
            &f,
            Method::POST,
            &at("/delete"),
            Some(json!({"filter": "n > 7"})),
        )
        .await,
        delete(&f, Method::DELETE, &at(""), None).await,
    ];
    (left, f)
}

async fn every_delete_leaves_its_tombstone(nodes: Nodes) {
    let (left, f) = deletes_of_every_kind(nodes, &[]).await;
    let left: Vec<Value> = left.into_iter().map(|t| t.expect("a tombstone")).collect();
    assert_eq!(left[0]["kind"], "ids");
    assert_eq!(left[0]["ids"], json!(["1"]));
    assert_eq!(left[1]["ids"], json!(["2", "3"]));
    assert_eq!(left[2]["kind"], "filter");
    assert_eq!(left[2]["filter"], json!("\"n > 7\""));
    assert_eq!(left[3]["kind"], "all");
    let versions: Vec<u64> = left
        .iter()
        .map(|t| t["version"].as_u64().unwrap())
        .collect();
    assert!(versions.windows(2).all(|w| w[0] < w[1]), "{versions:?}");
    // A filter the nodes refuse deletes nothing, and leaves no tombstone.
    let router = url_router(&f.routers[0].addr);
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/gone/documents/delete"),
            Some(&json!({"filter": "nope = 1"})),
        )
        .await;
    if t["taskUid"].is_u64() {
        assert_eq!(finished(&f, &router, &t).await["status"], "failed", "{t}");
    }
    let listed = newest(&f, "gone");
    assert_eq!(listed.len(), 4, "{listed:?}");
    let stats = ctl_json(&f, &["tombstones", "stats"]);
    assert_eq!(stats["retention_s"], 604800, "{stats}");
    assert_eq!(stats["indexes"][0]["records"], 4, "{stats}");
    assert_eq!(
        stats["indexes"][0]["newest_version"], versions[3],
        "{stats}"
    );
    // An unknown index is refused, with the usual exit code.
    let out = f.cluster.ctl(1, &["tombstones", "list", "--index", "nope"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no index `nope`"));
}

/// With the recording switched off, deletes leave nothing: the check above
/// is what notices.
#[tokio::test(flavor = "multi_thread")]
async fn skipped_tombstones_are_noticed() {
    let (left, _f) = deletes_of_every_kind(Nodes::Devnode, &["--unsafe-skip-tombstones"]).await;
    assert!(left.iter().all(Option::is_none), "{left:?}");
}

crate::on_both_nodes!(every_delete_leaves_its_tombstone);
