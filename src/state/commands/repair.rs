//! Repair commands: starting the repair of one node's behind copies of an index, and recording
//! its progress (each a compare-and-set on the workflow's step, as every workflow step is).

use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, NodeId, ShardId};
use crate::state::repair::{CopyRepair, ShardRepair};
use crate::state::version::{Version, COUNTER_BITS};
use crate::state::workflows::{Phase, WorkflowId, WorkflowKind};
use crate::state::ClusterState;

/// Starts repairing `node`'s behind copies of `index` (every one behind now).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartCopyRepair {
    pub index: IndexUid,
    pub node: NodeId,
    pub at_ms: u64,
}

/// How far before the version a copy fell behind at its repair reads: a write stamped by a
/// router whose clock runs behind, or still in flight when the miss was seen, has an older
/// version than the miss.
pub fn read_margin(state: &ClusterState) -> Version {
    let ms = state.settings.int("lease_ms") + state.settings.int("max_clock_skew_ms");
    Version(ms << COUNTER_BITS)
}

impl StartCopyRepair {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.index.0)?;
        NodeId::parse(&self.node.0).map(|_| ())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let physical = state.index_mut(&self.index)?.physical();
        state.node_mut(&self.node)?;
        if let Some(w) = state.workflows.repairing(&self.index, &self.node) {
            return Err(CommandError::exists(format!(
                "workflow {} is already repairing node {}'s copies of `{}`",
                w.id, self.node, self.index
            )));
        }
        let behind = state.behind.on(&self.index, &self.node);
        if behind.is_empty() {
            return Err(CommandError::precondition(format!(
                "node {} has no behind copy of `{}`: nothing to repair",
                self.node, self.index
            )));
        }
        let margin = read_margin(state);
        // Tombstones older than this may be purged: a copy behind since before it is rebuilt.
        let retention_ms = state.settings.int("tombstone_retention_s") * 1000;
        let kept_from = Version::at_unix_ms(self.at_ms.saturating_sub(retention_ms));
        let shards = behind
            .into_iter()
            .map(|(s, b)| {
                let rebuild = b.since < kept_from;
                let from = match rebuild {
                    true => Version::ZERO,
                    false => Version(b.since.0.saturating_sub(margin.0)),
                };
                let plan = ShardRepair {
                    marks: b.marks,
                    from,
                    cursor: None,
                    caught_up: false,
                    rebuild,
                };
                (s, plan)
            })
            .collect();
        let w = state.workflows.start(
            WorkflowKind::CopyRepair,
            self.index.clone(),
            physical,
            None,
            self.at_ms,
        );
        w.repair = Some(CopyRepair {
            node: self.node,
            shards,
            written: 0,
            deleted: 0,
            served: vec![],
        });
        Ok(CommandResponse::Workflow(Box::new(w.clone())))
    }
}

/// Records how far a repair's catch-up (or re-check) got on one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordRepairProgress {
    pub id: WorkflowId,
    /// The workflow's step counter the proposer saw.
    pub step: u64,
    pub phase: Phase,
    pub shard: ShardId,
    /// Documents older than this are done.
    pub cursor: Option<Version>,
    pub caught_up: bool,
    pub written: u64,
    pub deleted: u64,
    pub at_ms: u64,
}

