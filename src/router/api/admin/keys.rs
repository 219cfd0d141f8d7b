//! `/keys`: API keys live on the nodes, the same key on every node. A key is
//! created on every node with one `uid`; Meilisearch derives a key's value
//! from its uid and the master key, so nodes sharing a master key give it the
//! same value, which the router checks. Reads come from one node.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures::future::join_all;
use reqwest::Method;
use serde_json::Value;

use crate::fleet::NodeError;
use crate::meili::{stamp, MeiliError};
use crate::router::api::all_nodes::{all_applied, failures, from_one, on_every_node, Answers};
use crate::router::context::Shared;
use crate::router::reply::{json_object, ApiError};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route(
            "/keys/{key}",
            get(get_key).patch(update_key).delete(delete_key),
        )
}

async fn list_keys(
    State(s): State<Arc<Shared>>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let path = match q {
        Some(q) => format!("/keys?{q}"),
        None => "/keys".to_string(),
    };
    Ok(Json(from_one(&s, &path).await?))
}

/// Keys and uids are hex and hyphens: anything else cannot name a key, and
/// must not reach a node's URL.
fn key_path(key: &str) -> Result<String, MeiliError> {
    let ok = key
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    match ok && !key.is_empty() {
        true => Ok(format!("/keys/{key}")),
        false => Err(MeiliError::key_not_found(key)),
    }
}

async fn get_key(
    State(s): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(from_one(&s, &key_path(&key)?).await?))
}

async fn create_key(State(s): State<Arc<Shared>>, body: Bytes) -> Result<Response, ApiError> {
    let mut obj = json_object(&body)?;
    // One uid everywhere makes one key value everywhere.
    if obj.get("uid").is_none_or(Value::is_null) {
        obj.insert("uid".into(), Value::from(stamp::uuid_v4()));
    }
    if let Some(uid) = obj["uid"].as_str().filter(|u| key_path(u).is_err()) {
        return Err(MeiliError::invalid(
            "invalid_api_key_uid",
            format!("Invalid value at `.uid`: `{uid}` is not a valid UUID."),
        )
        .into());
    }
    let body = Value::Object(obj);
    let answers = on_every_node(&s, Method::POST, "/keys", Some(&body)).await?;
    s.api_keys.clear();
    let failed = failures(&answers);
    let problem = match failed.is_empty() {
        true => differing_values(&answers),
        false => Some(MeiliError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "miroir_key_not_replicated",
            "system",
            format!(
                "The API key must exist on every node, and could not be created on all of them, so it was created on none: {}. Retry once every node answers.",
                failed.join("; ")
            ),
        )),
    };
    let Some(problem) = problem else {
        let key = answers.into_iter().find_map(|(_, _, r)| r.ok());
        return Ok((StatusCode::CREATED, Json(key.unwrap_or_default())).into_response());
    };
    // All or nothing: take the key back from every node that made it, or
    // may have (one that did not answer); a node that refused made nothing.
    let path = format!("/keys/{}", body["uid"].as_str().unwrap_or_default());
    let undo = answers
        .iter()
        .filter(|(_, _, r)| !matches!(r, Err(NodeError::Refused { .. })))
        .map(|(_, base, _)| s.nodes.call(base, Method::DELETE, &path, None));
    join_all(undo).await;
    Err(problem.into())
}

/// Nodes that gave one key different values do not share a master key.
fn differing_values(answers: &Answers) -> Option<MeiliError> {
    let value = |a: &(String, String, Result<Value, NodeError>)| {
        a.2.as_ref().ok().map(|v| v["key"].clone())
    };
    let first = answers.first()?;
    let other = answers.iter().find(|a| value(a) != value(first))?;
    Some(MeiliError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "miroir_master_keys_differ",
        "system",
        format!(
            "Nodes `{}` and `{}` gave the new API key different values: every Meilisearch node must be started with the same master key. The key was not kept.",
            first.0, other.0
        ),
    ))
}

async fn update_key(
    State(s): State<Arc<Shared>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let path = key_path(&key)?;
    let body = Value::Object(json_object(&body)?);
    let answers = on_every_node(&s, Method::PATCH, &path, Some(&body)).await?;
    s.api_keys.clear();
    all_applied("The API key update", &answers)?;
    let key = answers.into_iter().find_map(|(_, _, r)| r.ok());
    Ok(Json(key.unwrap_or_default()))
}

async fn delete_key(
    State(s): State<Arc<Shared>>,
    Path(key): Path<String>,
) -> Result<StatusCode, ApiError> {
    let path = key_path(&key)?;
    let mut answers = on_every_node(&s, Method::DELETE, &path, None).await?;
    s.api_keys.clear();
    // A node that no longer has the key is where the client wants it.
    answers.retain(|(_, _, r)| !matches!(r, Err(NodeError::Refused { status: 404, .. })));
    all_applied("The API key deletion", &answers)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only key- and uid-shaped names reach a node's URL.
    #[test]
    fn key_paths() {
        assert_eq!(key_path("abc-123").unwrap(), "/keys/abc-123");
        assert_eq!(key_path("../x").unwrap_err().code, "api_key_not_found");
        assert_eq!(key_path("a?b").unwrap_err().code, "api_key_not_found");
    }
}
