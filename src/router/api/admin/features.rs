//! `/experimental-features`: read from one node, changed on every node, so
//! that whichever node answers a request has the same features on.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::Value;

use crate::meili::MeiliError;
use crate::router::api::all_nodes::{all_applied, from_one, on_every_node};
use crate::router::context::Shared;
use crate::router::reply::{json_object, ApiError};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/experimental-features",
        get(get_features).patch(patch_features),
    )
}

async fn get_features(State(s): State<Arc<Shared>>) -> Result<Json<Value>, ApiError> {
    Ok(Json(from_one(&s, "/experimental-features").await?))
}

async fn patch_features(
    State(s): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let body = Value::Object(json_object(&body)?);
    let answers = on_every_node(&s, Method::PATCH, "/experimental-features", Some(&body)).await?;
    all_applied("The experimental features change", &answers)?;
    let first = &answers[0];
    if let Some(other) = answers.iter().find(|a| a.2 != first.2) {
        return Err(MeiliError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "miroir_nodes_disagree",
            "system",
            format!(
                "After the change, nodes `{}` and `{}` report different experimental features (are they running different Meilisearch versions?).",
                first.0, other.0
            ),
        )
        .into());
    }
    // Every node answered (all_applied), and alike.
    Ok(Json(first.2.clone().unwrap_or_default()))
}
