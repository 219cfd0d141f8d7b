//! One search, scattered over the nodes that serve the index's shards and
//! gathered into one answer. A node that does not answer is replaced by a
//! replica (in the same group, then another); shards nobody can serve are
//! reported so the caller can apply the index's unavailable-shard policy.

use futures::future::join_all;
use serde_json::{Map, Value};

use crate::fleet::{NodeClient, NodeError};
use crate::router::read::merge::merge;
use crate::router::read::plan::plan_read;
use crate::router::read::query::{node_body, paging, trim_hit, ParamError};
use crate::router::topology::Topology;
use crate::state::{IndexUid, NodeId, ShardId};

/// How many times the shards of failed nodes are planned again.
const ROUNDS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum ScatterError {
    #[error("index `{0}` not found")]
    UnknownIndex(String),
    #[error(transparent)]
    Param(#[from] ParamError),
    /// A node refused the request (for example a bad filter): its error is the client's.
    #[error("a node refused the search")]
    Refused { status: u16, body: Value },
}

/// The merged answer, and the shards that no node could serve.
#[derive(Debug)]
pub struct Gathered {
    pub body: Value,
    pub missing: Vec<ShardId>,
}

/// What the router knows of the index that the merge orders and deduplicates by.
#[derive(Debug, Clone, Default)]
pub struct MergeKeys {
    /// The primary key: equal hits are ordered by it.
    pub tie: Option<String>,
    /// The index's distinct attribute, for a search that names none.
    pub distinct: Option<String>,
}

pub async fn search(
    nodes: &NodeClient,
    topology: &Topology,
    index: &IndexUid,
    client: &Map<String, Value>,
    turn: usize,
    keys: MergeKeys,
) -> Result<Gathered, ScatterError> {
    let mut paging = paging(client)?;
    paging.tie_key = keys.tie;
    paging.distinct = paging.distinct.or(keys.distinct);
    let mut avoid: Vec<NodeId> = vec![];
    let mut todo: Option<Vec<ShardId>> = None;
    let mut answers = vec![];
    let mut missing = vec![];
    for round in 0..ROUNDS {
        let plan = plan_read(topology, index, turn, &avoid, todo.as_deref())
            .ok_or_else(|| ScatterError::UnknownIndex(index.0.clone()))?;
        missing.extend(plan.unavailable);
        let physical = &plan.physical;
        let calls = plan.nodes.into_iter().map(|(node, shards)| {
            let body = node_body(client, &shards, &paging);
            let base = topology
                .nodes
                .get(&node)
                .map(|n| n.address.clone())
                .unwrap_or_default();
            async move { (node, shards, nodes.search(&base, physical, &body).await) }
        });
        let mut retry = vec![];
        for (node, shards, res) in join_all(calls).await {
            match res {
                Ok(answer) => answers.push(answer),
                Err(NodeError::Refused { status, body }) if status < 500 => {
                    let base = topology.nodes.get(&node).map(|n| n.address.clone());
                    let (status, mut body) =
                        client_filter_error(nodes, base, physical, client, status, body).await;
                    crate::meili::error::name_client_index(&mut body, physical, &index.0);
                    return Err(ScatterError::Refused { status, body });
                }
                Err(e) => {
                    tracing::warn!(%node, error = %e, round, "node failed a search; asking a replica");
                    avoid.push(node);
                    retry.extend(shards);
                }
            }
        }
        if retry.is_empty() {
            break;
        }
        if round + 1 == ROUNDS {
            missing.extend(retry);
            break;
        }
        todo = Some(retry);
    }
    let query = client.get("q").and_then(Value::as_str).unwrap_or("");
    let mut body = merge(answers, &paging, query);
    if let Some(Value::Array(hits)) = body.get_mut("hits") {
        hits.iter_mut().for_each(|h| trim_hit(h, client));
    }
    missing.sort();
    missing.dedup();
    Ok(Gathered { body, missing })
}

/// A filter error a node reports is about the filter it received, which
/// includes the shard restriction; the client must see the error its own
/// filter gets, so the node is asked again with that filter alone.
async fn client_filter_error(
    nodes: &NodeClient,
    base: Option<String>,
    physical: &str,
    client: &Map<String, Value>,
    status: u16,
    body: Value,
) -> (u16, Value) {
    let (Some(base), Some(filter)) = (base, client.get("filter")) else {
        return (status, body);
    };
    if body["code"] != "invalid_search_filter" {
        return (status, body);
    }
    let probe = serde_json::json!({"q": "", "limit": 0, "filter": filter});
    match nodes.search(&base, physical, &probe).await {
        Err(NodeError::Refused { status, body }) if status < 500 => (status, body),
        _ => (status, body),
    }
}
