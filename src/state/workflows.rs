//! Workflows: data movements and other multi-step changes run by the
//! coordinator leader, one committed step at a time (DESIGN section 9). The
//! record says where a workflow stands; the phases and the moves between
//! them are written here once, and every step is a compare-and-set on the
//! workflow's step counter, so a deposed leader's late step is refused.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::CommandError;
pub use super::ids::WorkflowId;
use super::ids::{Epoch, IndexUid, NodeId, TaskUid};
pub use crate::meili::index_swap::Swap;
use crate::state::migration::IndexMove;
use crate::state::repair::pass::AntiEntropyPass;
use crate::state::repair::CopyRepair;

/// Finished workflows kept for operators; the oldest go first beyond this.
pub const KEEP_FINISHED: usize = 1_000;
/// History entries kept per workflow.
const KEEP_HISTORY: usize = 100;
/// Errors kept per workflow (the newest).
const KEEP_ERRORS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkflowKind {
    /// Deleting an index from every node, then from the coordinators.
    IndexDeletion,
    /// Exchanging (or moving, for a rename) which client uid names which
    /// physical index, for `POST /swap-indexes` and renames.
    IndexSwap,
    /// Bringing one node's behind copies of an index back to serving.
    CopyRepair,
    /// Comparing every copy of an index's shards, and (in repair mode)
    /// fixing what differs.
    AntiEntropy,
    /// Moving an index's shard copies for a migration (new copies filled,
    /// cut over under a fence, old copies cleaned up).
    ShardMove,
}

