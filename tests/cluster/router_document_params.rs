//! Document write parameters through a router: `customMetadata` kept on the Miroir task and
//! shown wherever the task is, `skipCreation` honoured on every shard, unknown parameters
//! refused before anything is sent.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished};

async fn ids(f: &Fleet, router: &str) -> Vec<u64> {
    let (status, page) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/documents?limit=100"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{page}");
    let mut ids: Vec<u64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    ids
}

async fn custom_metadata_and_skip_creation(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "docs", Some("id")).await;
    let docs: Vec<Value> = (0..8).map(|i| json!({"id": i, "n": 0})).collect();
    add_documents(&f, &router, "docs", docs).await;

    // Writes and deletions keep customMetadata on the task: in the 202, in
    // GET /tasks/{uid} and in listings.
    let (status, t) = f
        .call(
            Method::PUT,
            &format!("{router}/indexes/docs/documents?customMetadata=import%207&skipCreation=true"),
            Some(&json!((0..16)
                .map(|i| json!({"id": i, "n": 1}))
                .collect::<Vec<_>>())),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(t["customMetadata"], "import 7", "{t}");
    let done = finished(&f, &router, &t).await;
    assert_eq!(
        (&done["status"], &done["customMetadata"]),
        (&json!("succeeded"), &json!("import 7")),
        "{done}"
    );
    // Ids 8..16 were new: skipped on every shard; 0..8 were updated.
    assert_eq!(ids(&f, &router).await, (0..8).collect::<Vec<_>>());
    let (_, one) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/documents/3"),
            None,
        )
        .await;
    assert_eq!(one["n"], 1, "{one}");

    let (status, d) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/docs/documents/3?customMetadata=gone"),
            None,
        )
        .await;
    assert_eq!((status, &d["customMetadata"]), (202, &json!("gone")), "{d}");
    finished(&f, &router, &d).await;
    let (_, list) = f
        .call(Method::GET, &format!("{router}/tasks?indexUids=docs"), None)
        .await;
    let shown: Vec<&Value> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| &t["customMetadata"])
        .collect();
    assert_eq!(
        shown[..2],
        [&json!("gone"), &json!("import 7")],
        "newest first: {list}"
    );
    // A task given none shows none, as in Meilisearch.
    assert!(list["results"][2].get("customMetadata").is_none(), "{list}");

    // Bad parameters: Meilisearch's errors, and nothing written or recorded.
    let before = list["total"].clone();
    for (url, code) in [
        ("documents?skipCreation=maybe", "invalid_skip_creation"),
        ("documents?bogus=1", "bad_request"),
        ("documents?csvDelimiter=%3B", "invalid_content_type"),
    ] {
        let (status, e) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/docs/{url}"),
                Some(&json!([{"id": 100}])),
            )
            .await;
        assert_eq!(
            (status >= 400, e["code"].as_str()),
            (true, Some(code)),
            "{e}"
        );
    }
    let (status, e) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/docs/documents?x=1"),
            None,
        )
        .await;
    assert_eq!(status, 400, "{e}");
    assert_eq!(
        e["message"],
        "Unknown parameter `x`: expected one of `customMetadata`"
    );
    let (_, list) = f
        .call(Method::GET, &format!("{router}/tasks?indexUids=docs"), None)
        .await;
    assert_eq!(list["total"], before, "a refused write made no task");
    assert_eq!(ids(&f, &router).await, vec![0, 1, 2, 4, 5, 6, 7]);
}

/// A batch of no documents (an empty array; what an SDK sends when it wraps
/// a CSV in JSON quotes, a CSV of headers only) succeeds with none, as in
/// Meilisearch, even on an index without a primary key yet. (It used to be
/// refused as if the lease had ended, since no node call was made.)
async fn empty_batches_succeed(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "empty", None).await;
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/empty/documents"),
            Some(&json!([])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(&f, &router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["details"],
        json!({"receivedDocuments": 0, "indexedDocuments": 0}),
        "{done}"
    );
}

crate::on_both_nodes!(custom_metadata_and_skip_creation, empty_batches_succeed);
