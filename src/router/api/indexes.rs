//! Index, settings and deletion routes. Reads come from one live node (every
//! node holds the same index definition and settings); changes go to all of
//! them through [`Writer::broadcast`]. `_miroir_shard` stays filterable
//! whatever the client sets, and is never shown.

use std::sync::Arc;

use axum::extract::{Path, Query, RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{json, Value};

use crate::meili::reserved::SHARD_FIELD;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::read::merge::strip_reserved;
use crate::router::read::plan::plan_read;
use crate::router::reply::{accepted, json_body, task_reply, write_error};
use crate::router::write::writer::WriteError;
use crate::state::{IndexUid, ShardId};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/indexes/{uid}",
            get(get_index).patch(update_index).delete(delete_index),
        )
        .route(
            "/indexes/{uid}/settings",
            get(get_settings)
                .patch(patch_settings)
                .delete(reset_settings),
        )
        .route(
            "/indexes/{uid}/settings/{name}",
            get(get_setting)
                .put(set_setting)
                .patch(set_setting)
                .delete(reset_setting),
        )
        .route(
            "/indexes/{uid}/documents/{id}",
            get(get_document).delete(delete_document),
        )
        .route(
            "/indexes/{uid}/documents/delete",
            axum::routing::post(delete_by_filter),
        )
        .route(
            "/indexes/{uid}/documents/delete-batch",
            axum::routing::post(delete_batch),
        )
}

/// One live node holding `uid` (the replica of shard 0 a read would pick).
fn some_node(s: &Shared, uid: &str) -> Result<String, MeiliError> {
    let t = s.cache.snapshot();
    let plan = plan_read(&t, &IndexUid(uid.to_string()), 0, &[], Some(&[ShardId(0)]))
        .ok_or_else(|| MeiliError::index_not_found(uid))?;
    let node = plan.nodes.keys().next().ok_or_else(|| {
        MeiliError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "miroir_shard_unavailable",
            "system",
            format!("No node of index `{uid}` is reachable."),
        )
    })?;
    Ok(t.nodes[node].address.clone())
}

/// Passes a node's answer (or error) through to the client.
async fn read_from_node(s: &Shared, uid: &str, path: &str) -> Result<Value, Response> {
    let base = some_node(s, uid).map_err(IntoResponse::into_response)?;
    s.nodes
        .call(&base, Method::GET, path, None)
        .await
        .map_err(node_failure)
}

fn node_failure(e: crate::fleet::NodeError) -> Response {
    match e {
        crate::fleet::NodeError::Refused { status, body } => (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_GATEWAY),
            Json(body),
        )
            .into_response(),
        other => MeiliError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "miroir_node_unreachable",
            "system",
            other.to_string(),
        )
        .into_response(),
    }
}

/// Removes `_miroir_shard` from a filterable-attributes list.
fn hide_shard_field(list: &mut Value) {
    if let Some(items) = list.as_array_mut() {
        items.retain(|v| v != SHARD_FIELD);
    }
}

/// Makes sure a filterable-attributes value the client sends keeps `_miroir_shard`.
fn keep_shard_field(list: &mut Value) {
    match list {
        Value::Array(items) if !items.iter().any(|v| v == SHARD_FIELD) => {
            items.push(Value::from(SHARD_FIELD))
        }
        Value::Null => *list = json!([SHARD_FIELD]),
        _ => {}
    }
}

async fn get_index(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    match describe(&s, &uid).await {
        Ok(v) => Json(v).into_response(),
        Err(r) => r,
    }
}

/// An index as one node describes it. A node that has received no document
/// yet may not know the primary key the coordinators fixed: theirs is shown.
async fn describe(s: &Shared, uid: &str) -> Result<Value, Response> {
    let mut v = read_from_node(s, uid, &format!("/indexes/{uid}")).await?;
    if v["primaryKey"].is_null() {
        if let Ok(Some(pk)) = writer(s).primary_key(uid).await {
            v["primaryKey"] = Value::from(pk);
        }
    }
    Ok(v)
}

