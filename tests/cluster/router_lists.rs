use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished};

/// Pages through index `uid`'s documents `limit` at a time, one page past
/// the end, checking every page's total and that no internal field shows;
/// returns the ids in listing order.
async fn page_ids(f: &Fleet, router: &str, uid: &str, limit: u64, total: u64) -> Vec<u64> {
    let mut seen = vec![];
    let mut offset = 0;
    while offset < total + limit {
        let (status, p) = f
            .call(
                Method::GET,
                &format!("{router}/indexes/{uid}/documents?offset={offset}&limit={limit}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["total"], total);
        let page = p["results"].as_array().unwrap();
        assert!(page.iter().all(|d| d.get("_miroir_shard").is_none()), "{p}");
        seen.extend(page.iter().map(|d| d["id"].as_u64().unwrap()));
        offset += limit;
    }
    seen
}

/// Listing documents pages through every shard in one global order; stats
/// count each document once even with two copies; tasks list from any router.
async fn listings_span_all_shards_once(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = f.start_router().await;
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    // Two copies of every shard in the one group: listings must not count them twice.
    let req = miroir::pb::v1::SetConfigRequest {
        key: "default_replication_factor".into(),
        value: "2".into(),
        expect_version: None,
    };
    admin.set_config(f.cluster.req(req)).await.unwrap();
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes"),
            Some(&json!({"uid": "docs2", "primaryKey": "id"})),
        )
        .await;
    finished(&f, &router, &t).await;
    let docs: Vec<Value> = (0..45u64)
        .map(|i| json!({"id": i, "kind": if i % 2 == 0 { "even" } else { "odd" }}))
        .collect();
    add_documents(&f, &router, "docs2", docs).await;

    let seen = page_ids(&f, &router, "docs2", 10, 45).await;
    assert_eq!(seen, (0..45).collect::<Vec<_>>());
    let (_, some) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs2/documents/fetch"),
            Some(&json!({"limit": 3, "fields": ["kind"]})),
        )
        .await;
    assert_eq!(
        some["results"],
        json!([{"kind": "even"}, {"kind": "odd"}, {"kind": "even"}])
    );

    let d = admin
        .describe_index(f.cluster.req(miroir::pb::v1::IndexRef {
            uid: "docs2".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(d.index.unwrap().replication_factor, 2);
    let (_, stats) = f
        .call(Method::GET, &format!("{router}/indexes/docs2/stats"), None)
        .await;
    assert_eq!(stats["numberOfDocuments"], 45, "{stats}");
    assert_eq!(stats["fieldDistribution"], json!({"id": 45, "kind": 45}));

    let other = f.start_router().await;
    let (_, tasks) = f
        .call(
            Method::GET,
            &format!("{other}/tasks?indexUids=docs2&limit=5"),
            None,
        )
        .await;
    let types: Vec<&str> = tasks["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        vec!["documentAdditionOrUpdate", "indexCreation"],
        "{tasks}"
    );
    assert_eq!(tasks["results"][0]["status"], "succeeded");
}

/// Past `SORTED_UP_TO` documents a listing goes node by node; paging through
/// it still shows every document exactly once, whatever order the documents
/// were added in. (Found by the partition suite: pages used to overlap and
/// skip once nodes held more documents than one window.)
async fn long_listings_page_without_overlap_or_gaps(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "long", Some("id")).await;
    let n = miroir::router::api::listings::SORTED_UP_TO + 300;
    // Added out of key order, so no node's own order is the key order.
    let docs: Vec<Value> = (0..n).map(|i| json!({"id": (i * 7919) % n})).collect();
    add_documents(&f, &router, "long", docs).await;
    let mut seen = page_ids(&f, &router, "long", 100, n).await;
    assert_eq!(seen.len() as u64, n, "pages overlapped or skipped");
    seen.sort();
    assert_eq!(seen, (0..n).collect::<Vec<_>>());
}

/// A listing sorted by several keys is one order across shards (numbers
/// before strings both ways, documents without the key last), in every page,
/// past `SORTED_UP_TO` too; sort keys the client did not ask to see are not shown.
async fn listings_sorted_by_several_keys(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = f.start_router().await;
    create_index(&f, &router, "sorted", Some("id")).await;
    let (_, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/sorted/settings"),
            Some(&json!({"sortableAttributes": ["r", "t"]})),
        )
        .await;
    finished(&f, &router, &t).await;
    let n = miroir::router::api::listings::SORTED_UP_TO + 200;
    let doc = |i: u64| match i % 10 {
        0 => json!({"id": i}),
        1 => json!({"id": i, "r": "x"}),
        _ => json!({"id": i, "r": i % 7, "t": format!("t{:04}", (i * 31) % 1000)}),
    };
    add_documents(&f, &router, "sorted", (0..n).map(doc).collect()).await;
    // The expected order, written out from the rules.
    let mut want: Vec<Value> = (0..n).map(doc).collect();
    let rank = |d: &Value| match &d["r"] {
        Value::Number(x) => (0, -(x.as_i64().unwrap())),
        Value::String(_) => (1, 0),
        _ => (2, 0),
    };
    want.sort_by_key(|d| (rank(d), d["t"].as_str().map(String::from), d["id"].as_u64()));
    let want: Vec<u64> = want.iter().map(|d| d["id"].as_u64().unwrap()).collect();

    let mut got = vec![];
    for offset in (0..n).step_by(250) {
        let body =
            json!({"sort": ["r:desc", "t:asc"], "offset": offset, "limit": 250, "fields": ["id"]});
        let (status, page) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/sorted/documents/fetch"),
                Some(&body),
            )
            .await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(page["total"], n);
        for d in page["results"].as_array().unwrap() {
            assert_eq!(
                d.as_object().unwrap().len(),
                1,
                "only the asked fields: {d}"
            );
            got.push(d["id"].as_u64().unwrap());
        }
    }
    assert_eq!(got, want);
    // GET takes the rules comma-separated.
    let (_, page) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/sorted/documents?sort=r:desc,t:asc&limit=5&offset=3"),
            None,
        )
        .await;
    let ids: Vec<u64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, want[3..8]);
    // A key that is not sortable: the node's error, as Meilisearch words it.
    let (status, e) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/sorted/documents/fetch"),
            Some(&json!({"sort": ["id:asc"]})),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("invalid_document_sort")),
        "{e}"
    );
}

