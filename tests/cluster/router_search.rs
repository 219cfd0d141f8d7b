use miroir::pb::v1::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::util::*;

const COLORS: [&str; 3] = ["red", "green", "blue"];

/// A word only document `i` has, far (in edits) from every other one, so
/// typo tolerance cannot match another document.
fn unique_word(i: u64) -> String {
    let h = xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes());
    (0..8)
        .map(|k| (b'a' + ((h >> (k * 5)) % 26) as u8) as char)
        .collect()
}

fn docs(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": i, "title": format!("item {} common", unique_word(i)), "color": COLORS[i as usize % 3], "n": (i * 37) % 101}))
        .collect()
}

async fn fleet_with_index(
    nodes: Nodes,
    groups: u32,
    per_group: u32,
    rf: u32,
    n: u64,
) -> (Fleet, String) {
    let mut f = Fleet::start_on(nodes, groups, per_group).await;
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let req = CreateIndexRequest {
        uid: "items".into(),
        primary_key: Some("id".into()),
        shards: 8,
        replication_factor: rf,
    };
    admin.create_index(f.cluster.req(req)).await.unwrap();
    f.load("items", &docs(n)).await;
    let router = f.start_router().await;
    let url = format!("{router}/indexes/items/search");
    eventually("the router to know the index", || async {
        let (status, _) = f.call(Method::POST, &url, Some(&json!({"q": ""}))).await;
        (status == 200).then_some(())
    })
    .await;
    (f, url)
}

fn ids(body: &Value) -> Vec<u64> {
    body["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_u64().unwrap())
        .collect()
}

/// Totals, facet counts and unique-word hits count every document exactly
/// once, with two groups of one copy and with one group of two copies.
async fn counts_each_document_once(nodes: Nodes, groups: u32, per_group: u32, rf: u32) {
    let (f, url) = fleet_with_index(nodes, groups, per_group, rf, 100).await;
    let (status, all) = f
        .call(
            Method::POST,
            &url,
            Some(&json!({"q": "", "facets": ["color"], "limit": 100})),
        )
        .await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["estimatedTotalHits"], 100);
    let mut seen = ids(&all);
    seen.sort();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    let counts = &all["facetDistribution"]["color"];
    let sum: u64 = COLORS.iter().map(|c| counts[*c].as_u64().unwrap()).sum();
    assert_eq!(sum, 100, "{counts}");
    assert!(
        all["hits"][0].get("_miroir_shard").is_none(),
        "reserved field leaked"
    );
    for i in [0u64, 42, 99] {
        let (_, one) = f
            .call(Method::POST, &url, Some(&json!({"q": unique_word(i)})))
            .await;
        assert_eq!(ids(&one), vec![i], "{}: {one}", unique_word(i));
        assert_eq!(one["estimatedTotalHits"], 1);
    }
}

/// RG=2, RF=1: nothing counted twice.
async fn two_groups_count_each_document_once(nodes: Nodes) {
    counts_each_document_once(nodes, 2, 2, 1).await;
}

/// RG=1, RF=2: a node holding extra copies never double-counts.
async fn two_copies_count_each_document_once(nodes: Nodes) {
    counts_each_document_once(nodes, 1, 3, 2).await;
}

