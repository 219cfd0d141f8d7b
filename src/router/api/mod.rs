//! The router's HTTP API: Meilisearch's routes, answered from the cached topology and the nodes,
//! one file per resource. Here: the route table, health, version and task lookup.
//!
//! # Layout
//! Route files are grouped in [`reads`], [`writes`] and [`admin`]; each is re-exported here.
//! - [`search`]: `/indexes/{uid}/search`, by POST and by GET.
//! - [`documents`]: document writes (JSON, NDJSON, CSV), one document, deletions.
//! - [`indexes`]: `/indexes` and `/indexes/{uid}`: creation, description, update, deletion.
//! - [`similar`]: `/indexes/{uid}/similar`, by the reference document's vector on every shard.
//! - [`render`]: `/render-template`, rendered by a node holding what the template names.
//! - [`settings`]: index settings, whole and one by one.
//! - [`listings`]: listings across shards: documents, stats, tasks.
//! - [`multi_search`]: multi-search and facet search.
//! - [`fields`]: `/indexes/{uid}/fields`, merged over one copy of every shard.
//! - [`keys`]: `/keys`, the same keys on every node.
//! - [`features`]: `/experimental-features`, the same on every node.
//! - [`batches`]: `/batches`, one batch per Miroir task.
//! - [`tasks`]: task cancelation and (refused) task deletion.
//! - [`unsupported`]: routes Miroir does not serve yet.
//! - [`webhooks`]: `/webhooks`, kept by the coordinators.
//! - [`body_limit`]: Meilisearch's payload size limit on request bodies.
//! - [`all_nodes`]: reads from any node and changes every node carries out (keys, features).

pub mod admin;
pub mod body_limit;
pub mod reads;
pub mod unsupported;
pub mod writes;

// Each route file is also reachable under its own name.
pub use admin::{all_nodes, batches, features, keys, tasks, webhooks};
pub use reads::{fields, listings, multi_search, render, search, similar};
pub use writes::{documents, indexes, settings};

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};

pub fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route(
            "/indexes/{uid}/search",
            get(search::search_get).post(search::search_post),
        )
        .route("/tasks/{uid}", get(get_task))
        .merge(indexes::routes())
        .merge(settings::routes())
        .merge(documents::routes())
        .merge(crate::router::api::listings::routes())
        .merge(crate::router::api::multi_search::routes())
        .merge(crate::router::api::keys::routes())
        .merge(webhooks::routes())
        .merge(crate::router::api::features::routes())
        .merge(crate::router::api::batches::routes())
        .merge(crate::router::api::tasks::routes())
        .merge(crate::router::api::unsupported::routes())
        .merge(fields::routes())
        .merge(similar::routes())
        .merge(render::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.max_payload_bytes,
            crate::router::api::body_limit::limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(
            crate::router::routed_epoch::layer,
        ))
        // Outermost: nothing runs for a request its key does not allow.
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            crate::router::auth::check,
        ))
        .with_state(shared)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "available"}))
}

async fn version() -> Result<Json<Value>, MeiliError> {
    Ok(Json(json!({
        "commitSha": "unknown",
        "commitDate": "unknown",
        "pkgVersion": env!("CARGO_PKG_VERSION"),
    })))
}

async fn get_task(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, MeiliError> {
    let uid = crate::meili::params::uid_in_path("Task", "invalid_task_uids", &uid)?;
    Ok(Json(
        crate::router::tasks::lookup::lookup(&writer(&s), crate::state::TaskUid(uid)).await?,
    ))
}
