//! `miroir-devnode`: an in-memory server that answers the subset of the Meilisearch HTTP API that
//! Miroir uses, with Meilisearch 1.50's status codes, shapes and error messages. It exists for tests
//! and demos where no Meilisearch binary can be installed; production uses real Meilisearch.
//!
//! Nothing is persisted and ranking only approximates Meilisearch's (see [`search`]); everything
//! else (errors, tasks, settings, documents, filters, facets, counts) is checked against a recording
//! of a real server by `tests/devnode.rs`.
//!
//! # Layout
//! - [`http`]: the route table and one file per resource (indexes, documents, features, and the
//!   small routes: health, version, stats, tasks, keys).
//! - [`node`]: the node's state behind one lock, authorization, request bodies.
//! - [`store`]: indexes and documents, and what each task does to them.
//! - [`tasks`]: the task queue and its listings; [`worker`] runs the tasks in order.
//! - [`settings`]: defaults, validation and merging of index settings; [`fields`]: the fields
//!   route, each field with what the settings make of it.
//! - [`filter`]: the filter grammar: its lexer, parser and evaluation against a document.
//! - [`search`]: matching and ranking, query parameters, hits, results, facets.
//! - [`keys`]: the master key and API keys; [`features`]: the experimental features.
//! - Meilisearch's own rules (errors, key grants, task filters, ...) come from [`crate::meili`],
//!   shared with the router.

pub mod features;
pub mod fields;
pub mod filter;
pub mod http;
pub mod keys;
pub mod node;
pub mod search;
pub mod settings;
pub mod store;
pub mod tasks;
pub mod worker;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// How a devnode runs.
#[derive(Debug, Clone)]
pub struct DevnodeConfig {
    /// With a master key, requests need it or an API key, as in Meilisearch; without one, all is open.
    pub master_key: Option<String>,
    /// Larger bodies get Meilisearch's `payload_too_large` (Meilisearch's default is 100 MiB).
    pub max_body_bytes: usize,
    /// How long each task waits in the queue before it runs. Real Meilisearch applies writes
    /// some time after it enqueued them; tests set this to see that gap on purpose.
    pub task_delay: std::time::Duration,
}

impl Default for DevnodeConfig {
    fn default() -> Self {
        DevnodeConfig {
            master_key: None,
            max_body_bytes: 100 * 1024 * 1024,
            task_delay: std::time::Duration::ZERO,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DevnodeError {
    #[error("the master key must not be empty")]
    EmptyMasterKey,
    #[error("the body size limit must be positive")]
    ZeroBodyLimit,
    #[error("HTTP server failed: {0}")]
    Serve(std::io::Error),
}

impl DevnodeConfig {
    pub fn validate(&self) -> Result<(), DevnodeError> {
        if self.master_key.as_deref() == Some("") {
            return Err(DevnodeError::EmptyMasterKey);
        }
        if self.max_body_bytes == 0 {
            return Err(DevnodeError::ZeroBodyLimit);
        }
        Ok(())
    }
}

/// Serves on `listener` until `shutdown` is cancelled; the task worker stops with it.
pub async fn run(
    config: DevnodeConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), DevnodeError> {
    config.validate()?;
    let node = Arc::new(node::Node::new(config.master_key, config.max_body_bytes));
    let worker = tokio::spawn(worker::work(
        node.clone(),
        config.task_delay,
        shutdown.clone(),
    ));
    if let Ok(addr) = listener.local_addr() {
        tracing::info!(%addr, "miroir-devnode listening (in-memory Meilisearch stand-in for tests and demos)");
    }
    let stop = shutdown.clone();
    let served = axum::serve(listener, http::router(node))
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await;
    shutdown.cancel();
    if let Err(e) = worker.await {
        tracing::warn!(error = %e, "task worker ended abnormally");
    }
    served.map_err(DevnodeError::Serve)
}
