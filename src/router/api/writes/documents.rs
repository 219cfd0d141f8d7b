//! `/indexes/{uid}/documents`: writes in JSON, NDJSON or CSV (`POST` replaces, `PUT` updates),
//! one document fetched from a node holding its shard, and deletions (by id, by batch, by filter,
//! all), which every node of the index carries out.

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::post;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::IndexChange;
use crate::meili::document_params::custom_metadata_only;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::read::merge::strip_reserved;
use crate::router::read::plan::plan_read;
use crate::router::reply::{json_body, no_reachable_copy, task_reply, ApiError};
use crate::state::TaskKind;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/indexes/{uid}/documents",
            post(write_documents)
                .put(write_documents)
                .delete(delete_all)
                .get(crate::router::api::listings::list_documents),
        )
        .route(
            "/indexes/{uid}/documents/{id}",
            axum::routing::get(get_document).delete(delete_document),
        )
        .route("/indexes/{uid}/documents/delete", post(delete_by_filter))
        .route("/indexes/{uid}/documents/delete-batch", post(delete_batch))
}

/// `POST` adds or replaces documents, `PUT` adds or updates them.
async fn write_documents(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    method: axum::http::Method,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let query = crate::meili::document_params::DocumentsWrite::parse(&q)?;
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let docs = crate::meili::payload::documents(&body, content_type, query.csv_delimiter)?
        .into_iter()
        .map(Value::Object)
        .collect();
    let replace = method == axum::http::Method::POST;
    let w = writer(&s).with_metadata(query.custom_metadata.clone());
    Ok(task_reply(
        w.write_documents(&uid, &query, docs, replace).await,
    ))
}

/// One document, from a node that holds its shard (the shard of the id decides which).
async fn get_document(
    State(s): State<Arc<Shared>>,
    Path((uid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let t = s.cache.snapshot();
    let map = t
        .maps
        .get(&crate::state::IndexUid(uid.clone()))
        .ok_or_else(|| MeiliError::index_not_found(&uid))?;
    let key = match id.parse::<i128>() {
        Ok(i) => crate::placement::PrimaryKeyValue::Integer(i),
        Err(_) => crate::placement::PrimaryKeyValue::String(&id),
    };
    let shard = crate::placement::shard_for_key(&key, map.shards.len() as u32);
    let plan = plan_read(&t, &map.index, 0, &[], Some(&[shard]))
        .ok_or_else(|| MeiliError::index_not_found(&uid))?;
    let node = plan.nodes.keys().next().ok_or_else(|| {
        no_reachable_copy(format!(
            "No node holding the shard of document `{id}` is reachable."
        ))
    })?;
    let physical = &plan.physical;
    let path = match q {
        Some(q) => format!("/indexes/{physical}/documents/{id}?{q}"),
        None => format!("/indexes/{physical}/documents/{id}"),
    };
    let base = &t.nodes[node].address;
    let mut doc = s.nodes.call(base, Method::GET, &path, None).await?;
    strip_reserved(&mut doc, false);
    Ok(Json(doc))
}

/// A deletion every node of the index carries out, recorded as one `documentDeletion` task
/// (with the client's `customMetadata`, the one parameter deletions take).
async fn delete_on_every_node(
    s: &Shared,
    uid: &str,
    metadata: Option<String>,
    change: IndexChange,
    details: Value,
) -> Result<Response, ApiError> {
    Ok(task_reply(
        writer(s)
            .with_metadata(metadata)
            .broadcast(uid, TaskKind::DocumentDeletion, &[change], details)
            .await,
    ))
}

async fn delete_document(
    State(s): State<Arc<Shared>>,
    Path((uid, id)): Path<(String, String)>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let metadata = custom_metadata_only(&q)?;
    let details = json!({"providedIds": 1, "deletedDocuments": null});
    delete_on_every_node(&s, &uid, metadata, IndexChange::DeleteDocument(id), details).await
}

async fn delete_batch(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let metadata = custom_metadata_only(&q)?;
    let body = json_body(&body)?;
    let n = body.as_array().map_or(0, Vec::len);
    let details = json!({"providedIds": n, "deletedDocuments": null});
    delete_on_every_node(&s, &uid, metadata, IndexChange::DeleteBatch(body), details).await
}

async fn delete_by_filter(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let metadata = custom_metadata_only(&q)?;
    let body = json_body(&body)?;
    let filter = body.get("filter").map(Value::to_string);
    let details = json!({"providedIds": 0, "deletedDocuments": null, "originalFilter": filter});
    delete_on_every_node(
        &s,
        &uid,
        metadata,
        IndexChange::DeleteByFilter(body),
        details,
    )
    .await
}

/// `DELETE /indexes/{uid}/documents`: every document, on every node.
async fn delete_all(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    let metadata = custom_metadata_only(&q)?;
    let details = json!({"deletedDocuments": null});
    delete_on_every_node(&s, &uid, metadata, IndexChange::DeleteAllDocuments, details).await
}