impl WorkflowKind {
    pub const ALL: [WorkflowKind; 5] = [
        WorkflowKind::IndexDeletion,
        WorkflowKind::IndexSwap,
        WorkflowKind::CopyRepair,
        WorkflowKind::AntiEntropy,
        WorkflowKind::ShardMove,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowKind::IndexDeletion => "index_deletion",
            WorkflowKind::IndexSwap => "index_swap",
            WorkflowKind::CopyRepair => "copy_repair",
            WorkflowKind::AntiEntropy => "anti_entropy",
            WorkflowKind::ShardMove => "shard_move",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        WorkflowKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                CommandError::invalid(format!(
                    "unknown workflow kind `{s}`: use index_deletion, index_swap, copy_repair, anti_entropy or shard_move"
                ))
            })
    }

    /// Whether an index's deletion goes ahead of a running workflow of this
    /// kind (which then finds the index gone and ends).
    pub fn yields_to_deletion(self) -> bool {
        matches!(
            self,
            WorkflowKind::CopyRepair | WorkflowKind::AntiEntropy | WorkflowKind::ShardMove
        )
    }

    /// Whether workflows of these kinds on one index run side by side: a repair brings behind
    /// copies back (a move waits for that before it drops old copies), a move fills new ones.
    pub fn runs_beside(self, other: WorkflowKind) -> bool {
        use WorkflowKind::{CopyRepair, ShardMove};
        matches!(
            (self, other),
            (CopyRepair, ShardMove) | (ShardMove, CopyRepair)
        )
    }

    /// The phases a workflow of this kind goes through, in order.
    pub fn phases(self) -> &'static [Phase] {
        match self {
            WorkflowKind::IndexDeletion => &[
                Phase::Fence,
                Phase::WaitRouters,
                Phase::DeleteOnNodes,
                Phase::Forget,
                Phase::Done,
            ],
            // Nothing changes on the nodes: the flip is one committed step,
            // taken once no router can still write under the old names.
            WorkflowKind::IndexSwap => {
                &[Phase::Fence, Phase::WaitRouters, Phase::Flip, Phase::Done]
            }
            // No fence: a behind copy is written but not read, so it is
            // caught up under live writes and re-checked before it serves.
            WorkflowKind::CopyRepair => {
                &[Phase::CatchUp, Phase::WaitNode, Phase::Recheck, Phase::Done]
            }
            // Index presence and settings first: a node without the index
            // or its settings cannot be compared document by document.
            WorkflowKind::AntiEntropy => &[Phase::IndexCheck, Phase::Scan, Phase::Done],
            // A fence over budget goes back to `Copy` and an abort to `Undo`, by their own
            // commands (see [`WorkflowKind::can_return`]).
            WorkflowKind::ShardMove => &[
                Phase::AddCopies,
                Phase::WaitDualWrite,
                Phase::Copy,
                Phase::Drain,
                Phase::DeltaPass,
                Phase::AwaitRepair,
                Phase::Release,
                Phase::Cleanup,
                Phase::Done,
            ],
        }
    }

    /// The moves back a workflow of this kind may make, besides going forward one phase: a
    /// cutover whose fence went over budget (or that is paused) lifts it and copies again; a
    /// move aborted before its new copies serve undoes them.
    pub fn can_return(self, from: Phase, to: Phase) -> bool {
        self == WorkflowKind::ShardMove
            && match to {
                Phase::Copy => matches!(from, Phase::Drain | Phase::DeltaPass),
                Phase::Undo => from.before_switch() && from != Phase::AddCopies,
                // Aborted before it added anything: nothing to undo.
                Phase::Done => from == Phase::AddCopies,
                _ => false,
            }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Hold the index's writes in the routers under a new epoch.
    Fence,
    /// Wait until every router has acknowledged that epoch or lost its lease.
    WaitRouters,
    /// Delete the index on every node and wait for the nodes' tasks.
    DeleteOnNodes,
    /// Forget the index in the coordinators and finish the client's task.
    Forget,
    /// Exchange the uids' shard maps and lift the fence, in one commit, or
    /// fail the client's task as Meilisearch would (a missing index, a name
    /// taken) and lift the fence with nothing changed.
    Flip,
    /// Write to the copy what differs from a serving copy since the version
    /// it fell behind at, and apply the tombstones since then (committing a
    /// cursor per page, so a new leader goes on from there).
    CatchUp,
    /// Wait until the copy's node has processed everything sent to it.
    WaitNode,
    /// Compare again with a serving copy and fix what a concurrent write
    /// undid, until nothing differs; entering `Done` returns the copy to
    /// serving.
    Recheck,
    /// Compare index presence and settings across the index's nodes (and
    /// fix them in repair mode).
    IndexCheck,
    /// Compare each shard's copies, one shard per step with its cursor
    /// committed; fix what differs and remove strays in repair mode.
    Scan,
    /// Add the new copies as filling (every write reaches them from the
    /// next epoch on) and mark the old ones leaving.
    AddCopies,
    /// Wait until every router writes to the new copies (or lost its lease).
    WaitDualWrite,
    /// Copy the moving shards to the new copies in catch-up rounds, each
    /// from before the last one's start, until a round is small.
    Copy,
    /// The fence is up: wait until every router has finished the moving
    /// shards' writes in flight (or lost its lease), within the budget.
    Drain,
    /// Still fenced: wait for the sources' queues, copy what changed since
    /// the last round, apply tombstones, wait for the new copies' queues;
    /// entering `AwaitRepair` switches the new copies on and lifts the fence.
    DeltaPass,
    /// Without a delta pass the new copies start behind: wait until the
    /// repair brought them to serving.
    AwaitRepair,
    /// Drop the old copies from the shard map.
    Release,
    /// Once no router can still write to the old copies, delete the moved
    /// shards' documents from them.
    Cleanup,
    /// An aborted move: once no router writes to the new copies, delete
    /// what was copied to them.
    Undo,
    Done,
}

