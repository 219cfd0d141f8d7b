//! The node's state behind one lock (indexes, the task queue, keys, features), authorization, and
//! request bodies read with Meilisearch's size and content-type errors.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::Notify;

use crate::devnode::keys::Keys;
use crate::devnode::store::{Store, TaskOp};
use crate::devnode::tasks::TaskQueue;
use crate::meili::error::MeiliError;

/// Everything the server knows, behind one lock held only for short, non-async sections.
pub struct StateInner {
    pub store: Store,
    pub tasks: TaskQueue,
    pub keys: Keys,
    pub features: crate::devnode::features::Features,
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
        let empty = self.bytes.iter().all(u8::is_ascii_whitespace);
        match &self.content_type {
            Some(ct) if !empty && !ct.starts_with("application/json") => {
                let mut e = MeiliError::invalid(
                    "invalid_content_type",
                    format!("The Content-Type `{ct}` is invalid. Accepted values for the Content-Type header are: `application/json`"),
                );
                e.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
                return Err(e);
            }
            _ => {}
        }
        crate::meili::error::json_body(&self.bytes)
    }
}
