//! Meilisearch routes Miroir does not serve yet, answered with a Meilisearch-
//! shaped error that says why, rather than a bare 404 an SDK cannot explain.

use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;

use crate::meili::MeiliError;
use crate::router::context::Shared;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/swap-indexes", post(swap_indexes))
}

/// 400 `miroir_unsupported_feature`, like federated multi-search: the request
/// is valid Meilisearch, but repeating it will not help.
pub fn unsupported(message: &str) -> Response {
    MeiliError::invalid("miroir_unsupported_feature", message).into_response()
}

async fn swap_indexes() -> Response {
    unsupported("Miroir does not yet support index swaps: each index's shards live on different nodes under their own shard map, and swapping two indexes would need a fenced cutover of both maps at once. Swap them in the client, for example by switching the index uid it uses.")
}
