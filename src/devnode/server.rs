//! The HTTP surface: shared state, routes (axum 0.8), request bodies with Meilisearch's size and
//! content-type errors, authorization, and the small routes (health, version, stats, tasks, keys).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::StreamExt;
use serde_json::{json, Value};
use tokio::sync::Notify;

use super::keys::Keys;
use super::store::Store;
use super::tasks::{TaskOp, TaskQueue};
use super::{documents, indexes};
use crate::meili::error::MeiliError;
use crate::meili::params::number;
use crate::meili::stamp;
use crate::meili::task_filter::TaskFilter;

/// Everything the server knows, behind one lock held only for short, non-async sections.
pub struct StateInner {
    pub store: Store,
    pub tasks: TaskQueue,
    pub keys: Keys,
    pub features: super::features::Features,
}

pub struct Node {
    state: Mutex<StateInner>,
    /// Wakes the task worker after an enqueue.
    pub wake: Notify,
    max_body_bytes: usize,
}

pub type Shared = Arc<Node>;
pub type Answer = Result<Response, MeiliError>;

impl Node {
    pub fn new(master_key: Option<String>, max_body_bytes: usize) -> Self {
        Node {
            state: Mutex::new(StateInner {
                store: Store::default(),
                tasks: TaskQueue::default(),
                keys: Keys::new(master_key),
                features: Default::default(),
            }),
            wake: Notify::new(),
            max_body_bytes,
        }
    }

    /// The state; a panic in another handler does not make it unusable.
    pub fn lock(&self) -> MutexGuard<'_, StateInner> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Checks the request's key for `action` on `index`.
    pub fn authorize(
        &self,
        headers: &HeaderMap,
        action: &str,
        index: Option<&str>,
    ) -> Result<(), MeiliError> {
        let header = headers
            .get(header::AUTHORIZATION)
            .and_then(|h| h.to_str().ok());
        self.lock().keys.authorize(header, action, index)
    }

    /// Enqueues a task and answers `202 Accepted` with its summary.
    pub fn enqueue(
        &self,
        index: &str,
        op: TaskOp,
        details: Option<serde_json::Map<String, Value>>,
    ) -> Response {
        let summary = self
            .lock()
            .tasks
            .enqueue_with_details(Some(index), op, details)
            .summary();
        self.wake.notify_one();
        (StatusCode::ACCEPTED, Json(summary)).into_response()
    }
}

/// A request body read up to the configured limit, with its content type.
pub struct Body {
    pub bytes: Vec<u8>,
    pub content_type: Option<String>,
}

impl FromRequest<Shared> for Body {
    type Rejection = MeiliError;

    async fn from_request(req: Request, node: &Shared) -> Result<Self, MeiliError> {
        let limit = node.max_body_bytes;
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(String::from);
        let declared = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|n| n > limit) {
            return Err(MeiliError::payload_too_large(limit));
        }
        let mut stream = req.into_body().into_data_stream();
        let mut bytes = Vec::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| {
                MeiliError::bad_request(format!("Failed to read the request body: {e}"))
            })?;
            if bytes.len() + chunk.len() > limit {
                return Err(MeiliError::payload_too_large(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Body {
            bytes,
            content_type,
        })
    }
}

impl Body {
    /// The body as JSON, for routes that only take JSON.
    pub fn json(&self) -> Result<Value, MeiliError> {
        if self.bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(MeiliError::invalid(
                "missing_payload",
                "A json payload is missing.",
            ));
        }
        match &self.content_type {
            Some(ct) if !ct.starts_with("application/json") => {
                let mut e = MeiliError::invalid(
                    "invalid_content_type",
                    format!("The Content-Type `{ct}` is invalid. Accepted values for the Content-Type header are: `application/json`"),
                );
                e.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
                return Err(e);
            }
            _ => {}
        }
        serde_json::from_slice(&self.bytes).map_err(|e| {
            MeiliError::invalid(
                "malformed_payload",
                format!("The json payload provided is malformed. `{e}`."),
            )
        })
    }
}

/// The routes of the Meilisearch API subset Miroir uses.
pub fn router(node: Shared) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/stats", get(stats))
        .route("/tasks", get(list_tasks))
        .route("/tasks/{uid}", get(get_task))
        .route("/keys", get(list_keys).post(create_key))
        .route(
            "/keys/{key}",
            get(get_key).patch(update_key).delete(delete_key),
        )
        .route(
            "/experimental-features",
            get(super::features::get).patch(super::features::patch),
        )
        .route("/multi-search", post(indexes::multi_search))
        .route("/indexes", get(indexes::list).post(indexes::create))
        .route(
            "/indexes/{uid}",
            get(indexes::get_one)
                .patch(indexes::update)
                .delete(indexes::delete),
        )
        .route("/indexes/{uid}/stats", get(indexes::stats))
        .route(
            "/indexes/{uid}/search",
            get(indexes::search_get).post(indexes::search_post),
        )
        .route("/indexes/{uid}/facet-search", post(indexes::facet_search))
        .route(
            "/indexes/{uid}/settings",
            get(indexes::get_settings)
                .patch(indexes::update_settings)
                .delete(indexes::reset_settings),
        )
        .route(
            "/indexes/{uid}/settings/{name}",
            get(indexes::get_setting)
                .put(indexes::update_setting)
                .patch(indexes::update_setting)
                .post(indexes::update_setting)
                .delete(indexes::reset_setting),
        )
        .route(
            "/indexes/{uid}/documents",
            get(documents::list)
                .post(documents::replace)
                .put(documents::update)
                .delete(documents::clear),
        )
        .route("/indexes/{uid}/documents/fetch", post(documents::fetch))
        .route(
            "/indexes/{uid}/documents/delete-batch",
            post(documents::delete_batch),
        )
        .route(
            "/indexes/{uid}/documents/delete",
            post(documents::delete_by_filter),
        )
        .route(
            "/indexes/{uid}/documents/{id}",
            get(documents::get_one).delete(documents::delete_one),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(node)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "available"}))
}

async fn version(State(node): State<Shared>, headers: HeaderMap) -> Answer {
    node.authorize(&headers, "version", None)?;
    Ok(Json(json!({
        "commitSha": "unknown",
        "commitDate": "unknown",
        "pkgVersion": "1.50.0",
    }))
    .into_response())
}

async fn stats(State(node): State<Shared>, headers: HeaderMap) -> Answer {
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

async fn list_tasks(
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

async fn get_task(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    node.authorize(&headers, "tasks.get", None)?;
    let n: u64 = uid.parse().map_err(|_| {
        MeiliError::invalid("invalid_task_uids", format!("Invalid value in parameter `taskUid`: could not parse `{uid}` as a positive integer"))
    })?;
    let state = node.lock();
    let task = state
        .tasks
        .get(n)
        .ok_or_else(|| MeiliError::task_not_found(&uid))?;
    Ok(Json(task.to_json()).into_response())
}

async fn list_keys(
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

async fn create_key(State(node): State<Shared>, headers: HeaderMap, body: Body) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.create", None)?;
    let body = body.json()?;
    let key = node.lock().keys.create(&body)?;
    Ok((StatusCode::CREATED, Json(key)).into_response())
}

async fn get_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.get", None)?;
    Ok(Json(node.lock().keys.get(&key)?).into_response())
}

async fn update_key(
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

async fn delete_key(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Answer {
    node.lock().keys.require_master()?;
    node.authorize(&headers, "keys.delete", None)?;
    node.lock().keys.delete(&key)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
