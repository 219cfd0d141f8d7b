//! Request bodies are read whole, up to the configured limit; a larger one
//! gets Meilisearch's `payload_too_large` before any handler sees it.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::CONTENT_LENGTH;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::meili::MeiliError;

/// Meilisearch's default `--http-payload-size-limit` (100 MB).
pub const DEFAULT_LIMIT: usize = 100 * 1024 * 1024;

pub async fn limit(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return MeiliError::payload_too_large(limit).into_response();
    }
    let (parts, body) = req.into_parts();
    match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        // Chunked bodies carry no length up front: the limit is checked as they arrive.
        Err(_) => MeiliError::payload_too_large(limit).into_response(),
    }
}