impl Phase {
    pub const ALL: [Phase; 20] = [
        Phase::Fence,
        Phase::WaitRouters,
        Phase::DeleteOnNodes,
        Phase::Forget,
        Phase::Flip,
        Phase::CatchUp,
        Phase::WaitNode,
        Phase::Recheck,
        Phase::IndexCheck,
        Phase::Scan,
        Phase::AddCopies,
        Phase::WaitDualWrite,
        Phase::Copy,
        Phase::Drain,
        Phase::DeltaPass,
        Phase::AwaitRepair,
        Phase::Release,
        Phase::Cleanup,
        Phase::Undo,
        Phase::Done,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Fence => "fence",
            Phase::WaitRouters => "wait_routers",
            Phase::DeleteOnNodes => "delete_on_nodes",
            Phase::Forget => "forget",
            Phase::Flip => "flip",
            Phase::CatchUp => "catch_up",
            Phase::WaitNode => "wait_node",
            Phase::Recheck => "recheck",
            Phase::IndexCheck => "index_check",
            Phase::Scan => "scan",
            Phase::AddCopies => "add_copies",
            Phase::WaitDualWrite => "wait_dual_write",
            Phase::Copy => "copy",
            Phase::Drain => "drain",
            Phase::DeltaPass => "delta_pass",
            Phase::AwaitRepair => "await_repair",
            Phase::Release => "release",
            Phase::Cleanup => "cleanup",
            Phase::Undo => "undo",
            Phase::Done => "done",
        }
    }

    /// A move's phases before its new copies serve (an abort can still undo them).
    pub fn before_switch(self) -> bool {
        matches!(
            self,
            Phase::AddCopies | Phase::WaitDualWrite | Phase::Copy | Phase::Drain | Phase::DeltaPass
        )
    }

    /// A move's phases that hold the fence up.
    pub fn fenced(self) -> bool {
        matches!(self, Phase::Drain | Phase::DeltaPass)
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        Phase::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Phase::ALL.iter().map(|p| p.as_str()).collect();
                CommandError::invalid(format!(
                    "unknown workflow phase `{s}`: use one of {}",
                    names.join(", ")
                ))
            })
    }
}

/// One line of a workflow's history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at_ms: u64,
    pub phase: Phase,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub id: WorkflowId,
    pub kind: WorkflowKind,
    pub index: IndexUid,
    /// The index's name on the nodes, fixed when the fence goes up (empty
    /// for a swap, and in records made before physical names: the uid).
    #[serde(default)]
    pub physical: String,
    pub phase: Phase,
    /// Steps committed so far; the next step must name this number.
    pub step: u64,
    /// The clients' Miroir tasks that follow this workflow (finished with it).
    pub tasks: Vec<TaskUid>,
    /// The epoch the fence was set under (from `WaitRouters` on).
    pub fence_epoch: Option<Epoch>,
    /// Nodes that were down when they had to be changed: swept when back.
    pub swept_later: Vec<NodeId>,
    /// What the nodes reported done (for a deletion: documents deleted).
    pub deleted_documents: u64,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub history: Vec<Event>,
    /// The newest errors met while retrying a step.
    pub errors: Vec<String>,
    /// An index swap's pairs, as the client gave them.
    #[serde(default)]
    pub swaps: Vec<Swap>,
    /// An index swap asked as `PATCH /indexes/{uid}` (one rename, checked
    /// and reported as Meilisearch does for that route).
    #[serde(default)]
    pub rename_by_update: bool,
    /// A copy repair's node and shards, and how far it got.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repair: Option<CopyRepair>,
    /// An anti-entropy pass's shards, cursor, counts and findings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass: Option<AntiEntropyPass>,
    /// A shard move's plan and progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moves: Option<IndexMove>,
}

impl Workflow {
    /// Every client uid this workflow changes: two workflows that share one
    /// run one after the other, oldest first.
    pub fn indexes(&self) -> Vec<IndexUid> {
        let mut all = vec![self.index.clone()];
        for s in &self.swaps {
            for uid in [&s.lhs, &s.rhs] {
                if !all.iter().any(|u| u.0 == *uid) {
                    all.push(IndexUid(uid.clone()));
                }
            }
        }
        all
    }

