//! The router's HTTP API: Meilisearch's routes, answered from the cached
//! topology and the nodes. Here: the route table, health, version, index
//! creation, document writes, task lookup and search; the other routes live
//! in the `*_routes` modules.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use super::control::ControlPlane;
use super::scatter::{self, ScatterError};
use super::tasks::{summary, TaskIds};
use super::topology::TopologyCache;
use super::writes::{WriteError, Writer};
use crate::fleet::NodeClient;
use crate::meili::MeiliError;
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
    pub api_keys: super::auth::KeyCache,
    /// The lease writes are sent under.
    pub lease: Arc<super::lease::LeaseHolder>,
    /// Bodies larger than this are refused with `payload_too_large`.
    pub max_payload_bytes: usize,
    /// Round-robin position for choosing a replica group.
    pub turn: AtomicUsize,
    /// Test-only; all off in production.
    pub unsafe_switches: super::unsafe_switches::UnsafeSwitches,
}

pub fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route(
            "/indexes",
            axum::routing::post(create_index).get(super::index_routes::list_indexes),
        )
        .route("/indexes/{uid}/search", get(search_get).post(search_post))
        .route(
            "/indexes/{uid}/documents",
            axum::routing::post(add_documents)
                .put(update_documents)
                .delete(super::index_routes::delete_all)
                .get(super::list_routes::list_documents),
        )
        .route("/tasks/{uid}", get(get_task))
        .merge(super::index_routes::routes())
        .merge(super::list_routes::routes())
        .merge(super::query_routes::routes())
        .merge(super::key_routes::routes())
        .merge(super::webhooks::routes())
        .merge(super::feature_routes::routes())
        .merge(super::batch_routes::routes())
        .merge(super::task_routes::routes())
        .merge(super::unsupported::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.max_payload_bytes,
            super::body_limit::limit,
        ))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn(super::routed_epoch::layer))
        // Outermost: nothing runs for a request its key does not allow.
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            super::auth::check,
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

pub(super) fn writer(s: &Shared) -> Writer<'_> {
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

pub(super) fn accepted(task: &crate::pb::v1::TaskRecord) -> Response {
    (StatusCode::ACCEPTED, Json(summary(task))).into_response()
}

/// The answer to a write: its task (202), or why it was refused.
pub(super) fn task_reply(r: Result<crate::pb::v1::TaskRecord, WriteError>) -> Response {
    match r {
        Ok(t) => accepted(&t),
        Err(e) => write_error(e),
    }
}

/// A JSON object body (Meilisearch's `malformed_payload` otherwise).
pub(super) fn json_object(body: &[u8]) -> Result<Map<String, Value>, MeiliError> {
    match json_body(body)? {
        Value::Object(m) => Ok(m),
        _ => Err(MeiliError::malformed("json", "expected an object")),
    }
}

pub(super) fn write_error(e: WriteError) -> Response {
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

pub(super) fn json_body(body: &[u8]) -> Result<Value, MeiliError> {
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
    match super::tasks::lookup(&writer(&s), uid).await {
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
pub(super) async fn run_search(
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
    super::routed_epoch::note(topology.epoch);
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
pub(super) fn shards_unavailable(uid: &str, missing: &[String]) -> MeiliError {
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
pub(super) fn degraded(mut resp: Response, missing: &[String]) -> Response {
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
