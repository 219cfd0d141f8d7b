//! The fleet layer (`miroir::fleet`) against nodes directly, devnodes and real Meilisearch alike:
//! what the router's writes and the coordinators' workflows build on.

use std::collections::BTreeMap;
use std::time::Duration;

use miroir::fleet::{NodeClient, NodeError, NodeKey, ShardPages, WaitError, WriteMode};
use miroir::state::{ShardId, TaskStatus};
use serde_json::{json, Value};

use crate::fleet::{Fleet, Nodes, KEY};

const WAIT: Duration = Duration::from_secs(30);

fn client() -> NodeClient {
    NodeClient::new(NodeKey::new(KEY), Duration::from_secs(10)).unwrap()
}

fn shards(range: std::ops::Range<u32>) -> Vec<ShardId> {
    range.map(ShardId).collect()
}

/// Reads every page of `shards` from one node; the ids in the order they came.
async fn read_all(nodes: &NodeClient, base: &str, shards: &[ShardId], page: usize) -> Vec<Value> {
    let mut reader =
        ShardPages::new(nodes, base, "pages", shards, page).fields(&["id", "_miroir_shard"]);
    let mut all = vec![];
    while let Some(docs) = reader.next_page().await.unwrap() {
        assert!(
            docs.len() <= page,
            "a page larger than asked: {}",
            docs.len()
        );
        all.extend(docs);
    }
    all
}

/// An index prepared on a node takes shard filters at once; a batch written to that one copy is
/// applied (the node's task is followed to its end), and a shard's documents read page by page
/// come back each exactly once, only from the shards asked.
async fn a_shard_is_written_and_read_page_by_page(nodes: Nodes) {
    let fleet = Fleet::start_on(nodes, 1, 1).await;
    let base = fleet.nodes[0].2.addr.clone();
    let nodes = client();
    let created = nodes
        .prepare_index(&base, "pages", Some("id"))
        .await
        .unwrap();
    let done = nodes
        .wait_for_task(&base, created.task_uid, WAIT)
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded, "{done:?}");
    // 90 documents over shards 0..9, ten each.
    let docs: Vec<Value> = (0..90)
        .map(|i| json!({"id": i, "_miroir_shard": i % 9, "title": format!("doc {i}")}))
        .collect();
    let written = nodes
        .write_batch(&base, "pages", "id", docs, WriteMode::Replace)
        .await
        .unwrap();
    let done = nodes
        .wait_for_task(&base, written.task_uid, WAIT)
        .await
        .unwrap();
    assert_eq!(done.status, TaskStatus::Succeeded, "{done:?}");
    assert_eq!(done.details["indexedDocuments"], 90, "{done:?}");

    for page in [1, 7, 30, 100] {
        let all = read_all(&nodes, &base, &shards(0..9), page).await;
        let mut seen: BTreeMap<u64, usize> = BTreeMap::new();
        for d in &all {
            *seen.entry(d["id"].as_u64().unwrap()).or_default() += 1;
        }
        assert_eq!(seen.len(), 90, "pages of {page}: {} ids", seen.len());
        assert!(
            seen.values().all(|&n| n == 1),
            "pages of {page} repeat a document"
        );
    }
    let some = read_all(&nodes, &base, &[ShardId(2), ShardId(5)], 4).await;
    assert_eq!(some.len(), 20);
    assert!(some
        .iter()
        .all(|d| d["_miroir_shard"] == 2 || d["_miroir_shard"] == 5));
    assert!(read_all(&nodes, &base, &shards(9..64), 10).await.is_empty());

    // An update merges fields into the documents already there.
    let update = vec![json!({"id": 4, "_miroir_shard": 4, "year": 1999})];
    let t = nodes
        .write_batch(&base, "pages", "id", update, WriteMode::Update)
        .await
        .unwrap();
    nodes.wait_for_task(&base, t.task_uid, WAIT).await.unwrap();
    let mut body = serde_json::Map::new();
    body.insert("filter".into(), json!("_miroir_shard = 4"));
    let page = nodes.fetch_documents(&base, "pages", body).await.unwrap();
    assert_eq!(page.total, 10);
    let four = page.docs.iter().find(|d| d["id"] == 4).expect("document 4");
    assert_eq!(
        (&four["title"], &four["year"]),
        (&json!("doc 4"), &json!(1999)),
        "{four}"
    );

    // A task the node never had is the node's refusal, not a wait that runs out.
    match nodes.wait_for_task(&base, 999_999, WAIT).await {
        Err(WaitError::Node(NodeError::Refused { status: 404, body })) => {
            assert_eq!(body["code"], "task_not_found", "{body}")
        }
        other => panic!("expected task_not_found, got {other:?}"),
    }
    // A batch for an index refused by the node fails its task there, with Meilisearch's error.
    let bad = vec![json!({"id": "not valid!", "_miroir_shard": 0})];
    let t = nodes
        .write_batch(&base, "pages", "id", bad, WriteMode::Replace)
        .await
        .unwrap();
    let done = nodes.wait_for_task(&base, t.task_uid, WAIT).await.unwrap();
    assert_eq!(done.status, TaskStatus::Failed);
    assert_eq!(done.error.unwrap()["code"], "invalid_document_id");
}

crate::on_both_nodes!(a_shard_is_written_and_read_page_by_page);

/// A node whose queue is slower than the wait reports where the task stood, instead of
/// answering as if it were done.
#[tokio::test(flavor = "multi_thread")]
async fn a_wait_that_runs_out_says_where_the_task_stood() {
    let fleet = Fleet::start_on(Nodes::DelayedDevnode(60_000), 1, 1).await;
    let base = fleet.nodes[0].2.addr.clone();
    let nodes = client();
    let created = nodes.prepare_index(&base, "slow", None).await.unwrap();
    match nodes
        .wait_for_task(&base, created.task_uid, Duration::from_millis(200))
        .await
    {
        Err(WaitError::TimedOut { last, task_uid, .. }) => {
            assert_eq!(task_uid, created.task_uid);
            assert!(last == "enqueued" || last == "processing", "{last}");
        }
        other => panic!("expected a timeout, got {other:?}"),
    }
}
