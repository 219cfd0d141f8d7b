//! The small routes: health, version, stats, the task list and one task, and API keys.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::devnode::node::{Answer, Body, Shared};
use crate::meili::error::MeiliError;
use crate::meili::params::{number, uid_in_path};
use crate::meili::stamp;
use crate::meili::task_filter::TaskFilter;

pub(super) async fn health() -> Json<Value> {
    Json(json!({"status": "available"}))
}

pub(super) async fn version(State(node): State<Shared>, headers: HeaderMap) -> Answer {
    node.authorize(&headers, "version", None)?;
    Ok(Json(json!({
        "commitSha": "unknown",
        "commitDate": "unknown",
        "pkgVersion": "1.50.0",
    }))
    .into_response())
}

pub(super) async fn stats(State(node): State<Shared>, headers: HeaderMap) -> Answer {
    node.authorize(&headers, "stats.get", None)?;
    let state = node.lock();
    let mut indexes = serde_json::Map::new();
    let mut size = 0;
    for (uid, index) in &state.store.indexes {
        let s = index.stats(state.tasks.is_indexing(uid));
        size += s["rawDocumentDbSize"].as_u64().unwrap_or(0);
        indexes.insert(uid.clone(), s);
    }
    Ok(Json(json!({
        "databaseSize": size,
        "usedDatabaseSize": size,
        "lastUpdate": state.tasks.last_update.map(stamp::rfc3339),
        "indexes": indexes,
    }))
    .into_response())
}

pub(super) async fn list_tasks(
    State(node): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    node.authorize(&headers, "tasks.get", None)?;
    let (filter, rest) = TaskFilter::parse(&params, &["limit", "from", "reverse"])?;
    let limit = number(&rest, "limit", "invalid_task_limit")?.unwrap_or(20) as usize;
    let from = number(&rest, "from", "invalid_task_from")?;
    let reverse = match rest.iter().find(|(k, _)| *k == "reverse").map(|(_, v)| v.as_str()) {
        None | Some("false") => false,
        Some("true") => true,
        Some(v) => {
            return Err(MeiliError::invalid(
                "invalid_task_reverse",
                format!("Invalid value in parameter `reverse`: could not parse `{v}` as a boolean, expected either `true` or `false`"),
            ))
        }
    };
    Ok(Json(node.lock().tasks.list(&filter, limit, from, reverse)).into_response())
}

pub(super) async fn get_task(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    node.authorize(&headers, "tasks.get", None)?;
    let n = uid_in_path("Task", "invalid_task_uids", &uid)?;
    let state = node.lock();
    let task = state
        .tasks
        .get(n)
        .ok_or_else(|| MeiliError::task_not_found(&uid))?;
    Ok(Json(task.to_json()).into_response())
}

pub(super) async fn list_keys(
    State(node): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.get", None)?;
    let offset = number(&params, "offset", "invalid_api_key_offset")?.unwrap_or(0) as usize;
    let limit = number(&params, "limit", "invalid_api_key_limit")?.unwrap_or(20) as usize;
    Ok(Json(node.lock().keys.list(offset, limit)).into_response())
}

pub(super) async fn create_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    body: Body,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.create", None)?;
    let body = body.json()?;
    let key = node.lock().keys.create(&body)?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}

pub(super) async fn get_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.get", None)?;
    Ok(Json(node.lock().keys.get(&key)?).into_response())
}

pub(super) async fn update_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
    body: Body,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.update", None)?;
    let body = body.json()?;
    Ok(Json(node.lock().keys.update(&key, &body)?).into_response())
}

pub(super) async fn delete_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.delete", None)?;
    node.lock().keys.delete(&key)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
