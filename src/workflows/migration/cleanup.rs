//! Deleting moved shards from copies that no longer hold them: the old copies once the new ones
//! serve, or the new copies of an aborted move. Only once every router has acknowledged the
//! epoch that dropped those copies (or lost its lease) and the longest node call since has run
//! out, so no write still on its way lands after the delete; and only by a leader that has just
//! confirmed it still leads, with the move where it was when the step began.

use std::collections::BTreeMap;

use crate::fleet::{shard_filter, IndexChange, NodeError};
use crate::state::workflows::Workflow;
use crate::state::{NodeId, ShardId};
use crate::workflows::nodes::QUEUE_WAIT;
use crate::workflows::Cluster;

use super::Job;

pub async fn old_copies<C: Cluster>(c: &C, w: &Workflow, job: &Job) -> Result<String, String> {
    let done = delete_shards(c, w, job, job.sources_given_up()).await?;
    Ok(format!("moved shards deleted from the old copies: {done}"))
}

pub async fn new_copies<C: Cluster>(c: &C, w: &Workflow, job: &Job) -> Result<String, String> {
    let done = delete_shards(c, w, job, job.targets()).await?;
    Ok(format!("aborted: what was copied is deleted from {done}"))
}

async fn delete_shards<C: Cluster>(
    c: &C,
    w: &Workflow,
    job: &Job,
    by_node: BTreeMap<NodeId, Vec<ShardId>>,
) -> Result<String, String> {
    c.routers_past(job.im.epoch).await?;
    let released = job.im.released_at_ms.unwrap_or(0);
    let deadline = released + c.node_call_deadline().as_millis() as u64;
    let now = crate::workflows::now_ms();
    if now < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(deadline - now)).await;
    }
    c.confirm_leader().await?;
    let unchanged = c.read(|s| s.workflows.get(w.id).is_some_and(|now| now.step == w.step));
    if !unchanged {
        return Err("the move went on under another leader".into());
    }
    let mut done = vec![];
    for (node, shards) in by_node {
        let Some(base) = job.address.get(&node) else {
            continue;
        };
        let filter = serde_json::json!({ "filter": shard_filter(&shards) });
        let change = IndexChange::DeleteByFilter(filter);
        let enqueued = match c.nodes().apply(base, &job.index, &change).await {
            Ok(t) => t,
            // The index never reached that node: nothing to delete.
            Err(NodeError::Refused { status: 404, .. }) => {
                done.push(format!("{node} (no index there)"));
                continue;
            }
            // A node the migration takes out of the fleet is not waited for.
            Err(NodeError::Unreachable { .. }) if job.leaving_fleet.contains(&node) => {
                done.push(format!("{node} (down, and leaving the fleet)"));
                continue;
            }
            Err(e) => return Err(format!("deleting moved shards on {node}: {e}")),
        };
        c.nodes()
            .wait_for_task(base, enqueued.task_uid, QUEUE_WAIT)
            .await
            .map_err(|e| format!("deleting moved shards on {node}: {e}"))?;
        done.push(format!("{node} ({} shards)", shards.len()));
    }
    Ok(match done.is_empty() {
        true => "no node".into(),
        false => done.join(", "),
    })
}
