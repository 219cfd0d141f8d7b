//! Starting repairs: every node that holds behind copies, is active (or draining) and answers
//! gets one repair per index, started by the leader. A node that does not answer is left for a
//! later round; its copies stay behind (written, not read) meanwhile.

use std::collections::BTreeSet;

use crate::state::commands::StartCopyRepair;
use crate::state::{Command, IndexUid, NodeId};

use super::super::Cluster;

/// One round: starts the repairs that are due.
pub async fn once<C: Cluster>(c: &C) {
    let due: Vec<(IndexUid, NodeId, String)> = c.read(|s| {
        let pairs: BTreeSet<(IndexUid, NodeId)> =
            s.behind.all().map(|b| (b.index, b.node)).collect();
        pairs
            .into_iter()
            .filter(|(i, n)| s.workflows.repairing(i, n).is_none())
            .filter_map(|(i, n)| {
                let node = s.nodes.get(&n)?;
                node.state
                    .serves_reads()
                    .then(|| (i, n, node.address.clone()))
            })
            .collect()
    });
    for (index, node, base) in due {
        if c.nodes().health(&base).await.is_err() {
            continue;
        }
        let cmd = Command::StartCopyRepair(StartCopyRepair {
            index: index.clone(),
            node: node.clone(),
            at_ms: super::super::now_ms(),
        });
        match c.commit(cmd).await {
            Ok(_) => {
                tracing::info!(index = %index, node = %node, "repair started for behind copies")
            }
            Err(e) => {
                tracing::debug!(index = %index, node = %node, error = %e, "repair not started")
            }
        }
    }
}
