//! `POST /indexes/{uid}/fields`: the index's fields with what each is configured for. A field
//! exists on a node once one of its documents has it, so the lists of one copy of every shard
//! are merged (settings are the same everywhere), in name order as Meilisearch gives them, with
//! Miroir's reserved fields left out; the client's offset and limit apply to the merged list.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use futures::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::meili::error::wrong_type;
use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::router::read::plan::plan_read;
use crate::router::reply::{json_object, no_reachable_copy, ApiError};
use crate::state::IndexUid;

/// More fields than an index can hold (field ids are 16 bits): each node lists all of its own.
const EVERY_FIELD: u64 = 1 << 16;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/indexes/{uid}/fields", post(list_fields))
}

async fn list_fields(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let client = json_object(&body)?;
    let count = |name: &str, code: &'static str, default: u64| match client.get(name) {
        None => Ok(default),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| wrong_type(code, &format!(".{name}"), "a positive integer", v)),
    };
    let offset = count("offset", "invalid_index_offset", 0)? as usize;
    let limit = count("limit", "invalid_index_limit", 20)? as usize;
    let t = s.cache.snapshot();
    let plan = plan_read(&t, &IndexUid(uid.clone()), 0, &[], None)
        .ok_or_else(|| MeiliError::index_not_found(&uid))?;
    if !plan.unavailable.is_empty() {
        return Err(no_reachable_copy(format!(
            "Some shards of index `{uid}` have no reachable node."
        ))
        .into());
    }
    let path = format!("/indexes/{}/fields", plan.physical);
    let mut node_body = client.clone();
    node_body.insert("offset".into(), json!(0));
    node_body.insert("limit".into(), json!(EVERY_FIELD));
    let node_body = Value::Object(node_body);
    let calls = plan.nodes.keys().map(|n| {
        let base = t.nodes[n].address.clone();
        let (path, body, nodes) = (&path, &node_body, &s.nodes);
        async move { nodes.call(&base, Method::POST, path, Some(body)).await }
    });
    let mut fields: BTreeMap<String, Value> = BTreeMap::new();
    for answer in join_all(calls).await {
        let answer = crate::router::read::one_node::node_answer(answer, &plan.physical, &uid)?;
        for f in answer["results"].as_array().into_iter().flatten() {
            let Some(name) = f["name"].as_str() else {
                continue;
            };
            if !crate::meili::reserved::is_reserved(name) {
                fields.entry(name.to_string()).or_insert_with(|| f.clone());
            }
        }
    }
    let total = fields.len();
    let results: Vec<Value> = fields.into_values().skip(offset).take(limit).collect();
    Ok(Json(
        json!({"results": results, "offset": offset, "limit": limit, "total": total}),
    ))
}
