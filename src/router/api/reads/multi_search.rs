//! Multi-search (several searches in one request) and facet search, both
//! answered across every shard.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::with_shards;
use crate::meili::MeiliError;
use crate::router::auth::tenant::{restrict, Tenant};
use crate::router::context::Shared;
use crate::router::read::plan::plan_read;
use crate::router::read::search::run_search_in;
use crate::router::reply::{degraded, json_object, ApiError};
use crate::state::IndexUid;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/multi-search", post(multi_search))
        .route("/indexes/{uid}/facet-search", post(facet_search))
}

async fn multi_search(
    State(s): State<Arc<Shared>>,
    tenant: Tenant,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = json_object(&body)?;
    let Some(Value::Array(queries)) = body.get("queries") else {
        return Err(MeiliError::invalid("missing_queries", "Missing field `queries`").into());
    };
    if let Some(fed) = body.get("federation").filter(|f| !f.is_null()) {
        let (answer, missing) =
            crate::router::read::federation::search(&s, fed, queries, &tenant).await?;
        return Ok(degraded(Json(answer).into_response(), &missing));
    }
    let mut results = vec![];
    let mut missing = vec![];
    let topology = crate::router::read::search::synced_topology(&s).await?;
    for (i, q) in queries.iter().enumerate() {
        let Some(mut q) = q.as_object().cloned() else {
            return Err(MeiliError::invalid(
                "invalid_multi_search_queries",
                format!("Invalid value at `.queries[{i}]`: expected an object"),
            )
            .into());
        };
        let Some(uid) = q
            .remove("indexUid")
            .and_then(|u| u.as_str().map(str::to_string))
        else {
            return Err(MeiliError::invalid(
                "missing_index_uid",
                format!("Missing field `indexUid` inside `.queries[{i}]`"),
            )
            .into());
        };
        restrict(&tenant, &uid, &mut q);
        let (mut answer, gaps) = run_search_in(&s, &topology, &uid, &q).await?;
        answer["indexUid"] = Value::from(uid);
        results.push(answer);
        missing.extend(gaps);
    }
    Ok(degraded(
        Json(json!({"results": results})).into_response(),
        &missing,
    ))
}

/// Facet values and their counts, summed over one replica of every shard.
async fn facet_search(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    tenant: Tenant,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let mut client = json_object(&body)?;
    restrict(&tenant, &uid, &mut client);
    let t = s.cache.snapshot();
    let plan = plan_read(&t, &IndexUid(uid.clone()), 0, &[], None)
        .ok_or_else(|| MeiliError::index_not_found(&uid))?;
    // A `q` searches documents: as a search does, it names the client's
    // searchable fields so that Miroir's are never matched.
    let has_query = client
        .get("q")
        .and_then(Value::as_str)
        .is_some_and(|q| !q.is_empty());
    if has_query && !client.contains_key("attributesToSearchOn") {
        if let Ok((base, physical)) = crate::router::read::one_node::some_node_in(&t, &uid) {
            if let Some(fields) = s.facts.get(&s.nodes, &base, &physical).await.search_on {
                client.insert("attributesToSearchOn".into(), Value::from(fields));
            }
        }
    }
    let calls = plan.nodes.iter().map(|(node, shards)| {
        let mut body = client.clone();
        body.insert("filter".into(), with_shards(client.get("filter"), shards));
        let base = t.nodes[node].address.clone();
        let path = format!("/indexes/{}/facet-search", plan.physical);
        let nodes = &s.nodes;
        async move {
            let r = nodes
                .call(&base, Method::POST, &path, Some(&Value::Object(body)))
                .await;
            (shards, r)
        }
    });
    // The index's facet order (`faceting.sortFacetValuesBy`), read from one of the nodes asked.
    let order = async {
        let (node, _) = plan.nodes.iter().next()?;
        let path = format!("/indexes/{}/settings/faceting", plan.physical);
        let v = s
            .nodes
            .call(&t.nodes[node].address, Method::GET, &path, None)
            .await
            .ok()?;
        let by = &v["sortFacetValuesBy"];
        let facet = client
            .get("facetName")
            .and_then(Value::as_str)
            .unwrap_or("");
        by.get(facet).or_else(|| by.get("*")).cloned()
    };
    let (answers, order) = futures::join!(join_all(calls), order);
    // Values are grouped as Meilisearch normalizes them (case aside), each
    // shown as the first node to answer spelled it.
    let mut counts: BTreeMap<String, (String, u64)> = BTreeMap::new();
    let mut took = 0;
    let mut missing: Vec<String> = plan.unavailable.iter().map(|s| s.0.to_string()).collect();
    for (shards, r) in answers {
        match r {
            Ok(v) => {
                took = took.max(v["processingTimeMs"].as_u64().unwrap_or(0));
                for hit in v["facetHits"].as_array().into_iter().flatten() {
                    let value = hit["value"]
                        .as_str()
                        .map_or_else(|| hit["value"].to_string(), str::to_string);
                    let entry = counts.entry(value.to_lowercase()).or_insert((value, 0));
                    entry.1 += hit["count"].as_u64().unwrap_or(0);
                }
            }
            Err(crate::fleet::NodeError::Refused { status, mut body }) => {
                crate::meili::error::name_client_index(&mut body, &plan.physical, &uid);
                return Err(ApiError::Node { status, body });
            }
            // Facet search asks no replica instead: its shards are reported missing.
            Err(_) => missing.extend(shards.iter().map(|s| s.0.to_string())),
        }
    }
    if !missing.is_empty() && s.lease.fails_on_missing_shards() {
        return Err(crate::router::reply::shards_unavailable(&uid, &missing).into());
    }
    let by_count = order.is_some_and(|v| v == "count")
        || client
            .get("sortFacetValuesBy")
            .is_some_and(|v| v == "count");
    // In normalized (lower-case) order, or by count and then so.
    let mut hits: Vec<(String, u64)> = counts.into_values().collect();
    if by_count {
        hits.sort_by(|a, b| {
            b.1.cmp(&a.1)
                .then_with(|| a.0.to_lowercase().cmp(&b.0.to_lowercase()))
        });
    }
    let facet_hits: Vec<Value> = hits
        .into_iter()
        .take(100)
        .map(|(value, count)| json!({"value": value, "count": count}))
        .collect();
    let query = client.get("facetQuery").cloned().unwrap_or(Value::Null);
    Ok(degraded(
        Json(json!({"facetHits": facet_hits, "facetQuery": query, "processingTimeMs": took}))
            .into_response(),
        &missing,
    ))
}