    /// The index's name on the nodes.
    pub fn physical(&self) -> &str {
        match self.physical.is_empty() {
            true => &self.index.0,
            false => &self.physical,
        }
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The phase after this one, for this workflow's kind.
    pub fn next_phase(&self) -> Option<Phase> {
        // An aborted move's undo, off its kind's list, ends it.
        if self.phase == Phase::Undo {
            return Some(Phase::Done);
        }
        let phases = self.kind.phases();
        let at = phases.iter().position(|p| *p == self.phase)?;
        phases.get(at + 1).copied()
    }

    fn note(&mut self, at_ms: u64, note: String) {
        self.history.push(Event {
            at_ms,
            phase: self.phase,
            note,
        });
        if self.history.len() > KEEP_HISTORY {
            self.history.remove(0);
        }
    }
}

/// A workflow's step, checked against where the workflow is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRef {
    pub id: WorkflowId,
    /// The workflow's step counter the proposer saw.
    pub step: u64,
    /// The phase the step moves the workflow to.
    pub to: Phase,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflows {
    next_id: u64,
    all: BTreeMap<WorkflowId, Workflow>,
}

impl Workflows {
    pub fn get(&self, id: WorkflowId) -> Option<&Workflow> {
        self.all.get(&id)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Workflow> {
        self.all.values()
    }

    pub fn running(&self) -> impl Iterator<Item = &Workflow> {
        self.all.values().filter(|w| !w.is_done())
    }

    /// The oldest unfinished workflow, older than `w`, that changes one of
    /// its indexes: `w` waits for it.
    /// A deletion does not wait for a repair (it ends the repair: the
    /// copies it was bringing back are gone).
    pub fn waits_for(&self, w: &Workflow) -> Option<&Workflow> {
        let mine = w.indexes();
        self.running()
            .take_while(|o| o.id < w.id)
            .filter(|o| !(w.kind == WorkflowKind::IndexDeletion && o.kind.yields_to_deletion()))
            .filter(|o| !w.kind.runs_beside(o.kind))
            .find(|o| o.indexes().iter().any(|u| mine.contains(u)))
    }

    /// The unfinished repair of `node`'s copies of `index`, if there is one.
    pub fn repairing(&self, index: &IndexUid, node: &NodeId) -> Option<&Workflow> {
        self.running()
            .find(|w| &w.index == index && w.repair.as_ref().is_some_and(|r| &r.node == node))
    }

    /// Checks a step that records progress within the workflow's phase
    /// (`phase`), with the same compare-and-set on the step counter.
    pub fn check_within(
        &self,
        id: WorkflowId,
        step: u64,
        phase: Phase,
    ) -> Result<&Workflow, CommandError> {
        let w = self.all.get(&id).ok_or_else(|| Self::not_found(id))?;
        if w.step != step {
            return Err(CommandError::precondition(format!(
                "workflow {} is at step {}, not {step}: another leader moved it on",
                w.id, w.step
            )));
        }
        if w.phase != phase {
            return Err(CommandError::precondition(format!(
                "workflow {} is in phase {}, not {}",
                w.id,
                w.phase.as_str(),
                phase.as_str()
            )));
        }
        Ok(w)
    }

    /// Records progress within a workflow's phase: checks the step counter
    /// (compare-and-set) and the phase, lets `change` update the workflow
    /// (it may refuse, having changed nothing), then takes the step.
    pub fn progress(
        &mut self,
        id: WorkflowId,
        step: u64,
        phase: Phase,
        at_ms: u64,
        change: impl FnOnce(&mut Workflow) -> Result<(), CommandError>,
    ) -> Result<&Workflow, CommandError> {
        self.check_within(id, step, phase)?;
        let w = self.all.get_mut(&id).expect("checked");
        change(w)?;
        w.step += 1;
        w.updated_at_ms = at_ms;
        Ok(w)
    }

    /// The unfinished workflow of `kind` on `index`, if there is one.
    pub fn running_on(&self, kind: WorkflowKind, index: &IndexUid) -> Option<&Workflow> {
        self.running().find(|w| w.kind == kind && &w.index == index)
    }

    pub fn not_found(id: WorkflowId) -> CommandError {
        CommandError::not_found(format!(
            "no workflow {id}: `miroir-ctl workflows list` shows them"
        ))
    }

    /// Starts a workflow in its kind's first phase.
    pub fn start(
        &mut self,
        kind: WorkflowKind,
        index: IndexUid,
        physical: String,
        task: Option<TaskUid>,
        at_ms: u64,
    ) -> &mut Workflow {
        self.next_id += 1;
        let id = WorkflowId(self.next_id);
        let mut w = Workflow {
            id,
            kind,
            index,
            physical,
            phase: kind.phases()[0],
            step: 0,
            tasks: task.into_iter().collect(),
            fence_epoch: None,
            swept_later: vec![],
            deleted_documents: 0,
            created_at_ms: at_ms,
            updated_at_ms: at_ms,
            history: vec![],
            errors: vec![],
            swaps: vec![],
            rename_by_update: false,
            repair: None,
            pass: None,
            moves: None,
        };
        w.note(at_ms, "started".into());
        self.all.insert(id, w);
        self.forget_old();
        self.all.get_mut(&id).expect("just inserted")
    }

    /// Checks a step against the workflow: the step counter must be the one
    /// the proposer saw, and the phase the next one of its kind.
    pub fn check(&self, step: &StepRef) -> Result<&Workflow, CommandError> {
        let w = self
            .all
            .get(&step.id)
            .ok_or_else(|| Self::not_found(step.id))?;
        if w.step != step.step {
            return Err(CommandError::precondition(format!(
                "workflow {} is at step {}, not {}: another leader moved it on",
                w.id, w.step, step.step
            )));
        }
        if w.next_phase() != Some(step.to) {
            return Err(CommandError::precondition(format!(
                "workflow {} is in phase {} and cannot move to {}",
                w.id,
                w.phase.as_str(),
                step.to.as_str()
            )));
        }
        Ok(w)
    }

    /// Moves a checked workflow to its next phase.
    pub fn advance(&mut self, step: &StepRef, at_ms: u64, note: String) -> &mut Workflow {
        let w = self.all.get_mut(&step.id).expect("checked before");
        w.phase = step.to;
        w.step += 1;
        w.updated_at_ms = at_ms;
        w.note(at_ms, note);
        w
    }

    /// Moves a workflow back (or aside) to `to`, as its kind allows ([`WorkflowKind::can_return`]);
    /// `step` is the compare-and-set on its step counter (None: whatever step it is at, for an
    /// operator's command that names the migration, not the step).
    pub fn rewind(
        &mut self,
        id: WorkflowId,
        step: Option<u64>,
        to: Phase,
        at_ms: u64,
        note: String,
    ) -> Result<&mut Workflow, CommandError> {
        let w = self.all.get_mut(&id).ok_or_else(|| Self::not_found(id))?;
        if step.is_some_and(|s| s != w.step) {
            return Err(CommandError::precondition(format!(
                "workflow {} is at step {}, not {}: another leader moved it on",
                w.id,
                w.step,
                step.unwrap_or_default()
            )));
        }
        if !w.kind.can_return(w.phase, to) {
            return Err(CommandError::precondition(format!(
                "workflow {} is in phase {} and cannot go back to {}",
                w.id,
                w.phase.as_str(),
                to.as_str()
            )));
        }
        w.phase = to;
        w.step += 1;
        w.updated_at_ms = at_ms;
        w.note(at_ms, note);
        Ok(w)
    }

    /// A write missed a filling copy of `shards` of `index`: the move filling it reads those
    /// shards again from `since` before the copy serves.
    pub fn filling_missed(
        &mut self,
        index: &IndexUid,
        shards: &[crate::state::ids::ShardId],
        since: crate::state::version::Version,
    ) {
        let Some(id) = self
            .running_on(WorkflowKind::ShardMove, index)
            .map(|w| w.id)
        else {
            return;
        };
        let Some(m) = self.all.get_mut(&id).and_then(|w| w.moves.as_mut()) else {
            return;
        };
        for s in shards {
            if let Some(mv) = m.moves.get_mut(&s.0) {
                mv.missed_since = Some(mv.missed_since.map_or(since, |v| v.min(since)));
            }
        }
    }

    /// A workflow to change in place (its step counter is not taken).
    pub fn get_mut(&mut self, id: WorkflowId) -> Result<&mut Workflow, CommandError> {
        self.all.get_mut(&id).ok_or_else(|| Self::not_found(id))
    }

    /// Another client's task that follows a running workflow.
    pub fn follow(&mut self, id: WorkflowId, task: TaskUid) {
        if let Some(w) = self.all.get_mut(&id) {
            w.tasks.push(task);
        }
    }

    /// Records an error met while retrying a step (changes no phase).
    pub fn record_error(
        &mut self,
        id: WorkflowId,
        at_ms: u64,
        error: String,
    ) -> Result<(), CommandError> {
        let w = self.all.get_mut(&id).ok_or_else(|| Self::not_found(id))?;
        w.errors.push(error);
        if w.errors.len() > KEEP_ERRORS {
            w.errors.remove(0);
        }
        w.updated_at_ms = at_ms;
        Ok(())
    }

    fn forget_old(&mut self) {
        let finished = self.all.values().filter(|w| w.is_done()).count();
        if finished <= KEEP_FINISHED {
            return;
        }
        let oldest: Vec<WorkflowId> = self
            .all
            .values()
            .filter(|w| w.is_done())
            .take(finished - KEEP_FINISHED)
            .map(|w| w.id)
            .collect();
        for id in oldest {
            self.all.remove(&id);
        }
    }
}

/// Changes owed to nodes that were down when a workflow needed them: which
/// index to delete on which node, made when the node answers again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepList {
    pub deletes: BTreeMap<NodeId, Vec<String>>,
}

impl SweepList {
    pub fn add(&mut self, node: NodeId, index: &str) {
        let list = self.deletes.entry(node).or_default();
        if !list.iter().any(|i| i == index) {
            list.push(index.to_string());
        }
    }

