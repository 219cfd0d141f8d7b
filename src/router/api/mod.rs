//! The router's HTTP API: Meilisearch's routes, answered from the cached
//! topology and the nodes. Here: the route table, health, version, index
//! creation, document writes, task lookup and search; the other routes live
//! in the `*_routes` modules.
//!
//! # Layout
//! - [`indexes`]: index, settings and deletion routes.
//! - [`listings`]: listings across shards: documents, stats, tasks.
//! - [`multi_search`]: multi-search and facet search.
//! - [`keys`]: `/keys`, the same keys on every node.
//! - [`features`]: `/experimental-features`, the same on every node.
//! - [`batches`]: `/batches`, one batch per Miroir task.
//! - [`tasks`]: task cancelation and (refused) task deletion.
//! - [`unsupported`]: routes Miroir does not serve yet.
//! - [`body_limit`]: Meilisearch's payload size limit on request bodies.

pub mod batches;
pub mod body_limit;
pub mod features;
pub mod indexes;
pub mod keys;
pub mod listings;
pub mod multi_search;
pub mod tasks;
pub mod unsupported;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::fleet::NodeClient;
use crate::meili::MeiliError;
use crate::router::control::ControlPlane;
use crate::router::read::scatter::{self, ScatterError};
use crate::router::tasks::{summary, TaskIds};
use crate::router::topology::TopologyCache;
use crate::router::write::writer::{WriteError, Writer};
use crate::state::IndexUid;

/// Names the shards a partial answer lacks.
pub const DEGRADED_HEADER: &str = "x-miroir-degraded";

pub struct Shared {
    pub cache: TopologyCache,
    pub nodes: NodeClient,
    pub control: ControlPlane,
    pub ids: TaskIds,
    pub router_id: String,
    pub master_key: Option<String>,
    /// API keys recently looked up on the nodes.
    pub api_keys: crate::router::auth::KeyCache,
    /// The lease writes are sent under.
    pub lease: Arc<crate::router::write::lease::LeaseHolder>,
    /// Bodies larger than this are refused with `payload_too_large`.
    pub max_payload_bytes: usize,
    /// Round-robin position for choosing a replica group.
    pub turn: AtomicUsize,
    /// Test-only; all off in production.
    pub unsafe_switches: crate::router::unsafe_switches::UnsafeSwitches,
}

pub fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route(
            "/indexes",
            axum::routing::post(create_index).get(crate::router::api::indexes::list_indexes),
        )
        .route("/indexes/{uid}/search", get(search_get).post(search_post))
        .route(
            "/indexes/{uid}/documents",
            axum::routing::post(add_documents)
                .put(update_documents)
                .delete(crate::router::api::indexes::delete_all)
                .get(crate::router::api::listings::list_documents),
        )
        .route("/tasks/{uid}", get(get_task))
        .merge(crate::router::api::indexes::routes())
        .merge(crate::router::api::listings::routes())
        .merge(crate::router::api::multi_search::routes())
        .merge(crate::router::api::keys::routes())
        .merge(crate::router::tasks::webhooks::routes())
        .merge(crate::router::api::features::routes())
        .merge(crate::router::api::batches::routes())
        .merge(crate::router::api::tasks::routes())
        .merge(crate::router::api::unsupported::routes())
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

pub(in crate::router) fn writer(s: &Shared) -> Writer<'_> {
    Writer {
        control: &s.control,
        nodes: &s.nodes,
        ids: &s.ids,
        router_id: &s.router_id,
        cache: &s.cache,
        lease: &s.lease,
        unsafe_switches: s.unsafe_switches,
    }
}

pub(in crate::router) fn accepted(task: &crate::pb::v1::TaskRecord) -> Response {
    (StatusCode::ACCEPTED, Json(summary(task))).into_response()
}

/// The answer to a write: its task (202), or why it was refused.
pub(in crate::router) fn task_reply(r: Result<crate::pb::v1::TaskRecord, WriteError>) -> Response {
    match r {
        Ok(t) => accepted(&t),
        Err(e) => write_error(e),
    }
}

/// A JSON object body (Meilisearch's `malformed_payload` otherwise).
pub(in crate::router) fn json_object(body: &[u8]) -> Result<Map<String, Value>, MeiliError> {
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(MeiliError::malformed("json", "expected an object")),
    }
}

pub(in crate::router) fn write_error(e: WriteError) -> Response {
    match e {
        WriteError::Meili(m) => m.into_response(),
        WriteError::Refused { status, body } => (
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            Json(body),
        )
            .into_response(),
        WriteError::NoQuorum { degraded } => {
            let err = MeiliError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "miroir_no_quorum",
                "system",
                format!("Not enough nodes acknowledged the write ({degraded}); it may be partially applied: retry it."),
            );
            let mut resp = err.into_response();
            if let Ok(v) = HeaderValue::from_str(&degraded) {
                resp.headers_mut().insert(DEGRADED_HEADER, v);
            }
            resp
        }
    }
}

pub(in crate::router) fn json_body(body: &[u8]) -> Result<Value, MeiliError> {
    serde_json::from_slice(body).map_err(|e| MeiliError::malformed("json", e))
}

async fn create_index(State(s): State<Arc<Shared>>, body: axum::body::Bytes) -> Response {
    let body = match json_body(&body) {
        Ok(b) => b,
        Err(e) => return e.into_response(),
    };
    let Some(uid) = body.get("uid").and_then(Value::as_str) else {
        return MeiliError::invalid("missing_index_uid", "Missing field `uid`").into_response();
    };
    let pk = body
        .get("primaryKey")
        .and_then(Value::as_str)
        .map(str::to_string);
    match writer(&s).create_index(uid, pk).await {
        // The body's field is named, as Meilisearch does for `POST /indexes`.
        Err(WriteError::Meili(mut e)) if e.code == "invalid_index_uid" => {
            e.message = format!("Invalid value at `.uid`: {}", e.message);
            e.into_response()
        }
        r => task_reply(r),
    }
}

