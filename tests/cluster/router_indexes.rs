use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished, total};

const COLORS: [&str; 3] = ["red", "green", "blue"];

async fn setup(f: &mut Fleet, n: u64) -> String {
    let router = f.start_router().await;
    create_index(f, &router, "docs", Some("id")).await;
    let docs: Vec<Value> = (0..n)
        .map(|i| json!({"id": i, "color": COLORS[i as usize % 3], "n": i}))
        .collect();
    add_documents(f, &router, "docs", docs).await;
    router
}

/// Settings reach every node as one task; `_miroir_shard` stays filterable on
/// the nodes but is never shown; a reset keeps it too.
async fn settings_apply_everywhere_and_hide_the_shard_field(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 2).await;
    let router = setup(&mut f, 30).await;
    let settings = json!({"filterableAttributes": ["color"], "sortableAttributes": ["n"]});
    let (status, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/docs/settings"),
            Some(&settings),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    let (_, got) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/settings"),
            None,
        )
        .await;
    assert_eq!(got["filterableAttributes"], json!(["color"]));
    let mut seen = vec![];
    for (_, _, p) in &f.nodes {
        let (_, s) = f
            .call(
                Method::GET,
                &format!("{}/indexes/docs/settings", p.addr),
                None,
            )
            .await;
        let mut attrs: Vec<String> =
            serde_json::from_value(s["filterableAttributes"].clone()).unwrap();
        attrs.sort();
        seen.push(s["sortableAttributes"].clone());
        assert_eq!(attrs, vec!["_miroir_shard", "_miroir_version", "color"]);
    }
    assert!(
        seen.iter().all(|s| *s == json!(["_miroir_version", "n"])),
        "settings differ between nodes: {seen:?}"
    );
    let (_, red) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/search"),
            Some(&json!({"filter": "color = red", "limit": 0})),
        )
        .await;
    assert_eq!(red["estimatedTotalHits"], 10);

    let (status, bad) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/docs/settings"),
            Some(&json!({"rankingRules": 5})),
        )
        .await;
    assert_eq!(status, 400, "{bad}");
    let (_, got) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/settings/sortable-attributes"),
            None,
        )
        .await;
    assert_eq!(got, json!(["n"]), "a refused change was partly applied");

    let (_, t) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/docs/settings"),
            None,
        )
        .await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    let (_, got) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/settings/filterable-attributes"),
            None,
        )
        .await;
    assert_eq!(got, json!([]));
    assert_eq!(
        total(&f, &router, "docs").await,
        30,
        "searches need _miroir_shard after a reset"
    );
}

/// Documents are read by id from their shard's node, and every kind of
/// deletion removes exactly what it names.
async fn documents_by_id_and_deletions(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = setup(&mut f, 30).await;
    let (status, doc) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/documents/7"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{doc}");
    assert_eq!(doc, json!({"id": 7, "color": "green", "n": 7}));
    let (status, missing) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/docs/documents/999"),
            None,
        )
        .await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("document_not_found"))
    );

    let (_, t) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/docs/documents/7"),
            None,
        )
        .await;
    finished(&f, &router, &t).await;
    assert_eq!(total(&f, &router, "docs").await, 29);
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/documents/delete-batch"),
            Some(&json!([0, 1, 2])),
        )
        .await;
    finished(&f, &router, &t).await;
    assert_eq!(total(&f, &router, "docs").await, 26);
    let (_, t) = f
        .call(
            Method::PATCH,
            &format!("{router}/indexes/docs/settings"),
            Some(&json!({"filterableAttributes": ["color"]})),
        )
        .await;
    finished(&f, &router, &t).await;
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/docs/documents/delete"),
            Some(&json!({"filter": "color = red"})),
        )
        .await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    // Nine red documents were left (0 is gone already).
    assert_eq!(total(&f, &router, "docs").await, 17);
    let (_, t) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/docs/documents"),
            None,
        )
        .await;
    finished(&f, &router, &t).await;
    assert_eq!(total(&f, &router, "docs").await, 0);

    let (_, list) = f
        .call(Method::GET, &format!("{router}/indexes"), None)
        .await;
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["results"][0]["uid"], "docs");
    assert_eq!(list["results"][0]["primaryKey"], "id");
    let (_, t) = f
        .call(Method::DELETE, &format!("{router}/indexes/docs"), None)
        .await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    let (status, _) = f
        .call(Method::GET, &format!("{router}/indexes/docs"), None)
        .await;
    assert_eq!(status, 404);
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let list = admin
        .list_indexes(f.cluster.req(miroir::pb::v1::ListIndexesRequest {}))
        .await
        .unwrap()
        .into_inner();
    assert!(
        list.indexes.is_empty(),
        "the coordinators still know the index"
    );
}

crate::on_both_nodes!(
    settings_apply_everywhere_and_hide_the_shard_field,
    documents_by_id_and_deletions,
);

/// Uids that could collide with Miroir's physical index generations are
/// refused, by index creation and by a write to a missing index alike, and
/// nothing is registered or made on the nodes.
#[tokio::test(flavor = "multi_thread")]
async fn reserved_index_uids_are_refused() {
    let mut f = Fleet::start(1, 1).await;
    let router = f.start_router().await;
    for (method, path, body) in [
        (
            Method::POST,
            "/indexes".to_string(),
            json!({"uid": "m__miroir_g2"}),
        ),
        (
            Method::POST,
            "/indexes/m__miroir_g3/documents".to_string(),
            json!([{"id": 1}]),
        ),
    ] {
        let (status, e) = f
            .call(method, &format!("{router}{path}"), Some(&body))
            .await;
        assert_eq!(status, 400, "{e}");
        assert_eq!(e["code"], "invalid_index_uid", "{e}");
        assert!(
            e["message"]
                .as_str()
                .unwrap()
                .contains("reserved by Miroir"),
            "{e}"
        );
    }
    let (_, list) = f
        .call(Method::GET, &format!("{router}/indexes"), None)
        .await;
    assert_eq!(list["total"], 0, "{list}");
    let node = &f.nodes[0].2.addr;
    let (_, on_node) = f.call(Method::GET, &format!("{node}/indexes"), None).await;
    assert_eq!(on_node["total"], 0, "{on_node}");
}