impl RecordRepairProgress {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let (id, shard) = (self.id, self.shard);
        let w = state
            .workflows
            .progress(id, self.step, self.phase, self.at_ms, |w| {
                let repair = w.repair.as_mut().ok_or_else(|| {
                    CommandError::precondition(format!("workflow {id} is not a repair"))
                })?;
                let plan = repair.shards.get_mut(&shard.0).ok_or_else(|| {
                    CommandError::not_found(format!(
                        "workflow {id} does not repair shard {}",
                        shard.0
                    ))
                })?;
                plan.cursor = self.cursor;
                plan.caught_up = self.caught_up;
                repair.written += self.written;
                repair.deleted += self.deleted;
                Ok(())
            })?;
        Ok(CommandResponse::Workflow(Box::new(w.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::commands::AdvanceWorkflow;
    use crate::state::repair::{behind, Reason};
    use crate::state::shard_map::Role;
    use crate::state::tests::cluster_with_index;
    use crate::state::workflows::StepRef;
    use crate::state::Command;

    /// A repair takes every behind shard of one node, reads from before the version it fell
    /// behind at, and returns to serving only the shards no new miss reached while it ran.
    #[test]
    fn a_repair_brings_copies_back() {
        let (mut s, uid) = cluster_with_index();
        let node = s.shard_maps[&uid].shards[0].copies[0].node.clone();
        let now = 1_800_000_000_000;
        let v = Version::at_unix_ms(now);
        let miss = Reason::MissedWrite { task: None };
        let shards: Vec<ShardId> = s.shard_maps[&uid]
            .shards
            .iter()
            .filter(|a| a.holds(&node))
            .map(|a| a.shard)
            .take(2)
            .collect();
        assert_eq!(shards.len(), 2, "the node holds two shards at least");
        behind::mark_behind(&mut s, &uid, &node, &shards, v, miss.clone(), now);
        let start = |s: &mut ClusterState| {
            Command::StartCopyRepair(StartCopyRepair {
                index: uid.clone(),
                node: node.clone(),
                at_ms: now,
            })
            .apply(s)
        };
        let Ok(CommandResponse::Workflow(w)) = start(&mut s) else {
            panic!("started")
        };
        assert!(start(&mut s).is_err(), "one repair per node and index");
        let plan = w.repair.clone().unwrap();
        assert_eq!(plan.shard_ids(), shards);
        assert!(plan.shards.values().all(|p| p.from < v && !p.rebuild));
        let progress = |s: &mut ClusterState, step| {
            Command::RecordRepairProgress(RecordRepairProgress {
                id: w.id,
                step,
                phase: Phase::CatchUp,
                shard: shards[0],
                cursor: Some(v),
                caught_up: true,
                written: 3,
                deleted: 1,
                at_ms: now,
            })
            .apply(s)
        };
        progress(&mut s, 0).unwrap();
        assert!(progress(&mut s, 0).is_err(), "a stale step is refused");
        // A new miss on the second shard while the repair runs.
        behind::mark_behind(&mut s, &uid, &node, &shards[1..], v, miss, now);
        for (step, to) in [(1, Phase::WaitNode), (2, Phase::Recheck), (3, Phase::Done)] {
            let mut a = AdvanceWorkflow {
                step: StepRef { id: w.id, step, to },
                at_ms: now,
                note: String::new(),
                deleted_documents: 0,
                swept_later: vec![],
                written_documents: 0,
            };
            a.note = to.as_str().into();
            Command::AdvanceWorkflow(a).apply(&mut s).unwrap();
        }
        let map = &s.shard_maps[&uid];
        assert_eq!(
            map.shards[shards[0].0 as usize].role_of(&node),
            Some(Role::Serving)
        );
        assert_eq!(
            map.shards[shards[1].0 as usize].role_of(&node),
            Some(Role::Behind)
        );
        let done = s.workflows.get(w.id).unwrap();
        assert_eq!(done.repair.as_ref().unwrap().served, vec![shards[0]]);
        assert_eq!(done.repair.as_ref().unwrap().written, 3);
        assert!(s.workflows.repairing(&uid, &node).is_none());
        assert!(
            start(&mut s).is_ok(),
            "the shard still behind gets a new repair"
        );
    }

    /// A copy behind for longer than tombstones are kept is rebuilt whole.
    #[test]
    fn a_copy_behind_too_long_is_rebuilt() {
        let (mut s, uid) = cluster_with_index();
        let node = s.shard_maps[&uid].shards[0].copies[0].node.clone();
        let then = 1_800_000_000_000;
        let long_after = then + 8 * 86_400_000;
        behind::mark_behind(
            &mut s,
            &uid,
            &node,
            &[ShardId(0)],
            Version::at_unix_ms(then),
            Reason::NodeFailed,
            then,
        );
        let Ok(CommandResponse::Workflow(w)) = Command::StartCopyRepair(StartCopyRepair {
            index: uid,
            node,
            at_ms: long_after,
        })
        .apply(&mut s) else {
            panic!("started")
        };
        let plan = &w.repair.unwrap().shards[&0];
        assert!(plan.rebuild && plan.from == Version::ZERO);
    }
}