/// Five pages of ten are one page of fifty, with no duplicate and no gap, and
/// sorting by a number is globally correct.
async fn pagination_and_sort_are_global(nodes: Nodes) {
    let (f, url) = fleet_with_index(nodes, 2, 2, 1, 100).await;
    let sorted = json!({"q": "", "sort": ["n:asc"], "limit": 50});
    let (_, fifty) = f.call(Method::POST, &url, Some(&sorted)).await;
    let mut paged = vec![];
    for page in 0..5 {
        let (_, p) = f
            .call(
                Method::POST,
                &url,
                Some(&json!({"q": "", "sort": ["n:asc"], "offset": page * 10, "limit": 10})),
            )
            .await;
        paged.extend(ids(&p));
    }
    assert_eq!(paged, ids(&fifty));
    let ns: Vec<u64> = fifty["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["n"].as_u64().unwrap())
        .collect();
    assert!(ns.windows(2).all(|w| w[0] <= w[1]), "not sorted: {ns:?}");
    let mut all_n: Vec<u64> = (0..100u64).map(|i| (i * 37) % 101).collect();
    all_n.sort();
    assert_eq!(ns, all_n[..50]);
    let (_, pages) = f
        .call(
            Method::POST,
            &url,
            Some(&json!({"q": "", "page": 3, "hitsPerPage": 7})),
        )
        .await;
    assert_eq!(
        (pages["totalHits"].clone(), pages["totalPages"].clone()),
        (json!(100), json!(15))
    );
    assert_eq!(pages["hits"].as_array().unwrap().len(), 7);
}

/// A dead node's shards are served by the other group; with a single copy of
/// a shard gone, the answer is partial and says so in X-Miroir-Degraded, or
/// is refused under the `fail` unavailable-shard policy.
async fn node_failure_falls_back_or_degrades(nodes: Nodes) {
    let (mut f, url) = fleet_with_index(nodes, 2, 1, 1, 60).await;
    f.nodes[0].2.kill();
    for _ in 0..4 {
        let (status, body) = f.call(Method::POST, &url, Some(&json!({"q": ""}))).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            body["estimatedTotalHits"], 60,
            "a replica in the other group should serve"
        );
    }
    f.nodes[1].2.kill();
    let resp = f
        .http
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({"q": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers().get("x-miroir-degraded").is_some(),
        "partial answer not marked"
    );
    // With the `fail` policy, the same search is refused instead; routers
    // take the policy with their next lease renewal.
    f.set_config("unavailable_shard_policy", "fail").await;
    let refused = eventually("the router to follow the fail policy", || async {
        let (status, body) = f.call(Method::POST, &url, Some(&json!({"q": ""}))).await;
        (status == 503).then_some(body)
    })
    .await;
    assert_eq!(refused["code"], "miroir_shard_unavailable", "{refused}");
}

/// Draining a node moves nothing by itself, so its shards stay readable from it:
/// with one group of one copy, every document is still found, and the answer
/// is not marked degraded.
async fn a_draining_node_keeps_serving(nodes: Nodes) {
    let (f, url) = fleet_with_index(nodes, 1, 3, 1, 90).await;
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let drained = NodeRef {
        id: f.nodes[0].0.clone(),
    };
    admin.drain_node(f.cluster.req(drained)).await.unwrap();
    // Created after the drain was committed: once the router's watch has
    // brought this index, it has brought the drain too (changes come in order).
    let base = url.trim_end_matches("/indexes/items/search").to_string();
    let (status, body) = f
        .call(
            Method::POST,
            &format!("{base}/indexes"),
            Some(&json!({"uid": "probe"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
    let probe_url = url.replace("/items/", "/probe/");
    eventually("the router to learn of the probe index", || async {
        let (status, _) = f
            .call(Method::POST, &probe_url, Some(&json!({"q": ""})))
            .await;
        (status == 200).then_some(())
    })
    .await;
    let resp = f
        .http
        .post(&url)
        .bearer_auth(KEY)
        .json(&json!({"q": "", "limit": 0}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let degraded = resp.headers().get("x-miroir-degraded").cloned();
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["estimatedTotalHits"], 90, "{body}");
    assert!(degraded.is_none(), "marked degraded: {degraded:?}");
}

/// `GET /search` passes every parameter on with its type, as a POST would:
/// `attributesToSearchOn`, `showRankingScoreDetails` and
/// `rankingScoreThreshold` (which a router used to drop), and an unknown
/// parameter is refused as Meilisearch refuses it.
async fn get_search_keeps_every_parameter(nodes: Nodes) {
    let (f, url) = fleet_with_index(nodes, 1, 2, 1, 30).await;
    let get = |query: &str| {
        let url = format!("{url}?{query}");
        let f = &f;
        async move { f.call(Method::GET, &url, None).await }
    };
    let (status, body) = get("q=red").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["estimatedTotalHits"], 10, "{body}");
    let (status, body) = get("q=red&attributesToSearchOn=title").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["estimatedTotalHits"], 0,
        "searched beyond the title: {body}"
    );
    let (_, body) = get("q=common&limit=1&showRankingScoreDetails=true").await;
    assert!(
        body["hits"][0]["_rankingScoreDetails"].is_object(),
        "no score details: {body}"
    );
    let (_, body) = get("q=common&rankingScoreThreshold=1.0").await;
    let (_, all) = get("q=common&rankingScoreThreshold=0.0").await;
    assert_eq!(all["estimatedTotalHits"], 30, "{all}");
    assert!(
        body["estimatedTotalHits"].as_u64() < all["estimatedTotalHits"].as_u64(),
        "the threshold was ignored: {body}"
    );
    let (status, body) = get("q=common&colour=red").await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "bad_request", "{body}");
}

/// Meilisearch-shaped errors: wrong key, unknown index, bad parameters, and
/// a node's own error (a filter on a non-filterable attribute) passed through.
async fn search_errors_look_like_meilisearch(nodes: Nodes) {
    let (f, url) = fleet_with_index(nodes, 1, 2, 1, 10).await;
    let resp = f
        .http
        .post(&url)
        .json(&json!({"q": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let resp = f
        .http
        .post(&url)
        .bearer_auth("nope")
        .json(&json!({"q": ""}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let missing = url.replace("/items/", "/nope/");
    let (status, body) = f
        .call(Method::POST, &missing, Some(&json!({"q": ""})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("index_not_found"))
    );
    let (status, body) = f
        .call(Method::POST, &url, Some(&json!({"limit": -1})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_search_limit"))
    );
    let (status, body) = f
        .call(Method::POST, &url, Some(&json!({"filter": "title = x"})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_search_filter")),
        "{body}"
    );
    for key in ["message", "code", "type", "link"] {
        assert!(body.get(key).is_some(), "{body}");
    }
}

/// Multi-search answers each query across all shards; facet search sums each
/// value's count over the shards; federated multi-search merges queries by
/// weighted score.
async fn multi_search_and_facet_search(nodes: Nodes) {
    let (f, url) = fleet_with_index(nodes, 1, 3, 2, 60).await;
    let base = url.trim_end_matches("/indexes/items/search").to_string();
    let body = json!({"queries": [
        {"indexUid": "items", "q": "", "limit": 0},
        {"indexUid": "items", "q": unique_word(5)},
    ]});
    let (status, multi) = f
        .call(Method::POST, &format!("{base}/multi-search"), Some(&body))
        .await;
    assert_eq!(status, 200, "{multi}");
    assert_eq!(multi["results"][0]["estimatedTotalHits"], 60);
    assert_eq!(multi["results"][0]["indexUid"], "items");
    assert_eq!(ids(&multi["results"][1]), vec![5]);
    let (status, facets) = f
        .call(
            Method::POST,
            &format!("{base}/indexes/items/facet-search"),
            Some(&json!({"facetName": "color"})),
        )
        .await;
    assert_eq!(status, 200, "{facets}");
    assert_eq!(
        facets["facetHits"],
        json!([{"value": "blue", "count": 20}, {"value": "green", "count": 20}, {"value": "red", "count": 20}])
    );
    // Federated: three queries, one list; a document two queries find is
    // shown once, and with RF = 2 no copy is counted twice.
    let fed = json!({"federation": {"limit": 10}, "queries": [
        {"indexUid": "items", "q": unique_word(8), "federationOptions": {"weight": 0.5}},
        {"indexUid": "items", "q": unique_word(7)},
        {"indexUid": "items", "q": unique_word(7)},
    ]});
    let (status, merged) = f
        .call(Method::POST, &format!("{base}/multi-search"), Some(&fed))
        .await;
    assert_eq!(status, 200, "{merged}");
    assert_eq!(ids(&merged), vec![7, 8], "{merged}");
    assert_eq!(merged["hits"][0]["_federation"]["queriesPosition"], 1);
    assert_eq!(merged["hits"][1]["_federation"]["queriesPosition"], 0);
    assert!(merged["hits"][0].get("_rankingScore").is_none());
}

/// Facet values merged across shards come in Meilisearch's order: case aside
/// by default, by count once the index's faceting setting says so.
async fn facet_values_in_the_index_order(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = f.start_router().await;
    crate::router_writes::create_index(&f, &router, "films", Some("id")).await;
    let settings = |body: Value| crate::router_writes::set_settings(&f, &router, "films", body);
    settings(json!({"filterableAttributes": ["genre"]})).await;
    let genres = ["action", "Sci Fi", "cartoon", "action", "cartoon", "action"];
    let docs: Vec<Value> = (0..30)
        .map(|i| json!({"id": i, "genre": genres[i % genres.len()]}))
        .collect();
    crate::router_writes::add_documents(&f, &router, "films", docs).await;
    let facets = || async {
        let (status, v) = f
            .call(
                Method::POST,
                &format!("{router}/indexes/films/facet-search"),
                Some(&json!({"facetName": "genre"})),
            )
            .await;
        assert_eq!(status, 200, "{v}");
        v["facetHits"].clone()
    };
    assert_eq!(
        facets().await,
        json!([{"value": "action", "count": 15}, {"value": "cartoon", "count": 10}, {"value": "Sci Fi", "count": 5}])
    );
    settings(json!({"faceting": {"sortFacetValuesBy": {"genre": "count"}}})).await;
    let more: Vec<Value> = (30..60)
        .map(|i| json!({"id": i, "genre": "Sci Fi"}))
        .collect();
    crate::router_writes::add_documents(&f, &router, "films", more).await;
    assert_eq!(
        facets().await,
        json!([{"value": "Sci Fi", "count": 35}, {"value": "action", "count": 15}, {"value": "cartoon", "count": 10}])
    );
}

/// `distinct` shows each value once across shards, from the search or from
/// the index's setting; documents without the attribute all stay; the total
/// loses the duplicates.
async fn distinct_across_shards(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = f.start_router().await;
    crate::router_writes::create_index(&f, &router, "films", Some("id")).await;
    let settings = |body: Value| crate::router_writes::set_settings(&f, &router, "films", body);
    settings(json!({"filterableAttributes": ["genre"], "sortableAttributes": ["id"]})).await;
    // 40 documents over 8 shards: 4 genres (in any case), and 8 with none.
    let genres = ["action", "Drama", "drama", "comedy", "horror"];
    let docs: Vec<Value> = (0..40u64)
        .map(|i| match i % 5 {
            4 if i % 10 == 4 => json!({"id": i}),
            k => json!({"id": i, "genre": genres[k as usize]}),
        })
        .collect();
    crate::router_writes::add_documents(&f, &router, "films", docs).await;
    let search = |body: Value| {
        let (f, url) = (&f, format!("{router}/indexes/films/search"));
        async move {
            let (status, v) = f.call(Method::POST, &url, Some(&body)).await;
            assert_eq!(status, 200, "{v}");
            v
        }
    };
    let check = |v: &Value| {
        let hits = v["hits"].as_array().unwrap();
        let mut genres: Vec<String> = hits
            .iter()
            .filter_map(|h| h["genre"].as_str().map(str::to_lowercase))
            .collect();
        let with = genres.len();
        genres.sort();
        genres.dedup();
        assert_eq!((with, genres.len()), (4, 4), "each genre once: {v}");
        assert_eq!(hits.len() - with, 4, "every document without a genre: {v}");
        // The first of each genre by id is the one kept.
        assert_eq!(hits[0]["id"], 0, "{v}");
        assert!(hits.iter().all(|h| h.get("_miroir_shard").is_none()));
    };
    let v = search(json!({"distinct": "genre", "sort": ["id:asc"], "limit": 50})).await;
    check(&v);
    assert_eq!(v["estimatedTotalHits"], 8, "{v}");
    // From the index's setting, and with the attribute not asked for.
    // The router trusts what it last read of the setting for up to 2 s
    // (index_facts::TTL), so the change shows within that.
    settings(json!({"distinctAttribute": "genre"})).await;
    let v = crate::util::eventually("the router to apply the new distinct attribute", || async {
        let v = search(json!({"sort": ["id:asc"], "limit": 50})).await;
        (v["hits"].as_array().unwrap().len() == 8).then_some(v)
    })
    .await;
    check(&v);
    let v = search(json!({"sort": ["id:asc"], "limit": 50, "attributesToRetrieve": ["id"]})).await;
    assert_eq!(v["hits"].as_array().unwrap().len(), 8, "{v}");
    assert!(v["hits"][0].get("genre").is_none(), "{v}");
}

crate::on_both_nodes!(
    distinct_across_shards,
    facet_values_in_the_index_order,
    get_search_keeps_every_parameter,
    two_groups_count_each_document_once,
    two_copies_count_each_document_once,
    pagination_and_sort_are_global,
    node_failure_falls_back_or_degrades,
    a_draining_node_keeps_serving,
    search_errors_look_like_meilisearch,
    multi_search_and_facet_search,
);

/// Miroir's own fields are never searched: with every attribute searchable
/// (the default), a query for a shard number matches no document by its
/// shard, while the client's fields are searched as before. (Real nodes: the
/// router learns the client's fields from the nodes' `/fields`.)
#[tokio::test(flavor = "multi_thread")]
async fn shard_numbers_are_not_searchable_words() {
    let mut f = Fleet::start_on(Nodes::meilisearch(), 1, 3).await;
    let router = f.start_router().await;
    crate::router_writes::create_index(&f, &router, "words", Some("id")).await;
    let docs: Vec<Value> = (100..140)
        .map(|i| json!({"id": i, "title": format!("hello number {i}")}))
        .collect();
    crate::router_writes::add_documents(&f, &router, "words", docs).await;
    let url = format!("{router}/indexes/words/search");
    // (Not 1: every id starts with it.)
    for shard in ["0", "2", "3", "5", "7"] {
        let (status, v) = f.call(Method::POST, &url, Some(&json!({"q": shard}))).await;
        assert_eq!(status, 200, "{v}");
        assert_eq!(
            v["estimatedTotalHits"], 0,
            "q={shard} matched by shard: {v}"
        );
    }
    let (_, v) = f
        .call(Method::POST, &url, Some(&json!({"q": "hello 117"})))
        .await;
    assert_eq!(v["hits"][0]["id"], 117, "{v}");
    // The client's own attributesToSearchOn is kept as it is.
    let body = json!({"q": "hello", "attributesToSearchOn": ["title"], "limit": 0});
    let (_, v) = f.call(Method::POST, &url, Some(&body)).await;
    assert_eq!(v["estimatedTotalHits"], 40, "{v}");
}
