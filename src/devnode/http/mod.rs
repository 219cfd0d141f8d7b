//! The HTTP surface (axum 0.8): the route table of the Meilisearch API subset Miroir uses.
//!
//! # Layout
//! - [`system`]: health, version, stats, tasks and keys.
//! - [`indexes`]: index lifecycle, settings, search, facet search and multi-search.
//! - [`documents`]: document routes and payloads (JSON, NDJSON, CSV).
//! - [`features`]: the experimental features toggled at runtime.

pub mod documents;
pub mod features;
pub mod indexes;
pub mod system;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

use crate::devnode::node::Shared;
use system::{
    create_key, delete_key, get_key, get_task, health, list_keys, list_tasks, stats, update_key,
    version,
};

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
            get(features::get).patch(features::patch),
        )
        .route("/network", get(features::network))
        .route("/multi-search", post(indexes::multi_search))
        .route("/indexes", get(indexes::list).post(indexes::create))
        .route(
            "/indexes/{uid}",
            get(indexes::get_one)
                .patch(indexes::update)
                .delete(indexes::delete),
        )
        .route("/indexes/{uid}/stats", get(indexes::stats))
        .route("/indexes/{uid}/compact", post(indexes::compact))
        .route(
            "/indexes/{uid}/search",
            get(indexes::search_get).post(indexes::search_post),
        )
        .route("/indexes/{uid}/facet-search", post(indexes::facet_search))
        .route("/indexes/{uid}/fields", post(indexes::fields))
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
