//! Changes owed to nodes that were down when a workflow needed them: each is
//! tried again on every round, and recorded done once the node has made it.

use crate::fleet::NodeError;
use crate::state::commands::SweepDone;
use crate::state::{Command, NodeId};

use super::Cluster;

/// One round over the sweep list; nodes still down are left for the next.
pub async fn once<C: Cluster>(c: &C) {
    let owed: Vec<(NodeId, Option<String>, Vec<String>)> = c.read(|s| {
        s.sweeps
            .deletes
            .iter()
            .map(|(n, l)| {
                (
                    n.clone(),
                    s.nodes.get(n).map(|n| n.address.clone()),
                    l.clone(),
                )
            })
            .collect()
    });
    if owed.is_empty() || c.confirm_leader().await.is_err() {
        return;
    }
    for (node, base, indexes) in owed {
        // A node removed meanwhile owes nothing (its entry goes with it).
        let Some(base) = base else { continue };
        for index in indexes {
            let done = match c.nodes().delete_index(&base, &index).await {
                Ok(_) | Err(NodeError::Refused { status: 404, .. }) => true,
                Err(e) => {
                    tracing::debug!(node = %node, index = %index, error = %e, "sweep not done yet");
                    false
                }
            };
            if done {
                tracing::info!(node = %node, index = %index, "swept an index deleted while the node was down");
                let cmd = Command::SweepDone(SweepDone {
                    node: node.clone(),
                    index,
                });
                let _ = c.commit(cmd).await;
            }
        }
    }
}
