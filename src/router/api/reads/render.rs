//! `POST /render-template`: a template rendered by one node. Inline templates and inputs need
//! no index; one naming an index is sent to a node holding it (for a document given by id, the
//! node holding that document's shard), with the index's name on the nodes put in its place.

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::Value;

use crate::router::context::Shared;
use crate::router::read::one_node::some_node;
use crate::router::reply::{json_object, no_reachable_copy, ApiError};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route("/render-template", post(render))
}

async fn render(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    let mut body = Value::Object(json_object(&body)?);
    let named = ["template", "input"]
        .into_iter()
        .find_map(|part| body[part]["indexUid"].as_str().map(String::from));
    let (base, physical) = match &named {
        Some(uid) => match body["input"]["id"].as_str().map(String::from) {
            Some(id) => crate::router::api::similar::owner_of(&s, uid, &id)?,
            None => some_node(&s, uid)?,
        },
        None => {
            let t = s.cache.snapshot();
            let node = t
                .nodes
                .values()
                .find(|n| n.state.serves_reads())
                .ok_or_else(|| no_reachable_copy("No node is reachable.".into()))?;
            (node.address.clone(), String::new())
        }
    };
    if let Some(uid) = &named {
        for part in ["template", "input"] {
            if body[part]["indexUid"].as_str() == Some(uid) {
                body[part]["indexUid"] = Value::from(physical.clone());
            }
        }
    }
    let answer = s
        .nodes
        .call(&base, Method::POST, "/render-template", Some(&body))
        .await;
    // Without an index named, `physical` and the uid are both empty: nothing to rename.
    let uid = named.as_deref().unwrap_or_default();
    crate::router::read::one_node::node_answer(answer, &physical, uid).map(Json)
}
