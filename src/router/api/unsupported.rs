//! Meilisearch routes a router refuses, each with a Meilisearch-shaped error that says why
//! (rather than a bare 404 an SDK cannot explain), and `/network`, answered as a Meilisearch
//! that is in no network answers. docs/router.md lists each with its reason.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use serde_json::Value;

use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::router::reply::ApiError;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/network", get(get_network).patch(change_network))
        .route("/dumps", post(dumps))
        .route("/snapshots", post(snapshots))
        .route("/export", post(export))
        .route("/indexes/{uid}/documents/edit", post(edit_documents))
        .route("/dynamic-search-rules", any(dynamic_search_rules))
        .route("/dynamic-search-rules/{*rest}", any(dynamic_search_rules))
        .route("/chats", any(chats))
        .route("/chats/{*rest}", any(chats))
        .route("/logs/{*rest}", any(logs))
        .route("/metrics", get(metrics))
        .route("/tasks/compact", post(task_queue_compaction))
        .route("/tasks/{uid}/documents", get(task_documents))
}

/// 400 `miroir_unsupported_feature`, like federated multi-search: the request
/// is valid Meilisearch, but repeating it will not help.
pub fn unsupported(message: &str) -> Response {
    MeiliError::invalid("miroir_unsupported_feature", message).into_response()
}

/// `GET /network`: Miroir's nodes are in no Meilisearch network, so any node
/// answers as such (or says the `network` feature is off).
async fn get_network(State(s): State<Arc<Shared>>) -> Result<Json<Value>, ApiError> {
    let t = s.cache.snapshot();
    let node = t
        .nodes
        .values()
        .find(|n| n.state.serves_reads())
        .ok_or_else(|| crate::router::reply::no_reachable_copy("No node is reachable.".into()))?;
    match s
        .nodes
        .call(&node.address, reqwest::Method::GET, "/network", None)
        .await
    {
        Ok(v) => Ok(Json(v)),
        Err(crate::fleet::NodeError::Refused { status, body }) => {
            Err(ApiError::Node { status, body })
        }
        Err(e) => Err(e.into()),
    }
}

async fn change_network() -> Response {
    unsupported("Miroir does not join its nodes into a Meilisearch network: Miroir is the layer that shards and replicates them, and remotes or Meilisearch shards configured underneath it would search and write behind the coordinators' back. Configure the cluster with miroir-ctl instead.")
}

async fn dumps() -> Response {
    unsupported("Miroir does not make dumps: a node's dump would hold only its own shards, with Miroir's reserved fields, and importing it into a Meilisearch would not give the index back. Export documents through a router (GET /indexes/{uid}/documents) or back up each node's data directory and the coordinators.")
}

async fn snapshots() -> Response {
    unsupported("Miroir does not make snapshots through a router: a node's snapshot holds only its own shards. Take each node's snapshot on the node, together with a coordinator snapshot (miroir-ctl), to back the cluster up.")
}

async fn export() -> Response {
    unsupported("Miroir does not export to another Meilisearch: each node would send only its own shards, with Miroir's reserved fields. Read the documents through a router and write them to the target instead.")
}

async fn edit_documents() -> Response {
    unsupported("Miroir does not run document edition functions: a function runs on each node without Miroir's document versions, so copies could no longer be compared and repaired. Fetch, change and write the documents back through a router instead.")
}

async fn dynamic_search_rules() -> Response {
    unsupported("Miroir does not support dynamic search rules: a rule pins documents at positions in one node's results, and those positions do not survive merging the results of every shard.")
}

async fn chats() -> Response {
    unsupported("Miroir does not serve chat completions: they search one index on one Meilisearch, which holds only some of the shards here.")
}

async fn logs() -> Response {
    unsupported("Miroir does not stream or reconfigure node logs through a router: each node and each router logs on its own; read them where each process runs.")
}

async fn metrics() -> Response {
    unsupported("A router serves its Prometheus metrics on its own address (--metrics-listen), not on the Meilisearch API; each node serves its own.")
}

async fn task_queue_compaction() -> Response {
    unsupported("Miroir's tasks are kept by the coordinators, which keep only the newest task_retention records on their own (miroir-ctl config set task_retention N); node task queues are the nodes' own.")
}

async fn task_documents() -> Response {
    unsupported("A Miroir task's documents were split over several nodes' tasks and are not kept together; read the documents through a router instead.")
}
