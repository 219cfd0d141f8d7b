//! `/indexes` and `/indexes/{uid}`: indexes are registered with the coordinators, described by one
//! of their nodes, and changed or deleted on every node through [`Writer::broadcast`].
//!
//! [`Writer::broadcast`]: crate::router::write::writer::Writer

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::fleet::IndexChange;
use crate::meili::index_swap::Swap;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::read::one_node::read_from_node;
use crate::router::reply::{accepted, json_body, task_reply, ApiError};
use crate::router::write::writer::{Outcome, WriteError};
use crate::state::TaskKind;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/indexes", get(list_indexes).post(create_index))
        .route(
            "/indexes/{uid}",
            get(get_index).patch(update_index).delete(delete_index),
        )
        .route("/indexes/{uid}/compact", axum::routing::post(compact_index))
        .route("/swap-indexes", axum::routing::post(swap_indexes))
}

/// `POST /indexes/{uid}/compact`: every copy compacted by its node, as one
/// `indexCompaction` task (its sizes are the first node's copy's).
async fn compact_index(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let change = [crate::fleet::IndexChange::Compact];
    let details = json!({"preCompactionSize": null, "postCompactionSize": null});
    task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::IndexCompaction, &change, details)
            .await,
    )
}

async fn get_index(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(describe(&s, &uid).await?))
}

/// An index as one node describes it. A node that has received no document
/// yet may not know the primary key the coordinators fixed: theirs is shown.
/// A node that lacks the index, or does not answer, does not make the index
/// vanish: the coordinators' record describes it, and the disagreement is
/// logged and counted (`miroir_router_index_disagreements_total`).
async fn describe(s: &Shared, uid: &str) -> Result<Value, ApiError> {
    let mut v = match read_from_node(s, uid, "").await {
        Ok(v) => v,
        // Not an index the coordinators know: Meilisearch's 404.
        Err(ApiError::Meili(e)) if e.code == "index_not_found" => return Err(ApiError::Meili(e)),
        Err(node) => {
            let Ok(d) = s.control.describe_index(uid).await else {
                return Err(node);
            };
            tracing::warn!(
                index = uid,
                "a node holding the index could not describe it; the coordinators' record is shown"
            );
            metrics::counter!("miroir_router_index_disagreements_total").increment(1);
            let at = crate::meili::stamp::rfc3339(u128::from(d.index.created_at_ms) * 1_000_000);
            json!({"uid": uid, "createdAt": at, "updatedAt": at, "primaryKey": d.index.primary_key})
        }
    };
    // The node names its physical index; the client knows its own uid.
    v["uid"] = Value::from(uid);
    if v["primaryKey"].is_null() {
        if let Ok(Some(pk)) = crate::router::primary_key::current(&s.control, &s.cache, uid).await {
            v["primaryKey"] = Value::from(pk);
        }
    }
    Ok(v)
}

/// `GET /indexes`: the coordinators' indexes, each described by one of its nodes.
async fn list_indexes(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let num = |k: &str, d: usize| {
        q.iter()
            .find(|(n, _)| n == k)
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(d)
    };
    let (offset, limit) = (num("offset", 0), num("limit", 20));
    let uids: Vec<String> = s
        .cache
        .snapshot()
        .maps
        .keys()
        .map(|k| k.0.clone())
        .collect();
    let mut results = vec![];
    for uid in uids.iter().skip(offset).take(limit) {
        results.push(describe(&s, uid).await?);
    }
    Ok(Json(
        json!({"results": results, "offset": offset, "limit": limit, "total": uids.len()}),
    ))
}

/// `PATCH /indexes/{uid}`: a primary key set through the coordinators and
/// on every node, or a rename: the uid moves under a fence to the same
/// physical index (a workflow the coordinator leader runs), with the primary
/// key, if one is given too, fixed first.
async fn update_index(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let update = crate::meili::index_update::parse(&body)?;
    let w = writer(&s);
    let exists = w.writing_map(&uid).await?.is_some();
    if let Some(new) = update.uid.filter(|new| *new != uid) {
        let pk = update.primary_key;
        if let (true, Some(pk)) = (exists, &pk) {
            if let Err(e) = w.set_primary_key(&uid, pk).await {
                if e.code != "index_primary_key_already_exists" {
                    return Err(e.into());
                }
                // Meilisearch fails the task; the index keeps its name.
                let details = crate::meili::index_swap::rename_details(&uid, &new, Some(pk));
                let task = w.new_uid().await?;
                let failed = Outcome::Failed(e.in_index(&uid).to_json());
                let t = w
                    .record(task, &uid, TaskKind::IndexUpdate, failed, details)
                    .await?;
                return Ok(accepted(&t));
            }
        }
        let swap = Swap {
            lhs: uid,
            rhs: new,
            rename: true,
        };
        return Ok(accepted(&w.swap_indexes(&[swap], true, pk).await?));
    }
    let body = json!({"primaryKey": update.primary_key});
    if let (true, Some(pk)) = (exists, &update.primary_key) {
        w.set_primary_key(&uid, pk).await?;
    }
    let change = [IndexChange::UpdateIndex(body.clone())];
    let task = w
        .broadcast(&uid, TaskKind::IndexUpdate, &change, body)
        .await?;
    Ok(accepted(&task))
}

/// `POST /swap-indexes`: every pair's uids exchange their physical indexes
/// (or, with `rename`, one uid moves to a free one) in one fenced flip, so
/// no search or write sees half of it.
async fn swap_indexes(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let swaps = crate::meili::index_swap::parse(&body)?;
    Ok(accepted(
        &writer(&s).swap_indexes(&swaps, false, None).await?,
    ))
}

/// Deleting an index is a workflow the coordinator leader runs (fenced like
/// a cutover, deleted on every node, then forgotten); the client's task
/// follows it.
async fn delete_index(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Response, ApiError> {
    Ok(accepted(&writer(&s).delete_index(&uid).await?))
}

async fn create_index(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body = json_body(&body)?;
    let uid = body
        .get("uid")
        .and_then(Value::as_str)
        .ok_or_else(|| MeiliError::invalid("missing_index_uid", "Missing field `uid`"))?;
    let pk = body
        .get("primaryKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    match writer(&s).create_index(uid, pk).await {
        // The body's field is named, as Meilisearch does for `POST /indexes`.
        Err(WriteError::Meili(mut e)) if e.code == "invalid_index_uid" => {
            e.message = format!("Invalid value at `.uid`: {}", e.message);
            Err(e.into())
        }
        r => Ok(task_reply(r)),
    }
}
