//! Deleting an index: fence its writes, wait until no router can still write
//! under an older epoch, delete it on every node and wait for the nodes'
//! tasks (a node that is down goes on the sweep list), then forget it and
//! finish the clients' tasks. A deletion never stops half-way: a failed
//! step is retried, and a node that does not answer does not hold it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures::future::join_all;

use super::{Cluster, PausePoints};
use crate::fleet::{NodeError, WaitError};
use crate::state::workflows::{Phase, Workflow};
use crate::state::{GroupId, NodeId, TaskStatus};

/// How long one node may take to carry out its deletion task.
const NODE_TASK_WAIT: Duration = Duration::from_secs(30);

/// What deleting the index on one node came to.
enum OnNode {
    /// Deleted (or already absent), with the documents it held.
    Deleted(u64),
    /// Did not answer: swept when it is back.
    Down,
}

/// Carries out `w`'s current step and commits the move to its next phase.
pub async fn step<C: Cluster>(c: &C, pauses: &PausePoints, w: &Workflow) -> Result<(), String> {
    let Some(to) = w.next_phase() else {
        return Ok(());
    };
    pauses.before(w.phase).await;
    let mut advance = super::advance(w, to);
    match w.phase {
        Phase::Fence => advance.note = "writes to the index are fenced".into(),
        Phase::WaitRouters => advance.note = super::wait_for_routers(c, w).await?,
        Phase::DeleteOnNodes => {
            let (deleted, down) = delete_on_nodes(c, w).await?;
            advance.note = match down.is_empty() {
                true => format!("deleted on every node ({deleted} documents)"),
                false => format!(
                    "deleted on the nodes that answered ({deleted} documents); {} to sweep when back",
                    names(&down)
                ),
            };
            advance.deleted_documents = deleted;
            advance.swept_later = down;
        }
        Phase::Forget => advance.note = "forgotten by the coordinators".into(),
        _ => return Ok(()),
    }
    super::commit(c, advance).await
}

fn names(nodes: &[NodeId]) -> String {
    nodes
        .iter()
        .map(|n| n.0.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Deletes the index on every node that holds a shard of it; the documents
/// deleted, counted once, and the nodes that did not answer.
async fn delete_on_nodes<C: Cluster>(c: &C, w: &Workflow) -> Result<(u64, Vec<NodeId>), String> {
    let uid = w.physical().to_string();
    let (owners, rf) = c.read(|s| {
        let owners: BTreeMap<NodeId, (String, GroupId)> = s
            .shard_maps
            .get(&w.index)
            .into_iter()
            .flat_map(|m| m.shards.iter())
            .flat_map(|a| a.writers())
            .filter_map(|n| s.nodes.get(n))
            .map(|n| (n.id.clone(), (n.address.clone(), n.group)))
            .collect();
        let rf = s
            .indexes
            .get(&w.index)
            .map_or(1, |i| i.replication_factor.max(1));
        (owners, u64::from(rf))
    });
    // Deleting is destructive: only a confirmed leader does it.
    c.confirm_leader().await?;
    let calls = owners.iter().map(|(id, (base, group))| {
        let uid = uid.clone();
        async move { (id.clone(), *group, delete_on(c, base, &uid).await) }
    });
    let mut per_group: BTreeMap<GroupId, u64> = BTreeMap::new();
    let mut down = vec![];
    for (id, group, r) in join_all(calls).await {
        match r? {
            OnNode::Deleted(n) => *per_group.entry(group).or_default() += n,
            OnNode::Down => down.push(id),
        }
    }
    let deleted = crate::state::tasks::count_once(per_group.into_values().map(|n| (n, rf)));
    let down: BTreeSet<NodeId> = down.into_iter().collect();
    Ok((deleted, down.into_iter().collect()))
}

/// Deletes `uid` on one node and waits for the node's task.
async fn delete_on<C: Cluster>(c: &C, base: &str, uid: &str) -> Result<OnNode, String> {
    let enqueued = match c.nodes().delete_index(base, uid).await {
        Ok(e) => e,
        Err(NodeError::Refused { status: 404, .. }) => return Ok(OnNode::Deleted(0)),
        Err(NodeError::Unreachable { .. }) => return Ok(OnNode::Down),
        Err(e) => return Err(format!("node {base} refused to delete index `{uid}`: {e}")),
    };
    match c
        .nodes()
        .wait_for_task(base, enqueued.task_uid, NODE_TASK_WAIT)
        .await
    {
        Ok(t) if t.status == TaskStatus::Succeeded => Ok(OnNode::Deleted(
            t.details["deletedDocuments"].as_u64().unwrap_or(0),
        )),
        // Already gone on that node (an earlier attempt, or never made there).
        Ok(t)
            if t.error
                .as_ref()
                .is_some_and(|e| e["code"] == "index_not_found") =>
        {
            Ok(OnNode::Deleted(0))
        }
        Ok(t) => Err(format!(
            "node {base} failed to delete index `{uid}`: {}",
            t.error.map(|e| e.to_string()).unwrap_or_default()
        )),
        Err(WaitError::Node(NodeError::Unreachable { .. })) => Ok(OnNode::Down),
        Err(e) => Err(format!("node {base}: {e}")),
    }
}
