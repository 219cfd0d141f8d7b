//! `/indexes/{uid}/similar`: documents like one document, across shards. The reference
//! document lives on one shard, so its node checks the request (Meilisearch's own errors for a
//! missing id, an unknown embedder, a bad filter) and gives its embedding; every shard is then
//! searched by that vector, the results merged by score as any search is, and the reference
//! document itself left out. Scores are those `similar` gives on one node.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::meili::MeiliError;
use crate::router::auth::tenant::{restrict, Tenant};
use crate::router::context::Shared;
use crate::router::read::plan::plan_read;
use crate::router::read::search::run_search;
use crate::router::reply::{degraded, json_object, no_reachable_copy, ApiError};
use crate::state::IndexUid;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/indexes/{uid}/similar",
        get(similar_get).post(similar_post),
    )
}

/// What a similar request passes on to the vector search unchanged.
const PASSED: [&str; 7] = [
    "filter",
    "attributesToRetrieve",
    "retrieveVectors",
    "showRankingScore",
    "showRankingScoreDetails",
    "rankingScoreThreshold",
    "showPerformanceDetails",
];

async fn similar_post(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    tenant: Tenant,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    similar(&s, &uid, json_object(&body)?, &tenant).await
}

/// GET takes the same fields as query parameters, typed as Meilisearch reads them.
async fn similar_get(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    tenant: Tenant,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let mut body = Map::new();
    for (k, v) in q {
        let value = match k.as_str() {
            "offset" | "limit" => v.parse::<u64>().map(Value::from).unwrap_or(Value::from(v)),
            "rankingScoreThreshold" => v.parse::<f64>().map(Value::from).unwrap_or(Value::from(v)),
            "retrieveVectors"
            | "showRankingScore"
            | "showRankingScoreDetails"
            | "showPerformanceDetails" => {
                v.parse::<bool>().map(Value::from).unwrap_or(Value::from(v))
            }
            "attributesToRetrieve" => {
                Value::Array(v.split(',').map(|a| Value::from(a.trim())).collect())
            }
            _ => Value::from(v),
        };
        body.insert(k, value);
    }
    similar(&s, &uid, body, &tenant).await
}

async fn similar(
    s: &Shared,
    uid: &str,
    mut client: Map<String, Value>,
    tenant: &Tenant,
) -> Result<Response, ApiError> {
    restrict(tenant, uid, &mut client);
    let id = match client.get("id") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        // Anything else is the node's to refuse, in its words.
        _ => String::new(),
    };
    let (base, physical) = owner_of(s, uid, &id)?;
    // The owner checks the request as Meilisearch would, asked for no hits.
    let mut check = client.clone();
    check.insert("offset".into(), json!(0));
    check.insert("limit".into(), json!(0));
    let path = format!("/indexes/{physical}/similar");
    node_call(
        s,
        &base,
        Method::POST,
        &path,
        Some(&Value::Object(check)),
        &physical,
        uid,
    )
    .await?;
    let embedder = client["embedder"].as_str().unwrap_or_default().to_string();
    let path = format!("/indexes/{physical}/documents/{id}?retrieveVectors=true&fields=_vectors");
    let doc = node_call(s, &base, Method::GET, &path, None, &physical, uid).await?;
    let vector = doc["_vectors"][&embedder]["embeddings"][0].clone();
    let offset = client.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let limit = client.get("limit").and_then(Value::as_u64).unwrap_or(20) as usize;
    let mut search = Map::new();
    for k in PASSED {
        if let Some(v) = client.get(k) {
            search.insert(k.into(), v.clone());
        }
    }
    search.insert("vector".into(), vector);
    search.insert(
        "hybrid".into(),
        json!({"embedder": embedder, "semanticRatio": 1.0}),
    );
    // One more than the window, since the reference document is among the hits.
    search.insert("offset".into(), json!(0));
    search.insert("limit".into(), json!(offset + limit + 1));
    let (answer, missing) = run_search(s, uid, &search).await?;
    let pk = crate::router::primary_key::current(&s.control, &s.cache, uid)
        .await?
        .unwrap_or_default();
    let all = answer["hits"].as_array().cloned().unwrap_or_default();
    let before = all.len();
    let others: Vec<Value> = all
        .into_iter()
        .filter(|h| {
            let hid = match &h[&pk] {
                Value::String(s) => s.clone(),
                v => v.to_string(),
            };
            pk.is_empty() || hid != id
        })
        .collect();
    let total = answer["estimatedTotalHits"].as_u64().unwrap_or(0);
    // The vector search found the reference document too: it is not one of its own similars.
    let total = total.saturating_sub(u64::from(others.len() < before));
    let hits: Vec<Value> = others.into_iter().skip(offset).take(limit).collect();
    let mut out = json!({
        "hits": hits,
        "id": id,
        "processingTimeMs": answer["processingTimeMs"],
        "limit": limit,
        "offset": offset,
        "estimatedTotalHits": total,
    });
    if let Some(p) = answer.get("performanceDetails") {
        out["performanceDetails"] = p.clone();
    }
    Ok(degraded(Json(out).into_response(), &missing))
}

/// A reachable node holding the shard of document `id`, and the index's name on the nodes.
pub(in crate::router) fn owner_of(
    s: &Shared,
    uid: &str,
    id: &str,
) -> Result<(String, String), MeiliError> {
    let t = s.cache.snapshot();
    let map = t
        .maps
        .get(&IndexUid(uid.to_string()))
        .ok_or_else(|| MeiliError::index_not_found(uid))?;
    let key = match id.parse::<i128>() {
        Ok(i) => crate::placement::PrimaryKeyValue::Integer(i),
        Err(_) => crate::placement::PrimaryKeyValue::String(id),
    };
    let shard = crate::placement::shard_for_key(&key, map.shards.len() as u32);
    let plan = plan_read(&t, &map.index, 0, &[], Some(&[shard]))
        .ok_or_else(|| MeiliError::index_not_found(uid))?;
    let node = plan.nodes.keys().next().ok_or_else(|| {
        no_reachable_copy(format!(
            "No node holding the shard of document `{id}` is reachable."
        ))
    })?;
    Ok((t.nodes[node].address.clone(), plan.physical.clone()))
}

/// One node call whose refusal is the client's answer (naming the client's index).
async fn node_call(
    s: &Shared,
    base: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
    physical: &str,
    uid: &str,
) -> Result<Value, ApiError> {
    let answer = s.nodes.call(base, method, path, body).await;
    crate::router::read::one_node::node_answer(answer, physical, uid)
}
