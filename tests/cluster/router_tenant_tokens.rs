//! Tenant tokens through a router, with Meilisearch's rules: the router verifies the token
//! against its parent key, refuses indexes the rules or the key do not reach, expired tokens and
//! bad signatures, and adds the rules' filter to every search (single, multi, federated, facet).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished};

fn token(claims: &Value, key: &str) -> String {
    let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
    let signed = format!(
        "{}.{}",
        enc(&json!({"alg": "HS256", "typ": "JWT"})),
        enc(claims)
    );
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key.as_bytes());
    let tag = ring::hmac::sign(&k, signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

fn genres(v: &Value) -> Vec<String> {
    let mut g: Vec<String> = v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["genre"].as_str().unwrap().to_string())
        .collect();
    g.dedup();
    g
}

/// Two indexes of action and drama films, a key that searches `films`, and
/// a token of that key whose rules show action films only.
async fn setup(nodes: Nodes, router_flags: &[&str]) -> (Fleet, String, String, String, String) {
    let mut f = Fleet::start_on(nodes, 1, 3).await;
    let router = f.start_router_with(router_flags).await;
    for uid in ["films", "books"] {
        create_index(&f, &router, uid, Some("id")).await;
        let (_, t) = f
            .call(
                Method::PATCH,
                &format!("{router}/indexes/{uid}/settings"),
                Some(&json!({"filterableAttributes": ["genre", "id"]})),
            )
            .await;
        finished(&f, &router, &t).await;
        let docs: Vec<Value> = (0..20)
            .map(|i| {
                let genre = ["action", "drama"][i % 2];
                json!({"id": i, "genre": genre})
            })
            .collect();
        add_documents(&f, &router, uid, docs).await;
    }
    let (status, key) = f
        .call(
            Method::POST,
            &format!("{router}/keys"),
            Some(&json!({"actions": ["search"], "indexes": ["films"], "expiresAt": null})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let (uid, value) = (key["uid"].as_str().unwrap(), key["key"].as_str().unwrap());
    let rules = json!({"films": {"filter": "genre = action"}, "books": null});
    let good = token(&json!({"apiKeyUid": uid, "searchRules": rules}), value);
    let (uid, value) = (uid.to_string(), value.to_string());
    (f, router, good, uid, value)
}

async fn tenant_tokens_restrict_searches(nodes: Nodes) {
    let (f, router, good, uid, value) = setup(nodes, &[]).await;
    let (uid, value) = (uid.as_str(), value.as_str());
    let search = |tok: String, path: &'static str, body: Value| {
        let (f, url) = (&f, format!("{router}{path}"));
        async move { f.call_with(&tok, Method::POST, &url, Some(&body)).await }
    };

    let (status, v) = search(good.clone(), "/indexes/films/search", json!({"limit": 50})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (genres(&v), &v["estimatedTotalHits"]),
        (vec!["action".into()], &json!(10))
    );
    // The rules' filter goes next to the client's own.
    let (_, v) = search(
        good.clone(),
        "/indexes/films/search",
        json!({"filter": "id < 6", "limit": 50}),
    )
    .await;
    assert_eq!(v["estimatedTotalHits"], 3, "{v}");
    let (_, v) = search(
        good.clone(),
        "/multi-search",
        json!({"queries": [{"indexUid": "films", "limit": 50}]}),
    )
    .await;
    assert_eq!(genres(&v["results"][0]), ["action"], "{v}");
    let (_, v) = search(
        good.clone(),
        "/multi-search",
        json!({"federation": {"limit": 50}, "queries": [{"indexUid": "films"}]}),
    )
    .await;
    assert_eq!(genres(&v), ["action"], "{v}");
    let (_, v) = search(
        good.clone(),
        "/indexes/films/facet-search",
        json!({"facetName": "genre"}),
    )
    .await;
    assert_eq!(
        v["facetHits"],
        json!([{"value": "action", "count": 10}]),
        "{v}"
    );
    // GET carries the filter too.
    let (_, v) = f
        .call_with(
            &good,
            Method::GET,
            &format!("{router}/indexes/films/search?limit=50"),
            None,
        )
        .await;
    assert_eq!(genres(&v), ["action"], "{v}");

    // Refusals, each worded as Meilisearch words it; all 403 invalid_api_key.
    let other = token(&json!({"apiKeyUid": uid, "searchRules": ["films"]}), value);
    let expired = token(
        &json!({"apiKeyUid": uid, "searchRules": ["*"], "exp": 1}),
        value,
    );
    let forged = token(
        &json!({"apiKeyUid": uid, "searchRules": ["*"]}),
        "not-the-key",
    );
    for (tok, path, says) in [
        (
            other,
            "/indexes/books/search",
            "cannot acces the index `books`, allowed indexes are [\"films\"]",
        ),
        (
            good.clone(),
            "/indexes/books/search",
            "The API key used to generate this tenant token cannot acces the index `books`.",
        ),
        (expired, "/indexes/films/search", "Tenant token expired."),
        (
            forged,
            "/indexes/films/search",
            "Could not decode tenant token",
        ),
    ] {
        let (status, e) = search(tok, path, json!({})).await;
        assert_eq!(
            (status, e["code"].as_str()),
            (403, Some("invalid_api_key")),
            "{e}"
        );
        assert!(e["message"].as_str().unwrap().contains(says), "{e}");
    }
    // A tenant token searches only.
    let (status, _) = f
        .call_with(
            &good,
            Method::GET,
            &format!("{router}/indexes/films/documents"),
            None,
        )
        .await;
    assert_eq!(status, 403);
}

crate::on_both_nodes!(tenant_tokens_restrict_searches);

/// With the rules' filters left out (the unsafe switch), the tenant sees the
/// drama films its rules hide: what the check above catches.
#[tokio::test(flavor = "multi_thread")]
async fn ignoring_tenant_rules_shows_hidden_documents() {
    let (f, router, good, _, _) = setup(Nodes::Devnode, &["--unsafe-ignore-tenant-rules"]).await;
    let url = format!("{router}/indexes/films/search");
    let (status, v) = f
        .call_with(&good, Method::POST, &url, Some(&json!({"limit": 50})))
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["estimatedTotalHits"], 20, "{v}");
}
