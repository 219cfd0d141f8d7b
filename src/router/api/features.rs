//! `/experimental-features`: read from one node, changed on every node, so
//! that whichever node answers a request has the same features on.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::Value;

use crate::meili::MeiliError;
use crate::router::api::keys::{from_one, on_every_node, partially_applied};
use crate::router::context::Shared;
use crate::router::reply::json_object;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new().route(
        "/experimental-features",
        get(get_features).patch(patch_features),
    )
}

async fn get_features(State(s): State<Arc<Shared>>) -> Response {
    from_one(&s, "/experimental-features").await
}

async fn patch_features(State(s): State<Arc<Shared>>, body: Bytes) -> Response {
    let body = match json_object(&body) {
        Ok(o) => Value::Object(o),
        Err(e) => return e.into_response(),
    };
    let answers =
        match on_every_node(&s, Method::PATCH, "/experimental-features", Some(&body)).await {
            Ok(a) => a,
            Err(r) => return r,
        };
    if let Some(bad) = partially_applied("The experimental features change", &answers) {
        return bad;
    }
    let first = &answers[0];
    if let Some(other) = answers.iter().find(|a| a.2 != first.2) {
        return MeiliError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "miroir_nodes_disagree",
            "system",
            format!(
                "After the change, nodes `{}` and `{}` report different experimental features (are they running different Meilisearch versions?).",
                first.0, other.0
            ),
        )
        .into_response();
    }
    match &first.2 {
        Ok(v) => Json(v.clone()).into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}
