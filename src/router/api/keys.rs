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

use crate::fleet::{probe_then_rest, NodeError, Refused};
use crate::meili::{stamp, MeiliError};
use crate::router::auth::key_nodes::key_nodes;
use crate::router::context::Shared;
use crate::router::reply::json_object;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/keys", get(list_keys).post(create_key))
        .route(
            "/keys/{key}",
            get(get_key).patch(update_key).delete(delete_key),
        )
}

pub(in crate::router) fn passed_on(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    (status, Json(body)).into_response()
}

fn unreachable(what: &str, failures: &[String]) -> Response {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_node_unreachable",
        "system",
        format!("No node could answer {what}: {}.", failures.join("; ")),
    )
    .into_response()
}

fn describe(id: &str, e: &NodeError) -> String {
    match e {
        NodeError::Unreachable { reason, .. } => format!("node `{id}` did not answer ({reason})"),
        NodeError::Refused { status: 401 | 403, .. } => format!(
            "node `{id}` refused the router's node key: every node must run with the same master key, given to routers as `--node-key` (or `--master-key`)"
        ),
        NodeError::Refused { status, body } => match body["message"].as_str() {
            Some(m) => format!("node `{id}` refused it ({status}: {m})"),
            None => format!("node `{id}` refused it ({status})"),
        },
    }
}

/// Whether a node's refusal is about the client's request. A 401 or 403 is
/// about the router's node key (the client's key was checked already).
fn client_error(status: u16) -> bool {
    status < 500 && status != 401 && status != 403
}

/// The first node's answer to a read (the next node if one does not answer).
pub(in crate::router) async fn from_one(s: &Shared, path: &str) -> Response {
    let nodes = match key_nodes(s).await {
        Ok(n) => n,
        Err(e) => return e.into_response(),
    };
    let mut failures = vec![];
    for (id, base) in nodes {
        match s.nodes.call(&base, Method::GET, path, None).await {
            Ok(v) => return Json(v).into_response(),
            Err(NodeError::Refused { status, body }) if client_error(status) => {
                return passed_on(status, body)
            }
            Err(e) => failures.push(describe(&id, &e)),
        }
    }
    unreachable(&format!("`GET {path}`"), &failures)
}

/// Every node's answer to one change: (node, its URL, the answer).
pub(in crate::router) type Answers = Vec<(String, String, Result<Value, NodeError>)>;

/// One change on every node. Nodes are tried alone until one answers: if it refuses the
/// request, its error is the answer and no other node was touched.
pub(in crate::router) async fn on_every_node(
    s: &Shared,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Answers, Response> {
    let nodes = key_nodes(s).await.map_err(IntoResponse::into_response)?;
    if nodes.is_empty() {
        return Err(unreachable(
            "the request",
            &["no node is registered".into()],
        ));
    }
    let answers = probe_then_rest(&nodes, client_error, |(_, base)| {
        let method = method.clone();
        async move { s.nodes.call(&base, method, path, body).await }
    })
    .await
    .map_err(|Refused { status, body }| passed_on(status, body))?;
    Ok(answers
        .into_iter()
        .map(|((id, base), r)| (id, base, r))
        .collect())
}

/// The nodes that did not carry a change out, and why.
fn failures(answers: &Answers) -> Vec<String> {
    answers
        .iter()
        .filter_map(|(id, _, r)| r.as_ref().err().map(|e| describe(id, e)))
        .collect()
}

/// Why a change reached only some nodes.
pub(in crate::router) fn partially_applied(what: &str, answers: &Answers) -> Option<Response> {
    let failed = failures(answers);
    (!failed.is_empty()).then(|| {
        MeiliError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "miroir_partially_applied",
            "system",
            format!(
                "{what} reached only some nodes: {}. Retry once every node answers.",
                failed.join("; ")
            ),
        )
        .into_response()
    })
}

