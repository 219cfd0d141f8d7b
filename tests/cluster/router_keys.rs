//! Primary keys chosen by the first write, as in Meilisearch, but once for
//! the whole cluster: two routers writing first batches at the same moment
//! agree on one key. And a body over the payload limit is refused whole.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{create_index, finished};

async fn post(f: &Fleet, router: &str, uid: &str, docs: Vec<Value>) -> Value {
    let url = format!("{router}/indexes/{uid}/documents");
    let (status, t) = f.call(Method::POST, &url, Some(&Value::from(docs))).await;
    assert_eq!(status, 202, "{t}");
    finished(f, router, &t).await
}

async fn primary_key(f: &Fleet, router: &str, uid: &str) -> Value {
    let (status, index) = f
        .call(Method::GET, &format!("{router}/indexes/{uid}"), None)
        .await;
    assert_eq!(status, 200, "{index}");
    index["primaryKey"].clone()
}

/// Two routers infer the same key at once: both batches succeed. Two
/// routers infer different keys at once: one key wins everywhere, the other
/// batch fails as Meilisearch fails a batch without the index's key, and
/// documents route by the winner from then on.
async fn first_writes_on_two_routers_agree_on_one_key(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 1).await;
    let a = f.start_router().await;
    let b = f.start_router().await;

    create_index(&f, &a, "agree", None).await;
    let batch = |from: u64| {
        (from..from + 10)
            .map(|i| json!({"book_id": i}))
            .collect::<Vec<_>>()
    };
    let (ta, tb) = tokio::join!(
        post(&f, &a, "agree", batch(0)),
        post(&f, &b, "agree", batch(100))
    );
    assert_eq!(
        (&ta["status"], &tb["status"]),
        (&json!("succeeded"), &json!("succeeded"))
    );
    assert_eq!(primary_key(&f, &b, "agree").await, "book_id");

    create_index(&f, &a, "race", None).await;
    let books: Vec<Value> = (0..10).map(|i| json!({"book_id": i})).collect();
    let isbns: Vec<Value> = (0..10).map(|i| json!({"isbn_id": i + 500})).collect();
    let (ta, tb) = tokio::join!(post(&f, &a, "race", books), post(&f, &b, "race", isbns));
    let (winner, loser) = match (ta["status"].as_str(), tb["status"].as_str()) {
        (Some("succeeded"), Some("failed")) => ("book_id", tb),
        (Some("failed"), Some("succeeded")) => ("isbn_id", ta),
        other => panic!("exactly one first batch must win, got {other:?}: {ta} {tb}"),
    };
    assert_eq!(loser["error"]["code"], "missing_document_id", "{loser}");
    assert_eq!(loser["details"]["indexedDocuments"], 0);
    for router in [&a, &b] {
        assert_eq!(primary_key(&f, router, "race").await, winner);
    }
    // From now on both routers place documents by the winning key.
    let (id, doc) = (777, json!({winner: 777, "note": "routed"}));
    assert_eq!(post(&f, &b, "race", vec![doc]).await["status"], "succeeded");
    for router in [&a, &b] {
        let url = format!("{router}/indexes/race/documents/{id}");
        let (status, found) = f.call(Method::GET, &url, None).await;
        assert_eq!((status, &found["note"]), (200, &json!("routed")), "{found}");
    }
}

/// A body over `--max-payload-bytes` gets Meilisearch's 413 and writes
/// nothing (not even the index a write would have created).
async fn oversized_body_is_refused_whole(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 1).await;
    let router = f.start_router_with(&["--max-payload-bytes", "1024"]).await;
    let docs: Vec<Value> = (0..100)
        .map(|i| json!({"id": i, "text": "x".repeat(20)}))
        .collect();
    let (status, err) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/big/documents"),
            Some(&Value::from(docs)),
        )
        .await;
    assert_eq!(status, 413, "{err}");
    assert_eq!(err["code"], "payload_too_large");
    assert_eq!(err["type"], "invalid_request");
    let (status, _) = f
        .call(Method::GET, &format!("{router}/indexes/big"), None)
        .await;
    assert_eq!(status, 404);
    let (status, small) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/big/documents"),
            Some(&json!([{"id": 1}])),
        )
        .await;
    assert_eq!(status, 202, "{small}");
}

crate::on_both_nodes!(
    first_writes_on_two_routers_agree_on_one_key,
    oversized_body_is_refused_whole,
);
