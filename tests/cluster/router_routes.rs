//! Meilisearch routes beyond search and documents through a router: compaction on every copy,
//! `/fields` merged over the shards, stats parameters, `/network` as a Meilisearch in no
//! network answers it, and the routes a router refuses, each with its reason.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished};

async fn index_with_fields(f: &mut Fleet) -> String {
    let router = f.start_router().await;
    create_index(f, &router, "docs", Some("id")).await;
    // Each field on a few documents only, so no one shard holds every field.
    let docs: Vec<Value> = (0..24u64)
        .map(|i| {
            let mut d = json!({"id": i});
            d[format!("f{}", i % 6)] = json!(i);
            d
        })
        .collect();
    add_documents(f, &router, "docs", docs).await;
    router
}

/// Compaction runs on every copy as one task; stats take Meilisearch's
/// parameters; /network answers as a node does; refused routes say why.
async fn compaction_stats_network_and_refusals(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = index_with_fields(&mut f).await;
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/compact"),
            None,
        )
        .await;
    assert_eq!(
        (status, &t["type"]),
        (202, &json!("indexCompaction")),
        "{t}"
    );
    let done = finished(&f, &router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert!(done["details"]["postCompactionSize"].is_string(), "{done}");

    let (status, st) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/stats?sizeFormat=human&showInternalDatabaseSizes=true"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["numberOfDocuments"], 24);
    assert!(
        st["rawDocumentDbSize"]
            .as_str()
            .is_some_and(|s| s.ends_with('B')),
        "{st}"
    );
    assert!(st["internalDatabaseSizes"].is_object(), "{st}");
    let (status, e) = f
        .call(Method::GET, &format!("{router}/stats?sizeFormat=big"), None)
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("invalid_stats_size_format"))
    );
    let (_, st) = f.call(Method::GET, &format!("{router}/stats"), None).await;
    assert!(st["databaseSize"].is_u64(), "{st}");

    // No network feature: the node's answer, as Meilisearch gives it.
    let (status, n) = f
        .call(Method::GET, &format!("{router}/network"), None)
        .await;
    assert_eq!(
        (status, n["code"].as_str()),
        (400, Some("feature_not_enabled")),
        "{n}"
    );
    for (method, path) in [
        (Method::PATCH, "/network"),
        (Method::POST, "/dumps"),
        (Method::POST, "/snapshots"),
        (Method::POST, "/indexes/docs/documents/edit"),
        (Method::GET, "/dynamic-search-rules"),
    ] {
        let (status, e) = f
            .call(method.clone(), &format!("{router}{path}"), Some(&json!({})))
            .await;
        assert_eq!(status, 400, "{path}: {e}");
        assert_eq!(e["code"], "miroir_unsupported_feature", "{path}: {e}");
        assert!(e["message"].as_str().unwrap().len() > 60, "a reason: {e}");
    }
}

crate::on_both_nodes!(compaction_stats_network_and_refusals);

/// `/fields` lists every field of every shard once, in name order, paged
/// over the merged list, without Miroir's reserved fields. (Real nodes only:
/// the devnode does not imitate this route.)
#[tokio::test(flavor = "multi_thread")]
async fn fields_merged_across_shards() {
    let mut f = Fleet::start_on(Nodes::meilisearch(), 1, 3).await;
    let router = index_with_fields(&mut f).await;
    let fields = |body: Value| {
        let (f, url) = (&f, format!("{router}/indexes/docs/fields"));
        async move {
            let (status, v) = f.call(Method::POST, &url, Some(&body)).await;
            assert_eq!(status, 200, "{v}");
            let names: Vec<String> = v["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["name"].as_str().unwrap().to_string())
                .collect();
            (names, v["total"].clone())
        }
    };
    let (names, total) = fields(json!({"limit": 100})).await;
    assert_eq!(names, ["f0", "f1", "f2", "f3", "f4", "f5", "id"]);
    assert_eq!(total, 7);
    let (names, total) = fields(json!({"offset": 2, "limit": 3})).await;
    assert_eq!(
        (names, total),
        (vec!["f2".into(), "f3".into(), "f4".into()], json!(7))
    );
    let (names, _) = fields(json!({"filter": {"attributePatterns": ["f1*"]}})).await;
    assert_eq!(names, ["f1"]);
    let (status, e) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/fields"),
            Some(&json!({"offset": -1})),
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("invalid_index_offset")),
        "{e}"
    );
}

/// `similar` over shards: the reference document's neighbours from every
/// shard, by score, without the document itself, as one node gives them;
/// Meilisearch's errors for an unknown id. (Real nodes only: the devnode
/// does not imitate vector search.)
#[tokio::test(flavor = "multi_thread")]
async fn similar_documents_merged_by_score() {
    let mut f = Fleet::start_on(Nodes::meilisearch(), 1, 3).await;
    let router = f.start_router().await;
    create_index(&f, &router, "vec", Some("id")).await;
    let (_, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/vec/settings"),
            Some(&json!({"embedders": {"manual": {"source": "userProvided", "dimensions": 2}}})),
        )
        .await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    // Angles spread over a quarter circle: the nearest to id 0 are 1, 2, 3...
    let docs: Vec<Value> = (0..24u64)
        .map(|i| {
            let a = i as f64 * 0.06;
            json!({"id": i, "_vectors": {"manual": [a.cos(), a.sin()]}})
        })
        .collect();
    add_documents(&f, &router, "vec", docs).await;
    let (status, v) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/vec/similar"),
            Some(&json!({"id": 0, "embedder": "manual", "limit": 5, "offset": 1, "showRankingScore": true})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
    let ids: Vec<u64> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [2, 3, 4, 5, 6], "{v}");
    assert_eq!(
        (&v["id"], &v["estimatedTotalHits"]),
        (&json!("0"), &json!(23)),
        "{v}"
    );
    assert!(v["hits"][0]["_rankingScore"].as_f64().unwrap() < 1.0, "{v}");
    let (status, e) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/vec/similar?id=999&embedder=manual"),
            None,
        )
        .await;
    assert_eq!(
        (status, e["code"].as_str()),
        (400, Some("not_found_similar_id")),
        "{e}"
    );
}

/// `render-template` is rendered by a node: inline, and with a document of an
/// index given by id (from the node holding its shard). (Real nodes only.)
#[tokio::test(flavor = "multi_thread")]
async fn templates_rendered_by_a_node() {
    let mut f = Fleet::start_on(Nodes::meilisearch(), 1, 3).await;
    let router = index_with_fields(&mut f).await;
    let (status, _) = f
        .call(
            Method::PATCH,
            &format!("{router}/experimental-features"),
            Some(&json!({"renderRoute": true})),
        )
        .await;
    assert_eq!(status, 200);
    let render = |body: Value| {
        let (f, url) = (&f, format!("{router}/render-template"));
        async move { f.call(Method::POST, &url, Some(&body)).await }
    };
    let (status, v) = render(json!({
        "template": {"kind": "inlineDocumentTemplate", "inline": "Rendered on {{doc.id}}"},
        "input": {"kind": "inlineDocument", "inline": {"id": "42"}},
    }))
    .await;
    assert_eq!(
        (status, &v["rendered"]),
        (200, &json!("Rendered on 42")),
        "{v}"
    );
    for id in ["5", "17"] {
        let (status, v) = render(json!({
            "template": {"kind": "inlineDocumentTemplate", "inline": "n={{doc.f5}}"},
            "input": {"kind": "indexDocument", "indexUid": "docs", "id": id},
        }))
        .await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["rendered"], json!(format!("n={id}")), "{v}");
    }
}