async fn add_documents(
    s: State<Arc<Shared>>,
    p: Path<String>,
    q: Query<Vec<(String, String)>>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Response {
    write_documents(s, p, q, h, b, true).await
}

async fn update_documents(
    s: State<Arc<Shared>>,
    p: Path<String>,
    q: Query<Vec<(String, String)>>,
    h: HeaderMap,
    b: axum::body::Bytes,
) -> Response {
    write_documents(s, p, q, h, b, false).await
}

async fn write_documents(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
    replace: bool,
) -> Response {
    let param = |name: &str| q.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let content_type = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let delimiter = param("csvDelimiter")
        .and_then(|d| d.bytes().next())
        .unwrap_or(b',');
    let docs = match crate::meili::payload::documents(&body, content_type, delimiter) {
        Ok(d) => d.into_iter().map(Value::Object).collect(),
        Err(e) => return e.into_response(),
    };
    let pk = param("primaryKey");
    task_reply(writer(&s).write_documents(&uid, pk, docs, replace).await)
}

async fn get_task(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let Ok(uid) = uid.parse::<u64>() else {
        return MeiliError::invalid("invalid_task_uid", format!("Invalid value in parameter `taskUid`: could not parse `{uid}` as a positive integer")).into_response();
    };
    match crate::router::tasks::lookup(&writer(&s), uid).await {
        Ok(v) => Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn search_post(
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

async fn search_get(
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

/// One search over every shard: the merged answer and the shards it lacks,
/// or the response to send instead.
pub(in crate::router) async fn run_search(
    s: &Shared,
    uid: &str,
    client: &Map<String, Value>,
) -> Result<(Value, Vec<String>), Response> {
    // A router that just started answers only once it knows the shard maps.
    if !s.cache.wait_synced(std::time::Duration::from_secs(5)).await {
        let msg =
            "This router has not yet received the shard maps from the coordinators; retry shortly.";
        return Err(MeiliError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "miroir_topology_unavailable",
            "system",
            msg.into(),
        )
        .into_response());
    }
    let topology = s.cache.snapshot();
    crate::router::routed_epoch::note(topology.epoch);
    let turn = s.turn.fetch_add(1, Ordering::Relaxed);
    // Ties are ordered by primary key once it is known; a search never waits
    // long for the coordinators to say it (reads must outlive them).
    let pk = tokio::time::timeout(
        std::time::Duration::from_millis(300),
        writer(s).primary_key(uid),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .flatten();
    match scatter::search(
        &s.nodes,
        &topology,
        &IndexUid(uid.to_string()),
        client,
        turn,
        pk,
    )
    .await
    {
        Ok(g) if !g.missing.is_empty() && s.lease.fails_on_missing_shards() => {
            let list: Vec<String> = g.missing.iter().map(|s| s.0.to_string()).collect();
            Err(shards_unavailable(uid, &list).into_response())
        }
        Ok(g) => Ok((g.body, g.missing.iter().map(|s| s.0.to_string()).collect())),
        Err(ScatterError::UnknownIndex(_)) => Err(MeiliError::index_not_found(uid).into_response()),
        Err(ScatterError::Param(p)) => Err(MeiliError::invalid(p.code, p.message).into_response()),
        Err(ScatterError::Refused { status, body }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
            Err((status, Json(body)).into_response())
        }
    }
}

/// The `fail` unavailable-shard policy's answer.
pub(in crate::router) fn shards_unavailable(uid: &str, missing: &[String]) -> MeiliError {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_shard_unavailable",
        "system",
        format!(
            "No replica of shard(s) {} of index `{uid}` answered, and the cluster's unavailable_shard_policy is `fail`.",
            missing.join(", ")
        ),
    )
}

/// Marks a partial answer with the shards it lacks.
pub(in crate::router) fn degraded(mut resp: Response, missing: &[String]) -> Response {
    if !missing.is_empty() {
        if let Ok(v) = HeaderValue::from_str(&format!("shards={}", missing.join(","))) {
            resp.headers_mut().insert(DEGRADED_HEADER, v);
        }
    }
    resp
}

async fn search(s: &Shared, uid: String, client: Map<String, Value>) -> Response {
    match run_search(s, &uid, &client).await {
        Ok((body, missing)) => degraded(Json(body).into_response(), &missing),
        Err(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GET parameters become the typed body a POST would carry, including the ones the router
    /// used to drop or pass on as strings.
    #[test]
    fn get_parameters_become_a_body() {
        let params: Vec<(String, String)> = [
            ("q", "star"),
            ("limit", "2"),
            ("sort", "year:asc,title:desc"),
            ("showRankingScore", "true"),
            ("filter", "genre = scifi"),
            ("attributesToSearchOn", "title,overview"),
            ("rankingScoreThreshold", "0.5"),
            ("showRankingScoreDetails", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let body = crate::meili::search_params::from_params(&params).unwrap();
        assert_eq!(
            body,
            json!({"q": "star", "limit": 2, "sort": ["year:asc", "title:desc"], "showRankingScore": true,
                "filter": "genre = scifi", "attributesToSearchOn": ["title", "overview"],
                "rankingScoreThreshold": 0.5, "showRankingScoreDetails": true})
        );
        let unknown = vec![("colour".to_string(), "red".to_string())];
        let err = crate::meili::search_params::from_params(&unknown).unwrap_err();
        assert_eq!(err.code, "bad_request");
    }
}
