//! How the router answers: Meilisearch-shaped errors (its own, a node's passed on, a write's),
//! accepted tasks, partial answers marked with the shards they lack, and request bodies read as
//! JSON.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use crate::meili::MeiliError;
use crate::router::tasks::view::summary;
use crate::router::write::writer::WriteError;

/// Names the shards a partial answer lacks.
pub const DEGRADED_HEADER: &str = "x-miroir-degraded";

/// Why a request failed, as the client sees it.
#[derive(Debug)]
pub enum ApiError {
    /// Miroir's own refusal, in Meilisearch's shape.
    Meili(MeiliError),
    /// A node refused the request: its error is the client's, passed on as it is.
    Node { status: u16, body: Value },
    /// A write was refused or missed its quorum.
    Write(WriteError),
}

impl From<MeiliError> for ApiError {
    fn from(e: MeiliError) -> Self {
        ApiError::Meili(e)
    }
}

impl From<WriteError> for ApiError {
    fn from(e: WriteError) -> Self {
        ApiError::Write(e)
    }
}

impl From<crate::fleet::NodeError> for ApiError {
    /// A node's refusal is passed on; a node that did not answer makes the request unavailable.
    fn from(e: crate::fleet::NodeError) -> Self {
        match e {
            crate::fleet::NodeError::Refused { status, body } => ApiError::Node { status, body },
            unreachable => ApiError::Meili(MeiliError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "miroir_node_unreachable",
                "system",
                unreachable.to_string(),
            )),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Meili(e) => e.into_response(),
            ApiError::Node { status, body } => node_error(status, body),
            ApiError::Write(e) => write_error(e),
        }
    }
}

/// A node's error answer, with its status (400 if it sent none that HTTP knows).
fn node_error(status: u16, body: Value) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Json(body)).into_response()
}

pub(in crate::router) fn accepted(task: &crate::state::TaskRecord) -> Response {
    (StatusCode::ACCEPTED, Json(summary(task))).into_response()
}

/// The answer to a write: its task (202), or why it was refused.
pub(in crate::router) fn task_reply(r: Result<crate::state::TaskRecord, WriteError>) -> Response {
    match r {
        Ok(t) => accepted(&t),
        Err(e) => write_error(e),
    }
}

/// A JSON object body (Meilisearch's `malformed_payload` otherwise).
pub(in crate::router) fn json_object(body: &[u8]) -> Result<Map<String, Value>, MeiliError> {
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(MeiliError::malformed("json", "expected an object")),
    }
}

pub(in crate::router) fn json_body(body: &[u8]) -> Result<Value, MeiliError> {
    crate::meili::error::json_body(body)
}

pub(in crate::router) fn write_error(e: WriteError) -> Response {
    match e {
        WriteError::Meili(m) => m.into_response(),
        WriteError::Refused { status, body } => node_error(status, body),
        WriteError::NoQuorum { degraded } => {
            let err = MeiliError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "miroir_no_quorum",
                "system",
                format!("Not enough nodes acknowledged the write ({degraded}); it may be partially applied: retry it."),
            );
            let mut resp = err.into_response();
            if let Ok(v) = HeaderValue::from_str(&degraded) {
                resp.headers_mut().insert(DEGRADED_HEADER, v);
            }
            resp
        }
    }
}

/// No node holding the shards a request needs could answer (`message` says which).
pub(in crate::router) fn no_reachable_copy(message: String) -> MeiliError {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_shard_unavailable",
        "system",
        message,
    )
}

/// The `fail` unavailable-shard policy's answer.
pub(in crate::router) fn shards_unavailable(uid: &str, missing: &[String]) -> MeiliError {
    no_reachable_copy(format!(
        "No replica of shard(s) {} of index `{uid}` answered, and the cluster's unavailable_shard_policy is `fail`.",
        missing.join(", ")
    ))
}

/// Marks a partial answer with the shards it lacks.
pub(in crate::router) fn degraded(mut resp: Response, missing: &[String]) -> Response {
    if !missing.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&format!("shards={}", missing.join(","))) {
            resp.headers_mut().insert(DEGRADED_HEADER, v);
        }
    }
    resp
}
