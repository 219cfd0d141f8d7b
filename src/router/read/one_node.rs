//! Reads that any one node holding an index can answer (its description, its settings): every
//! such node holds the same definition, so the replica a search of shard 0 would pick answers.

use serde_json::Value;

use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::router::read::plan::plan_read;
use crate::router::reply::{no_reachable_copy, ApiError};
use crate::router::topology::Topology;
use crate::state::{IndexUid, ShardId};

/// The URL of one live node holding `uid`, and the index's name on the nodes.
pub(in crate::router) fn some_node(s: &Shared, uid: &str) -> Result<(String, String), MeiliError> {
    some_node_in(&s.cache.snapshot(), uid)
}

/// As [`some_node`], in the view of the maps `t`.
pub(in crate::router) fn some_node_in(
    t: &Topology,
    uid: &str,
) -> Result<(String, String), MeiliError> {
    let plan = plan_read(t, &IndexUid(uid.to_string()), 0, &[], Some(&[ShardId(0)]))
        .ok_or_else(|| MeiliError::index_not_found(uid))?;
    let node = plan
        .nodes
        .keys()
        .next()
        .ok_or_else(|| no_reachable_copy(format!("No node of index `{uid}` is reachable.")))?;
    Ok((t.nodes[node].address.clone(), plan.physical.clone()))
}

/// `GET /indexes/{physical}{tail}` on one node of `uid`; its refusal is
/// the client's answer.
pub(in crate::router) async fn read_from_node(
    s: &Shared,
    uid: &str,
    tail: &str,
) -> Result<Value, ApiError> {
    let (base, physical) = match some_node(s, uid) {
        Err(e) if e.code == "index_not_found" => learned_node(s, uid).await.ok_or(e)?,
        other => other?,
    };
    let path = format!("/indexes/{physical}{tail}");
    let answer = s.nodes.call(&base, reqwest::Method::GET, &path, None).await;
    node_answer(answer, &physical, uid)
}

/// A node of `uid` once this router's maps know it, for an index the
/// coordinators know but the watch has not brought yet (a client reading an
/// index right after the task that created or renamed it succeeded); `None`
/// when the coordinators do not know it either, or the maps stay behind.
async fn learned_node(s: &Shared, uid: &str) -> Option<(String, String)> {
    s.control.describe_index(uid).await.ok()?;
    let key = IndexUid(uid.to_string());
    let mut rx = s.cache.subscribe();
    let wait = rx.wait_for(|t| t.maps.contains_key(&key));
    tokio::time::timeout(std::time::Duration::from_secs(5), wait)
        .await
        .ok()?
        .ok()?;
    some_node(s, uid).ok()
}

/// A node's answer as the client's: a refusal is passed on with the client's
/// index uid in place of the physical name, any other failure is the router's.
pub(in crate::router) fn node_answer(
    answer: Result<Value, crate::fleet::NodeError>,
    physical: &str,
    uid: &str,
) -> Result<Value, ApiError> {
    match answer {
        Ok(v) => Ok(v),
        Err(crate::fleet::NodeError::Refused { status, mut body }) => {
            crate::meili::error::name_client_index(&mut body, physical, uid);
            Err(ApiError::Node { status, body })
        }
        Err(e) => Err(e.into()),
    }
}
