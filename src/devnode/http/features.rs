//! `/experimental-features`: reading and changing the runtime toggles.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::Value;

use crate::devnode::node::{Answer, Body, Shared};

pub async fn get(State(node): State<Shared>, headers: HeaderMap) -> Answer {
    node.authorize(&headers, "experimental.get", None)?;
    let all = Value::Object(node.lock().features.0.clone());
    Ok(Json(all).into_response())
}

pub async fn patch(State(node): State<Shared>, headers: HeaderMap, body: Body) -> Answer {
    node.authorize(&headers, "experimental.update", None)?;
    let body = body.json()?;
    let all = node.lock().features.update(&body)?;
    Ok(Json(all).into_response())
}

/// `GET /network`: a node in no network, once the `network` feature is on.
pub async fn network(State(node): State<Shared>, headers: HeaderMap) -> Answer {
    node.authorize(&headers, "network.get", None)?;
    if !node.lock().features.enabled("network") {
        return Err(crate::meili::MeiliError::invalid(
            "feature_not_enabled",
            "Using the /network route requires enabling the `network` experimental feature. See https://github.com/orgs/meilisearch/discussions/805",
        ));
    }
    let none = serde_json::json!({"self": null, "remotes": {}, "shards": {}, "leader": null,
        "version": "00000000-0000-0000-0000-000000000000"});
    Ok(Json(none).into_response())
}