/// A node that lost an index (deleted behind Miroir's back) does not make
/// it vanish from `GET /indexes` or `GET /indexes/{uid}`: the coordinators'
/// record describes it.
async fn listings_survive_a_node_without_the_index(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "kept", Some("id")).await;
    create_index(&f, &router, "lost", Some("id")).await;
    for (_, _, p) in &f.nodes {
        let (_, t) = f
            .call(Method::DELETE, &format!("{}/indexes/lost", p.addr), None)
            .await;
        f.wait_task(&p.addr, &t).await;
    }
    let (status, list) = f
        .call(Method::GET, &format!("{router}/indexes"), None)
        .await;
    assert_eq!(status, 200, "{list}");
    let uids: Vec<&str> = list["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["uid"].as_str().unwrap())
        .collect();
    assert_eq!(uids, ["kept", "lost"], "{list}");
    let (status, one) = f
        .call(Method::GET, &format!("{router}/indexes/lost"), None)
        .await;
    assert_eq!((status, &one["primaryKey"]), (200, &json!("id")), "{one}");

    // `miroir-ctl indexes check` shows the disagreement, and an index made on
    // a node behind Miroir's back as a stray.
    let (_, _, first) = &f.nodes[0];
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{}/indexes", first.addr),
            Some(&json!({"uid": "leftover"})),
        )
        .await;
    f.wait_task(&first.addr, &t).await;
    let leader = f.cluster.leader().await;
    let out = f.cluster.ctl(leader, &["--json", "indexes", "check"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let copies = report["copies"].as_array().unwrap();
    for c in copies {
        let want = if c["uid"] == "lost" {
            "missing"
        } else {
            "present"
        };
        assert_eq!(c["state"], want, "{report}");
    }
    assert_eq!(copies.len(), 4, "{report}");
    assert_eq!(
        report["stray"],
        json!([{"node": f.nodes[0].0, "physical": "leftover", "on_sweep_list": false}])
    );
    let out = f.cluster.ctl(leader, &["indexes", "check", "kept"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("2 copies checked: 2 present"));
}

crate::on_both_nodes!(listings_survive_a_node_without_the_index);

/// A node's error that lists the index's filterable or sortable attributes
/// names only the client's: Miroir's own attributes, filterable and
/// sortable on every node, are left out, and an index whose client set none
/// reads as Meilisearch words one that has none.
async fn errors_list_only_the_clients_attributes(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = setup(&mut f, 3).await;
    let settings = json!({"filterableAttributes": ["color"]});
    let url = format!("{router}/indexes/docs/settings");
    let (_, t) = f.call(Method::PATCH, &url, Some(&settings)).await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    let search = format!("{router}/indexes/docs/search");
    for (body, code, wanted) in [
        (
            json!({"filter": "n = 1"}),
            "invalid_search_filter",
            "Available filterable attribute patterns are: `color`.",
        ),
        (
            json!({"sort": ["n:asc"]}),
            "invalid_search_sort",
            "This index does not have configured sortable attributes.",
        ),
    ] {
        let (status, e) = f.call(Method::POST, &search, Some(&body)).await;
        assert_eq!((status, e["code"].as_str().unwrap()), (400, code), "{e}");
        let message = e["message"].as_str().unwrap();
        assert!(
            message.contains(wanted) && !message.contains("_miroir"),
            "{e}"
        );
    }
}

crate::on_both_nodes!(errors_list_only_the_clients_attributes);

/// The `q` of a facet search matches the client's fields only, never the
/// shard number or version Miroir keeps on every document.
async fn facet_search_queries_skip_miroir_fields(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let router = f.start_router().await;
    create_index(&f, &router, "facets", Some("id")).await;
    let settings = json!({"filterableAttributes": ["color"]});
    let url = format!("{router}/indexes/facets/settings");
    let (_, t) = f.call(Method::PATCH, &url, Some(&settings)).await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    let docs: Vec<Value> = (0..40)
        .map(|i| json!({"id": format!("doc{i}"), "color": "red"}))
        .collect();
    add_documents(&f, &router, "facets", docs).await;
    let url = format!("{router}/indexes/facets/facet-search");
    let asked = json!({"facetName": "color", "q": "red"});
    let (status, hits) = f.call(Method::POST, &url, Some(&asked)).await;
    assert_eq!(status, 200, "{hits}");
    assert_eq!(
        hits["facetHits"],
        json!([{"value": "red", "count": 40}]),
        "{hits}"
    );
    // Every shard number and version starts with some digit.
    for digit in 1..10 {
        let asked = json!({"facetName": "color", "q": digit.to_string()});
        let (status, hits) = f.call(Method::POST, &url, Some(&asked)).await;
        assert_eq!(status, 200, "{hits}");
        assert_eq!(
            hits["facetHits"],
            json!([]),
            "q {digit} matched Miroir's fields: {hits}"
        );
    }
}

crate::on_both_nodes!(facet_search_queries_skip_miroir_fields);