/// `GET /indexes`: the coordinators' indexes, each described by one of its nodes.
pub async fn list_indexes(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Response {
    let num = |k: &str, d: usize| {
        q.iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(d)
    };
    let (offset, limit) = (num("offset", 0), num("limit", 20));
    let uids: Vec<String> = s
        .cache
        .snapshot()
        .maps
        .keys()
        .map(|k| k.0.clone())
        .collect();
    let mut results = vec![];
    for uid in uids.iter().skip(offset).take(limit) {
        match describe(&s, uid).await {
            Ok(v) => results.push(v),
            Err(r) => return r,
        }
    }
    Json(json!({"results": results, "offset": offset, "limit": limit, "total": uids.len()}))
        .into_response()
}

async fn update_index(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    if let Some(pk) = body.get("primaryKey").and_then(Value::as_str) {
        if let Err(e) = writer(&s).set_primary_key(&uid, pk).await {
            return e.into_response();
        }
    }
    let req = [(Method::PATCH, format!("/indexes/{uid}"), Some(body.clone()))];
    task_reply(writer(&s).broadcast(&uid, "indexUpdate", &req, body).await)
}

/// Deleting an index is fenced like a cutover (DESIGN section 5): writes
/// are held in every router, in-flight ones settle, then the nodes drop the
/// index and the coordinators forget it.
async fn delete_index(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let w = writer(&s);
    if let Err(e) = w.fence_for_deletion(&uid).await {
        return e.into_response();
    }
    let req = [(Method::DELETE, format!("/indexes/{uid}"), None)];
    let task = match w
        .broadcast(
            &uid,
            "indexDeletion",
            &req,
            json!({"deletedDocuments": null}),
        )
        .await
    {
        Ok(t) => t,
        Err(e) => return write_error(e),
    };
    if task.status == "failed" {
        return accepted(&task);
    }
    match w.forget_index(&uid).await {
        Ok(()) => accepted(&task),
        Err(e) => e.into_response(),
    }
}

async fn get_settings(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    match read_from_node(&s, &uid, &format!("/indexes/{uid}/settings")).await {
        Ok(mut v) => {
            hide_shard_field(&mut v["filterableAttributes"]);
            Json(v).into_response()
        }
        Err(r) => r,
    }
}

async fn patch_settings(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let mut body = match json_body(&body) {
        Ok(b @ Value::Object(_)) => b,
        Ok(_) => return MeiliError::malformed("json", "expected an object").into_response(),
        Err(e) => return e.into_response(),
    };
    let details = body.clone();
    if let Some(f) = body.get_mut("filterableAttributes") {
        keep_shard_field(f);
    }
    let req = [(
        Method::PATCH,
        format!("/indexes/{uid}/settings"),
        Some(body),
    )];
    task_reply(
        writer(&s)
            .broadcast(&uid, "settingsUpdate", &req, details)
            .await,
    )
}

/// Resetting settings also resets filterable attributes: put `_miroir_shard` back.
fn restore_shard_field(uid: &str) -> (Method, String, Option<Value>) {
    (
        Method::PATCH,
        format!("/indexes/{uid}/settings"),
        Some(json!({"filterableAttributes": [SHARD_FIELD]})),
    )
}

async fn reset_settings(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let req = [
        (Method::DELETE, format!("/indexes/{uid}/settings"), None),
        restore_shard_field(&uid),
    ];
    task_reply(
        writer(&s)
            .broadcast(&uid, "settingsUpdate", &req, json!({}))
            .await,
    )
}

async fn get_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
) -> Response {
    match read_from_node(&s, &uid, &format!("/indexes/{uid}/settings/{name}")).await {
        Ok(mut v) => {
            if name == "filterable-attributes" {
                hide_shard_field(&mut v);
            }
            Json(v).into_response()
        }
        Err(r) => r,
    }
}

async fn set_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
    method: axum::http::Method,
    body: axum::body::Bytes,
) -> Response {
    let mut body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let details = body.clone();
    if name == "filterable-attributes" {
        keep_shard_field(&mut body);
    }
    let m = if method == axum::http::Method::PUT {
        Method::PUT
    } else {
        Method::PATCH
    };
    let req = [(m, format!("/indexes/{uid}/settings/{name}"), Some(body))];
    task_reply(
        writer(&s)
            .broadcast(&uid, "settingsUpdate", &req, details)
            .await,
    )
}

