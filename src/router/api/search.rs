//! `/indexes/{uid}/search`, by POST and by GET.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::router::read::search::run_search;
use crate::router::reply::degraded;

pub(in crate::router) async fn search_post(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Response {
    let client = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            return MeiliError::malformed("json", format!("expected an object, found {other}"))
                .into_response()
        }
        Err(e) => return MeiliError::malformed("json", e).into_response(),
    };
    search(&s, uid, client).await
}

pub(in crate::router) async fn search_get(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Response {
    // Read as Meilisearch reads them, so every parameter reaches the nodes with its type.
    match crate::meili::search_params::from_params(&params) {
        Ok(Value::Object(client)) => search(&s, uid, client).await,
        Ok(_) => MeiliError::bad_request("search parameters must form an object").into_response(),
        Err(e) => e.into_response(),
    }
}

async fn search(s: &Shared, uid: String, client: Map<String, Value>) -> Response {
    match run_search(s, &uid, &client).await {
        Ok((body, missing)) => degraded(Json(body).into_response(), &missing),
        Err(e) => e.into_response(),
    }
}
