//! `/indexes/{uid}/search`, by POST and by GET.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{Map, Value};

use crate::meili::MeiliError;
use crate::router::auth::tenant::{restrict, Tenant};
use crate::router::context::Shared;
use crate::router::read::search::run_search;
use crate::router::reply::{degraded, ApiError};

pub(in crate::router) async fn search_post(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    tenant: Tenant,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let client = match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(m)) => m,
        Ok(other) => {
            let found = format!("expected an object, found {other}");
            return Err(MeiliError::malformed("json", found).into());
        }
        Err(e) => return Err(MeiliError::malformed("json", e).into()),
    };
    search(&s, uid, client, &tenant).await
}

pub(in crate::router) async fn search_get(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    tenant: Tenant,
    Query(params): Query<Vec<(String, String)>>,
) -> Result<Response, ApiError> {
    // Read as Meilisearch reads them, so every parameter reaches the nodes with its type.
    match crate::meili::search_params::from_params(&params)? {
        Value::Object(client) => search(&s, uid, client, &tenant).await,
        _ => Err(MeiliError::bad_request("search parameters must form an object").into()),
    }
}

async fn search(
    s: &Shared,
    uid: String,
    mut client: Map<String, Value>,
    tenant: &Tenant,
) -> Result<Response, ApiError> {
    restrict(tenant, &uid, &mut client);
    let (body, missing) = run_search(s, &uid, &client).await?;
    Ok(degraded(Json(body).into_response(), &missing))
}