async fn reset_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
) -> Response {
    let mut req = vec![(
        Method::DELETE,
        format!("/indexes/{uid}/settings/{name}"),
        None,
    )];
    if name == "filterable-attributes" {
        req.push(restore_shard_field(&uid));
    }
    task_reply(
        writer(&s)
            .broadcast(&uid, "settingsUpdate", &req, json!({}))
            .await,
    )
}

async fn get_document(
    State(s): State<Arc<Shared>>,
    Path((uid, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
) -> Response {
    // The shard of the id decides which nodes hold the document.
    let t = s.cache.snapshot();
    let Some(map) = t.maps.get(&IndexUid(uid.clone())) else {
        return MeiliError::index_not_found(&uid).into_response();
    };
    let key = match id.parse::<i128>() {
        Ok(i) => crate::placement::PrimaryKeyValue::Integer(i),
        Err(_) => crate::placement::PrimaryKeyValue::String(&id),
    };
    let shard = crate::placement::shard_for_key(&key, map.shards.len() as u32);
    let Some(plan) = plan_read(&t, &map.index, 0, &[], Some(&[shard])) else {
        return MeiliError::index_not_found(&uid).into_response();
    };
    let Some(node) = plan.nodes.keys().next() else {
        let msg = format!("No node holding the shard of document `{id}` is reachable.");
        return MeiliError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "miroir_shard_unavailable",
            "system",
            msg,
        )
        .into_response();
    };
    let path = match q {
        Some(q) => format!("/indexes/{uid}/documents/{id}?{q}"),
        None => format!("/indexes/{uid}/documents/{id}"),
    };
    match s
        .nodes
        .call(&t.nodes[node].address, Method::GET, &path, None)
        .await
    {
        Ok(mut doc) => {
            strip_reserved(&mut doc, false);
            Json(doc).into_response()
        }
        Err(e) => node_failure(e),
    }
}

async fn delete_document(
    State(s): State<Arc<Shared>>,
    Path((uid, id)): Path<(String, String)>,
) -> Response {
    let req = [(
        Method::DELETE,
        format!("/indexes/{uid}/documents/{id}"),
        None,
    )];
    task_reply(
        writer(&s)
            .broadcast(
                &uid,
                "documentDeletion",
                &req,
                json!({"providedIds": 1, "deletedDocuments": null}),
            )
            .await,
    )
}

async fn delete_batch(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let n = body.as_array().map_or(0, Vec::len);
    let req = [(
        Method::POST,
        format!("/indexes/{uid}/documents/delete-batch"),
        Some(body),
    )];
    task_reply(
        writer(&s)
            .broadcast(
                &uid,
                "documentDeletion",
                &req,
                json!({"providedIds": n, "deletedDocuments": null}),
            )
            .await,
    )
}

async fn delete_by_filter(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let details = json!({"providedIds": 0, "deletedDocuments": null, "originalFilter": body.get("filter").map(Value::to_string)});
    let req = [(
        Method::POST,
        format!("/indexes/{uid}/documents/delete"),
        Some(body),
    )];
    task_reply(
        writer(&s)
            .broadcast(&uid, "documentDeletion", &req, details)
            .await,
    )
}

/// `DELETE /indexes/{uid}/documents`: every document, on every node.
pub async fn delete_all(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    _q: Query<Vec<(String, String)>>,
) -> Response {
    let req = [(Method::DELETE, format!("/indexes/{uid}/documents"), None)];
    task_reply(
        writer(&s)
            .broadcast(
                &uid,
                "documentDeletion",
                &req,
                json!({"deletedDocuments": null}),
            )
            .await,
    )
}

pub(in crate::router) async fn create_index(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let Some(uid) = body.get("uid").and_then(Value::as_str) else {
        return MeiliError::invalid("missing_index_uid", "Missing field `uid`").into_response();
    };
    let pk = body
        .get("primaryKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    match writer(&s).create_index(uid, pk).await {
        // The body's field is named, as Meilisearch does for `POST /indexes`.
        Err(WriteError::Meili(mut e)) if e.code == "invalid_index_uid" => {
            e.message = format!("Invalid value at `.uid`: {}", e.message);
            e.into_response()
        }
        r => task_reply(r),
    }
}