/// `reverse=true` lists tasks and batches oldest first, `from` the lowest uid
/// shown; deleting a task still running deletes it once it has finished, as
/// Meilisearch runs a deletion after the tasks before it.
async fn task_listings_reverse_and_deletions_wait(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "t", Some("id")).await;
    let mut uids = vec![];
    for i in 0..4 {
        let done = add_documents(&f, &router, "t", vec![json!({"id": i})]).await;
        uids.push(done["uid"].as_u64().unwrap());
    }
    let page = |q: String| {
        let f = &f;
        let url = format!("{router}/{q}");
        async move {
            let (status, p) = f.call(Method::GET, &url, None).await;
            assert_eq!(status, 200, "{p}");
            let got: Vec<u64> = p["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["uid"].as_u64().unwrap())
                .collect();
            (got, p["from"].clone(), p["next"].clone())
        }
    };
    let (got, from, next) = page(format!("tasks?reverse=true&limit=2&from={}", uids[1])).await;
    assert_eq!(got, uids[1..3]);
    assert_eq!((from, next), (json!(uids[1]), json!(uids[3])));
    let (got, _, _) = page("batches?reverse=true&types=documentAdditionOrUpdate".into()).await;
    assert_eq!(got, uids);
    let (status, e) = f
        .call(Method::GET, &format!("{router}/tasks?reverse=yes"), None)
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("invalid_task_reverse"))
    );

    // A big addition, deleted by uid at once: gone when the deletion shows.
    let docs: Vec<Value> = (100..3100)
        .map(|i| json!({"id": i, "text": "some words"}))
        .collect();
    let (_, added) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/t/documents"),
            Some(&Value::from(docs)),
        )
        .await;
    let uid = added["taskUid"].as_u64().unwrap();
    let (status, del) = f
        .call(Method::DELETE, &format!("{router}/tasks?uids={uid}"), None)
        .await;
    assert_eq!(status, 202, "{del}");
    let del = finished(&f, &router, &del).await;
    assert_eq!(del["details"]["deletedTasks"], 1, "{del}");
    let (status, _) = f
        .call(Method::GET, &format!("{router}/tasks/{uid}"), None)
        .await;
    assert_eq!(status, 404);
}

crate::on_both_nodes!(
    task_listings_reverse_and_deletions_wait,
    listings_span_all_shards_once,
    long_listings_page_without_overlap_or_gaps,
    listings_sorted_by_several_keys,
);
