//! Document writes: `POST` (replace) and `PUT` (update) on `/indexes/{uid}/documents`, in JSON,
//! NDJSON or CSV.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::router::context::{writer, Shared};
use crate::router::reply::task_reply;

pub(in crate::router) async fn add_documents(
    s: State<Arc<Shared>>,
    p: Path<String>,
    q: Query<Vec<(String, String)>>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Response {
    write_documents(s, p, q, h, b, true).await
}

pub(in crate::router) async fn update_documents(
    s: State<Arc<Shared>>,
    p: Path<String>,
    q: Query<Vec<(String, String)>>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Response {
    write_documents(s, p, q, h, b, false).await
}

async fn write_documents(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    replace: bool,
) -> Response {
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let delimiter = param("csvDelimiter")
        .and_then(|d| d.bytes().next())
        .unwrap_or(b',');
    let docs = match crate::meili::payload::documents(&body, content_type, delimiter) {
        Ok(d) => d.into_iter().map(Value::Object).collect(),
        Err(e) => return e.into_response(),
    };
    let pk = param("primaryKey");
    task_reply(writer(&s).write_documents(&uid, pk, docs, replace).await)
}