    pub fn done(&mut self, node: &NodeId, index: &str) {
        if let Some(list) = self.deletes.get_mut(node) {
            list.retain(|i| i != index);
            if list.is_empty() {
                self.deletes.remove(node);
            }
        }
    }

    /// Nodes an index is still to be deleted from.
    pub fn pending_for(&self, index: &str) -> Vec<NodeId> {
        self.deletes
            .iter()
            .filter(|(_, l)| l.iter().any(|i| i == index))
            .map(|(n, _)| n.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(w: &Workflow, to: Phase) -> StepRef {
        StepRef {
            id: w.id,
            step: w.step,
            to,
        }
    }

    /// A deletion goes through its phases in order, one step each; a stale
    /// step counter or a skipped phase is refused.
    #[test]
    fn phases_move_forward_one_step_at_a_time() {
        let mut all = Workflows::default();
        let w = all
            .start(
                WorkflowKind::IndexDeletion,
                IndexUid("m".into()),
                "m".into(),
                None,
                1,
            )
            .clone();
        assert_eq!(w.phase, Phase::Fence);
        assert!(
            all.check(&step(&w, Phase::DeleteOnNodes)).is_err(),
            "skipped a phase"
        );
        let s = step(&w, Phase::WaitRouters);
        all.check(&s).unwrap();
        all.advance(&s, 2, "fenced".into());
        assert!(all.check(&s).is_err(), "the same step twice");
        for to in [Phase::DeleteOnNodes, Phase::Forget, Phase::Done] {
            let w = all.get(w.id).unwrap().clone();
            let s = step(&w, to);
            all.check(&s).unwrap();
            all.advance(&s, 3, to.as_str().into());
        }
        let done = all.get(w.id).unwrap();
        assert!(done.is_done() && done.next_phase().is_none());
        assert_eq!(done.step, 4);
        assert_eq!(done.history.len(), 5);
        assert_eq!(all.running().count(), 0);
        for p in Phase::ALL {
            assert_eq!(Phase::parse(p.as_str()).unwrap(), p);
        }
    }

    /// Sweeps are kept per node and index, once each.
    #[test]
    fn sweep_list() {
        let mut s = SweepList::default();
        let n = NodeId("n".into());
        s.add(n.clone(), "a");
        s.add(n.clone(), "a");
        assert_eq!(s.deletes[&n], vec!["a".to_string()]);
        assert_eq!(s.pending_for("a"), vec![n.clone()]);
        s.done(&n, "a");
        assert!(s.deletes.is_empty());
    }
}
