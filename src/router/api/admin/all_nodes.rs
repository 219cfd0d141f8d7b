//! Requests about the whole fleet rather than one index (API keys, experimental features): every
//! node must carry a change out alike, and any node can answer a read.

use axum::http::StatusCode;
use reqwest::Method;
use serde_json::Value;

use crate::fleet::{probe_then_rest, NodeError, Refused};
use crate::meili::MeiliError;
use crate::router::auth::key_nodes::key_nodes;
use crate::router::context::Shared;
use crate::router::reply::ApiError;

/// Every node's answer to one change: (node, its URL, the answer).
pub(in crate::router) type Answers = Vec<(String, String, Result<Value, NodeError>)>;

fn unreachable(what: &str, failures: &[String]) -> ApiError {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_node_unreachable",
        "system",
        format!("No node could answer {what}: {}.", failures.join("; ")),
    )
    .into()
}

pub(in crate::router) fn describe(id: &str, e: &NodeError) -> String {
    match e {
        NodeError::Unreachable { reason, .. } => format!("node `{id}` did not answer ({reason})"),
        NodeError::NotSent { .. } => e.to_string(),
        NodeError::Refused { status: 401 | 403, .. } => format!(
            "node `{id}` refused the router's node key: every node must run with the same master key, given to routers as `--node-key` (or `--master-key`)"
        ),
        NodeError::Refused { status, body } => match body["message"].as_str() {
            Some(m) => format!("node `{id}` refused it ({status}: {m})"),
            None => format!("node `{id}` refused it ({status})"),
        },
    }
}

/// Whether a node's refusal is about the client's request. A 401 or 403 is
/// about the router's node key (the client's key was checked already).
fn client_error(status: u16) -> bool {
    status < 500 && status != 401 && status != 403
}

/// The first node's answer to a read (the next node if one does not answer).
pub(in crate::router) async fn from_one(s: &Shared, path: &str) -> Result<Value, ApiError> {
    let mut failures = vec![];
    for (id, base) in key_nodes(s).await? {
        match s.nodes.call(&base, Method::GET, path, None).await {
            Ok(v) => return Ok(v),
            Err(NodeError::Refused { status, body }) if client_error(status) => {
                return Err(ApiError::Node { status, body })
            }
            Err(e) => failures.push(describe(&id, &e)),
        }
    }
    Err(unreachable(&format!("`GET {path}`"), &failures))
}

/// One change on every node. Nodes are tried alone until one answers: if it refuses the
/// request, its error is the answer and no other node was touched.
pub(in crate::router) async fn on_every_node(
    s: &Shared,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> Result<Answers, ApiError> {
    let nodes = key_nodes(s).await?;
    if nodes.is_empty() {
        return Err(unreachable(
            "the request",
            &["no node is registered".into()],
        ));
    }
    let answers = probe_then_rest(&nodes, client_error, |(_, base)| {
        let method = method.clone();
        async move { s.nodes.call(&base, method, path, body).await }
    })
    .await
    .map_err(|Refused { status, body }| ApiError::Node { status, body })?;
    Ok(answers
        .into_iter()
        .map(|((id, base), r)| (id, base, r))
        .collect())
}

/// The nodes that did not carry a change out, and why.
pub(in crate::router) fn failures(answers: &Answers) -> Vec<String> {
    answers
        .iter()
        .filter_map(|(id, _, r)| r.as_ref().err().map(|e| describe(id, e)))
        .collect()
}

/// Why a change reached only some nodes, if it did.
pub(in crate::router) fn all_applied(what: &str, answers: &Answers) -> Result<(), ApiError> {
    let failed = failures(answers);
    if failed.is_empty() {
        return Ok(());
    }
    Err(MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_partially_applied",
        "system",
        format!(
            "{what} reached only some nodes: {}. Retry once every node answers.",
            failed.join("; ")
        ),
    )
    .into())
}