async fn list_keys(State(s): State<Arc<Shared>>, RawQuery(q): RawQuery) -> Response {
    match q {
        Some(q) => from_one(&s, &format!("/keys?{q}")).await,
        None => from_one(&s, "/keys").await,
    }
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

async fn get_key(State(s): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    match key_path(&key) {
        Ok(path) => from_one(&s, &path).await,
        Err(e) => e.into_response(),
    }
}

async fn create_key(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let mut obj = match json_object(&body) {
        Ok(o) => o,
        Err(e) => return e.into_response(),
    };
    // One uid everywhere makes one key value everywhere.
    if obj.get("uid").is_none_or(Value::is_null) {
        obj.insert("uid".into(), Value::from(stamp::uuid_v4()));
    }
    if let Some(uid) = obj["uid"].as_str().filter(|u| key_path(u).is_err()) {
        return MeiliError::invalid(
            "invalid_api_key_uid",
            format!("Invalid value at `.uid`: `{uid}` is not a valid UUID."),
        )
        .into_response();
    }
    let body = Value::Object(obj);
    let answers = match on_every_node(&s, Method::POST, "/keys", Some(&body)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    s.api_keys.clear();
    let failed = failures(&answers);
    let problem = match failed.is_empty() {
        true => differing_values(&answers),
        false => Some(
            MeiliError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "miroir_key_not_replicated",
                "system",
                format!(
                    "The API key must exist on every node, and could not be created on all of them, so it was created on none: {}. Retry once every node answers.",
                    failed.join("; ")
                ),
            )
            .into_response(),
        ),
    };
    let Some(problem) = problem else {
        let key = answers.into_iter().find_map(|(_, _, r)| r.ok());
        return (StatusCode::CREATED, Json(key.unwrap_or_default())).into_response();
    };
    // All or nothing: take the key back from every node that made it, or
    // may have (one that did not answer); a node that refused made nothing.
    let path = format!("/keys/{}", body["uid"].as_str().unwrap_or_default());
    let undo = answers
        .iter()
        .filter(|(_, _, r)| !matches!(r, Err(NodeError::Refused { .. })))
        .map(|(_, base, _)| s.nodes.call(base, Method::DELETE, &path, None));
    join_all(undo).await;
    problem
}

/// Nodes that gave one key different values do not share a master key.
fn differing_values(answers: &Answers) -> Option<Response> {
    let value = |a: &(String, String, Result<Value, NodeError>)| {
        a.2.as_ref().ok().map(|v| v["key"].clone())
    };
    let first = answers.first()?;
    let other = answers.iter().find(|a| value(a) != value(first))?;
    Some(
        MeiliError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "miroir_master_keys_differ",
            "system",
            format!(
                "Nodes `{}` and `{}` gave the new API key different values: every Meilisearch node must be started with the same master key. The key was not kept.",
                first.0, other.0
            ),
        )
        .into_response(),
    )
}

async fn update_key(
    State(s): State<Arc<Shared>>,
    Path(key): Path<String>,
    body: Bytes,
) -> Response {
    let path = match key_path(&key) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let body = match json_object(&body) {
        Ok(o) => Value::Object(o),
        Err(e) => return e.into_response(),
    };
    let answers = match on_every_node(&s, Method::PATCH, &path, Some(&body)).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    s.api_keys.clear();
    if let Some(bad) = partially_applied("The API key update", &answers) {
        return bad;
    }
    let key = answers.into_iter().find_map(|(_, _, r)| r.ok());
    Json(key.unwrap_or_default()).into_response()
}

async fn delete_key(State(s): State<Arc<Shared>>, Path(key): Path<String>) -> Response {
    let path = match key_path(&key) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let mut answers = match on_every_node(&s, Method::DELETE, &path, None).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    s.api_keys.clear();
    // A node that no longer has the key is where the client wants it.
    answers.retain(|(_, _, r)| !matches!(r, Err(NodeError::Refused { status: 404, .. })));
    match partially_applied("The API key deletion", &answers) {
        Some(bad) => bad,
        None => StatusCode::NO_CONTENT.into_response(),
    }
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
