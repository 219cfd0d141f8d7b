//! The steps of one index's move (DESIGN section 9, the move of a shard copy): what entering
//! each phase does to the shard map, the copy's rounds and progress, a fence lifted over its
//! budget, and an abort's undo. Every step is a compare-and-set on the workflow's step counter.

use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{Epoch, IndexUid, ShardId, WorkflowId};
use crate::state::migration::{CopyRound, IndexMove, MigrationStatus};
use crate::state::repair::behind::mark_moved_behind;
use crate::state::shard_map::{Fence, Role, ShardCopy};
use crate::state::version::Version;
use crate::state::workflows::{Phase, Workflow};
use crate::state::ClusterState;

use super::read_margin;

/// Fences every moving shard of a move's index (the cutover's drain).
pub(super) fn set_fence(state: &mut ClusterState, uid: &IndexUid, im: &IndexMove, fence: Fence) {
    if let Some(map) = state.shard_maps.get_mut(uid) {
        for s in im.moves.keys() {
            if let Some(a) = map.shards.get_mut(*s as usize) {
                a.fence = fence;
            }
        }
    }
}

fn not_a_move(id: WorkflowId) -> CommandError {
    CommandError::precondition(format!("workflow {id} is not a shard move"))
}

/// A new epoch for `uid`'s map (routers are waited for past it).
fn bump(state: &mut ClusterState, uid: &IndexUid) -> Epoch {
    let e = state.next_epoch();
    if let Some(m) = state.shard_maps.get_mut(uid) {
        m.epoch = e;
    }
    e
}

fn moves_mut(state: &mut ClusterState, id: WorkflowId) -> Result<&mut IndexMove, CommandError> {
    state
        .workflows
        .get_mut(id)?
        .moves
        .as_mut()
        .ok_or_else(|| not_a_move(id))
}

/// What entering `to` does, for a move checked to be going there (called by `AdvanceWorkflow`
/// before the workflow moves; finishing the migration comes after, see
/// [`super::migrations::move_done`]); `written`: documents the step wrote (the delta pass's).
pub fn enter(
    state: &mut ClusterState,
    w: &Workflow,
    to: Phase,
    at_ms: u64,
    written: u64,
) -> Result<(), CommandError> {
    let im = w.moves.clone().ok_or_else(|| not_a_move(w.id))?;
    let uid = &w.index;
    if !state.shard_maps.contains_key(uid) {
        // The index is gone (a deletion goes ahead of a move): only finishing is left.
        return Ok(());
    }
    match to {
        Phase::WaitDualWrite => {
            let map = state.shard_maps.get_mut(uid).expect("checked");
            for m in im.moves.values() {
                let Some(a) = map.shards.get_mut(m.shard.0 as usize) else {
                    continue;
                };
                for n in &m.to {
                    if !a.holds(n) {
                        a.copies.push(ShardCopy {
                            node: n.clone(),
                            role: Role::Filling,
                        });
                    }
                }
                for c in a.copies.iter_mut().filter(|c| m.from.contains(&c.node)) {
                    if c.role == Role::Serving {
                        c.role = Role::Leaving;
                    }
                }
            }
            let e = bump(state, uid);
            moves_mut(state, w.id)?.epoch = e;
        }
        Phase::Drain => {
            if im.round.is_some() || im.last_round.is_none() {
                return Err(CommandError::precondition(format!(
                    "workflow {} has not finished a copy round: it cannot cut over yet",
                    w.id
                )));
            }
            set_fence(state, uid, &im, Fence::Fenced);
            let e = bump(state, uid);
            let m = moves_mut(state, w.id)?;
            m.epoch = e;
            m.fenced_at_ms = Some(at_ms);
            m.cutover_attempts += 1;
            m.first_cutover_at_ms.get_or_insert(at_ms);
        }
        Phase::AwaitRepair => {
            // The switch: new copies serve (or, without a delta pass, start behind until
            // repaired), the old ones stay read and written until released, the fence lifts.
            let delta = state
                .migrations
                .get(im.migration)
                .is_none_or(|m| m.options.delta_pass);
            let margin = read_margin(state);
            let map = state.shard_maps.get_mut(uid).expect("checked");
            let mut behind = vec![];
            for m in im.moves.values() {
                let Some(a) = map.shards.get_mut(m.shard.0 as usize) else {
                    continue;
                };
                for c in a.copies.iter_mut().filter(|c| m.to.contains(&c.node)) {
                    if c.role == Role::Filling {
                        match delta {
                            true => c.role = Role::Serving,
                            false => behind.push((c.node.clone(), m.shard)),
                        }
                    }
                }
            }
            for (node, shard) in behind {
                let since = im.delta_from(shard, margin);
                mark_moved_behind(state, uid, &node, shard, since, at_ms);
            }
            set_fence(state, uid, &im, Fence::Open);
            let e = bump(state, uid);
            let m = moves_mut(state, w.id)?;
            m.epoch = e;
            if let Some(f) = m.fenced_at_ms.take() {
                m.record_fence(at_ms.saturating_sub(f));
            }
            m.delta_documents += written;
            m.copied += written;
        }
        Phase::Release => {
            let map = &state.shard_maps[uid];
            let waiting = im.moves.values().find(|m| {
                m.to.iter().any(|n| {
                    map.shards
                        .get(m.shard.0 as usize)
                        .and_then(|a| a.role_of(n))
                        == Some(Role::Behind)
                })
            });
            if let Some(m) = waiting {
                return Err(CommandError::precondition(format!(
                    "shard {} of `{uid}` has a new copy still behind: the old copies stay until the repair brings it to serving",
                    m.shard.0
                )));
            }
        }
        Phase::Cleanup => {
            let map = state.shard_maps.get_mut(uid).expect("checked");
            for m in im.moves.values() {
                if let Some(a) = map.shards.get_mut(m.shard.0 as usize) {
                    a.copies.retain(|c| !m.from.contains(&c.node));
                }
            }
            for m in im.moves.values() {
                for n in &m.from {
                    state.behind.remove(uid, n, m.shard.0);
                }
            }
            let e = bump(state, uid);
            let m = moves_mut(state, w.id)?;
            m.epoch = e;
            m.released_at_ms = Some(at_ms);
        }
        _ => {}
    }
    Ok(())
}

/// A move's step within its phase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MoveAction {
    /// A catch-up round begins (the sources' queues were waited for at `started`).
    StartRound { started: Version },
    /// How far the copy of some shards (read together from one source) got in the round (or
    /// the delta pass).
    Progress {
        shards: Vec<ShardId>,
        cursor: Option<Version>,
        copied: bool,
        written: u64,
    },
    /// Every shard of the round is copied (and its tombstones applied).
    EndRound,
    /// The fence went over its budget: lift it and copy again.
    LiftFence { reason: String },
    /// The documents the moving shards hold, counted when the copy began (for progress).
    Planned { documents: u64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MoveStep {
    pub id: WorkflowId,
    /// The workflow's step counter the proposer saw.
    pub step: u64,
    pub at_ms: u64,
    pub action: MoveAction,
}

impl MoveStep {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let w = state
            .workflows
            .get(self.id)
            .ok_or_else(|| crate::state::workflows::Workflows::not_found(self.id))?
            .clone();
        if let MoveAction::LiftFence { reason } = &self.action {
            lift_fence(state, &w, Some(self.step), self.at_ms, reason)?;
            let w = state.workflows.get(self.id).expect("exists").clone();
            return Ok(CommandResponse::Workflow(Box::new(w)));
        }
        let phase = match &self.action {
            MoveAction::Progress { .. } if w.phase == Phase::DeltaPass => Phase::DeltaPass,
            _ => Phase::Copy,
        };
        let margin = read_margin(state);
        let (id, at_ms) = (self.id, self.at_ms);
        let w = state.workflows.progress(id, self.step, phase, at_ms, |w| {
            let im = w.moves.as_mut().ok_or_else(|| not_a_move(id))?;
            match self.action {
                MoveAction::StartRound { started } => start_round(im, started, margin, at_ms),
                MoveAction::Progress {
                    shards,
                    cursor,
                    copied,
                    written,
                } => {
                    if let Some(s) = shards.iter().find(|s| !im.moves.contains_key(&s.0)) {
                        return Err(CommandError::not_found(format!(
                            "workflow {id} does not move shard {}",
                            s.0
                        )));
                    }
                    for shard in &shards {
                        let m = im.moves.get_mut(&shard.0).expect("checked");
                        m.cursor = cursor;
                        m.copied = copied;
                    }
                    im.copied += written;
                    match (phase, im.round.as_mut()) {
                        (Phase::DeltaPass, _) => im.delta_documents += written,
                        (_, Some(r)) => r.written += written,
                        (_, None) => {
                            return Err(CommandError::precondition(format!(
                                "workflow {id} has no copy round under way"
                            )))
                        }
                    }
                    Ok(())
                }
                MoveAction::EndRound => {
                    let Some(r) = im.round else {
                        return Err(CommandError::precondition(format!(
                            "workflow {id} has no copy round under way"
                        )));
                    };
                    if let Some(m) = im.moves.values().find(|m| !m.copied) {
                        return Err(CommandError::precondition(format!(
                            "round {} of workflow {id} has not copied shard {} yet",
                            r.number, m.shard.0
                        )));
                    }
                    im.last_round = Some(r);
                    im.round = None;
                    Ok(())
                }
                MoveAction::Planned { documents } => {
                    im.planned_documents = documents;
                    Ok(())
                }
                MoveAction::LiftFence { .. } => unreachable!("handled above"),
            }
        })?;
        Ok(CommandResponse::Workflow(Box::new(w.clone())))
    }
}

fn start_round(
    im: &mut IndexMove,
    started: Version,
    margin: Version,
    at_ms: u64,
) -> Result<(), CommandError> {
    if im.round.is_some() {
        return Err(CommandError::precondition(
            "a copy round is already under way",
        ));
    }
    let from = im.last_round.map_or(Version::ZERO, |r| {
        Version(r.started.0.saturating_sub(margin.0))
    });
    im.round = Some(CopyRound {
        number: im.last_round.map_or(1, |r| r.number + 1),
        from,
        started,
        started_at_ms: at_ms,
        written: 0,
    });
    im.first_started
        .get_or_insert(Version(started.0.saturating_sub(margin.0)));
    for m in im.moves.values_mut() {
        m.read_from = Some(m.missed_since.take().map_or(from, |v| v.min(from)));
        m.cursor = None;
        m.copied = !m.copies();
    }
    Ok(())
}

/// Lifts a move's fence and sends it back to copy (a new round follows); a cutover that has
/// kept failing for longer than `drain_timeout` pauses its migration as stuck.
pub fn lift_fence(
    state: &mut ClusterState,
    w: &Workflow,
    step: Option<u64>,
    at_ms: u64,
    why: &str,
) -> Result<(), CommandError> {
    let im = w.moves.clone().ok_or_else(|| not_a_move(w.id))?;
    state.workflows.rewind(
        w.id,
        step,
        Phase::Copy,
        at_ms,
        format!("fence lifted: {why}"),
    )?;
    set_fence(state, &w.index, &im, Fence::Open);
    let e = bump(state, &w.index);
    let timeout = state.settings.duration_ms("drain_timeout");
    let m = moves_mut(state, w.id)?;
    m.epoch = e;
    if let Some(f) = m.fenced_at_ms.take() {
        m.record_fence(at_ms.saturating_sub(f));
    }
    let since = m.first_cutover_at_ms.unwrap_or(at_ms);
    let (attempts, stuck) = (m.cutover_attempts, at_ms.saturating_sub(since) > timeout);
    if stuck {
        let mig = state.migrations.get_mut(im.migration)?;
        if mig.status == MigrationStatus::Running {
            mig.status = MigrationStatus::Stuck {
                reason: format!(
                    "`{}` could not cut over within the fence budget in {attempts} attempts over the drain timeout ({} s); last: {why}. Fix the cause (a slow node queue, a router that does not acknowledge), then `miroir-ctl migrate resume {}`",
                    w.index,
                    timeout / 1000,
                    im.migration
                ),
            };
            mig.updated_at_ms = at_ms;
        }
    }
    Ok(())
}

/// Undoes a move before its switch: its new copies leave the map, the old ones serve again, the
/// fence (if up) lifts; the `Undo` phase then deletes what was copied once no router writes to
/// the new copies (a move that added nothing is done at once).
pub fn undo(state: &mut ClusterState, w: &Workflow, at_ms: u64) -> Result<(), CommandError> {
    let im = w.moves.clone().ok_or_else(|| not_a_move(w.id))?;
    if w.phase == Phase::AddCopies {
        state.workflows.rewind(
            w.id,
            None,
            Phase::Done,
            at_ms,
            "aborted before it added copies".into(),
        )?;
        moves_mut(state, w.id)?.aborted = true;
        return Ok(());
    }
    state.workflows.rewind(
        w.id,
        None,
        Phase::Undo,
        at_ms,
        "aborted: the new copies leave the shard map".into(),
    )?;
    if let Some(map) = state.shard_maps.get_mut(&w.index) {
        for m in im.moves.values() {
            if let Some(a) = map.shards.get_mut(m.shard.0 as usize) {
                a.copies.retain(|c| !m.to.contains(&c.node));
                for c in a.copies.iter_mut().filter(|c| m.from.contains(&c.node)) {
                    if c.role == Role::Leaving {
                        c.role = Role::Serving;
                    }
                }
            }
        }
    }
    set_fence(state, &w.index, &im, Fence::Open);
    let e = bump(state, &w.index);
    let m = moves_mut(state, w.id)?;
    m.epoch = e;
    m.aborted = true;
    if let Some(f) = m.fenced_at_ms.take() {
        m.record_fence(at_ms.saturating_sub(f));
    }
    m.released_at_ms = Some(at_ms);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::commands::{
        AddNode, AdvanceWorkflow, ChangeMigration, MigrationAction, StartMigration,
    };
    use crate::state::ids::{GroupId, NodeId};
    use crate::state::migration::Change;
    use crate::state::node::NodeState;
    use crate::state::tests::cluster_with_index;
    use crate::state::workflows::StepRef;
    use crate::state::Command;

    fn advance(s: &mut ClusterState, id: WorkflowId, to: Phase) -> CommandResult {
        let step = s.workflows.get(id).unwrap().step;
        Command::AdvanceWorkflow(AdvanceWorkflow {
            step: StepRef { id, step, to },
            at_ms: 10,
            note: to.as_str().into(),
            deleted_documents: 0,
            swept_later: vec![],
            written_documents: 0,
        })
        .apply(s)
    }

    fn act(s: &mut ClusterState, id: WorkflowId, action: MoveAction) -> CommandResult {
        let step = s.workflows.get(id).unwrap().step;
        Command::MoveStep(MoveStep {
            id,
            step,
            at_ms: 10,
            action,
        })
        .apply(s)
    }

    fn joined() -> (
        ClusterState,
        IndexUid,
        WorkflowId,
        crate::state::ids::MigrationId,
    ) {
        let (mut s, uid) = cluster_with_index();
        Command::AddNode(AddNode {
            id: NodeId("new".into()),
            address: "http://new:7700".into(),
            group: GroupId(0),
        })
        .apply(&mut s)
        .unwrap();
        let Ok(CommandResponse::Migration(m)) = Command::StartMigration(StartMigration {
            change: Change::JoinNode {
                node: NodeId("new".into()),
            },
            manual_cutover: false,
            docs_per_s: None,
            forced: false,
            at_ms: 1,
        })
        .apply(&mut s) else {
            panic!("started")
        };
        (s, uid, m.workflows[0], m.id)
    }

    fn copy_round(s: &mut ClusterState, id: WorkflowId) {
        act(
            s,
            id,
            MoveAction::StartRound {
                started: Version(1 << 30),
            },
        )
        .unwrap();
        let shards: Vec<ShardId> = s
            .workflows
            .get(id)
            .unwrap()
            .moves
            .as_ref()
            .unwrap()
            .shard_ids();
        for shard in shards {
            let done = MoveAction::Progress {
                shards: vec![shard],
                cursor: None,
                copied: true,
                written: 1,
            };
            act(s, id, done).unwrap();
        }
        act(s, id, MoveAction::EndRound).unwrap();
    }

    /// A join goes through dual write, copy, a fence lifted once, the switch and the release:
    /// the new node ends up serving exactly the shards it was given, the old owners hold them no
    /// more, and the node becomes active.
    #[test]
    fn a_join_moves_its_shards_and_activates_the_node() {
        let (mut s, uid, id, mig) = joined();
        let new = NodeId("new".into());
        assert!(
            Command::StartMigration(StartMigration {
                change: Change::DrainNode {
                    node: NodeId("g0n0".into())
                },
                manual_cutover: false,
                docs_per_s: None,
                forced: false,
                at_ms: 1,
            })
            .apply(&mut s)
            .is_err(),
            "one migration at a time"
        );
        let moved: Vec<u32> = s
            .workflows
            .get(id)
            .unwrap()
            .moves
            .as_ref()
            .unwrap()
            .moves
            .keys()
            .copied()
            .collect();
        advance(&mut s, id, Phase::WaitDualWrite).unwrap();
        let a = &s.shard_maps[&uid].shards[moved[0] as usize];
        assert_eq!(a.role_of(&new), Some(Role::Filling));
        assert!(a.copies.iter().any(|c| c.role == Role::Leaving));
        advance(&mut s, id, Phase::Copy).unwrap();
        assert!(
            advance(&mut s, id, Phase::Drain).is_err(),
            "no round copied yet"
        );
        copy_round(&mut s, id);
        advance(&mut s, id, Phase::Drain).unwrap();
        assert_eq!(
            s.shard_maps[&uid].shards[moved[0] as usize].fence,
            Fence::Fenced
        );
        act(
            &mut s,
            id,
            MoveAction::LiftFence {
                reason: "over budget".into(),
            },
        )
        .unwrap();
        assert_eq!(s.workflows.get(id).unwrap().phase, Phase::Copy);
        assert_eq!(
            s.shard_maps[&uid].shards[moved[0] as usize].fence,
            Fence::Open
        );
        copy_round(&mut s, id);
        for to in [Phase::Drain, Phase::DeltaPass, Phase::AwaitRepair] {
            advance(&mut s, id, to).unwrap();
        }
        let a = &s.shard_maps[&uid].shards[moved[0] as usize];
        assert_eq!(
            (a.role_of(&new), a.fence),
            (Some(Role::Serving), Fence::Open)
        );
        let abort = ChangeMigration {
            id: mig,
            action: MigrationAction::Abort,
            at_ms: 11,
        };
        assert!(
            Command::ChangeMigration(abort).apply(&mut s).is_err(),
            "switched: no abort"
        );
        for to in [Phase::Release, Phase::Cleanup, Phase::Done] {
            advance(&mut s, id, to).unwrap();
        }
        let map = &s.shard_maps[&uid];
        for sh in &moved {
            let a = &map.shards[*sh as usize];
            assert_eq!(a.copies.len(), 2, "one copy per group");
            assert_eq!(a.role_of(&new), Some(Role::Serving));
        }
        let im = s.workflows.get(id).unwrap().moves.clone().unwrap();
        assert_eq!((im.cutover_attempts, im.fence_ms.len()), (2, 2));
        assert_eq!(s.nodes[&new].state, NodeState::Active);
        assert!(s.migrations.get(mig).unwrap().status.is_finished());
    }

    /// An abort before the switch drops the new copies and serves the old ones again.
    #[test]
    fn an_abort_before_the_switch_restores_the_old_placement() {
        let (mut s, uid, id, mig) = joined();
        let before = s.shard_maps[&uid].shards.clone();
        advance(&mut s, id, Phase::WaitDualWrite).unwrap();
        advance(&mut s, id, Phase::Copy).unwrap();
        copy_round(&mut s, id);
        advance(&mut s, id, Phase::Drain).unwrap();
        let abort = ChangeMigration {
            id: mig,
            action: MigrationAction::Abort,
            at_ms: 11,
        };
        Command::ChangeMigration(abort).apply(&mut s).unwrap();
        assert_eq!(s.workflows.get(id).unwrap().phase, Phase::Undo);
        assert_eq!(s.shard_maps[&uid].shards, before);
        advance(&mut s, id, Phase::Done).unwrap();
        assert_eq!(s.nodes[&NodeId("new".into())].state, NodeState::Joining);
        assert_eq!(s.migrations.get(mig).unwrap().status.as_str(), "aborted");
    }

    /// A cutover that keeps failing past the drain timeout pauses its migration as stuck;
    /// pausing lifts a fence that is up.
    #[test]
    fn a_cutover_failing_too_long_is_stuck() {
        let (mut s, uid, id, mig) = joined();
        advance(&mut s, id, Phase::WaitDualWrite).unwrap();
        advance(&mut s, id, Phase::Copy).unwrap();
        copy_round(&mut s, id);
        advance(&mut s, id, Phase::Drain).unwrap();
        let step = s.workflows.get(id).unwrap().step;
        let late = 10 + 6 * 60_000;
        Command::MoveStep(MoveStep {
            id,
            step,
            at_ms: late,
            action: MoveAction::LiftFence {
                reason: "slow node".into(),
            },
        })
        .apply(&mut s)
        .unwrap();
        assert_eq!(s.migrations.get(mig).unwrap().status.as_str(), "stuck");
        let resume = ChangeMigration {
            id: mig,
            action: MigrationAction::Resume,
            at_ms: late,
        };
        Command::ChangeMigration(resume).apply(&mut s).unwrap();
        copy_round(&mut s, id);
        advance(&mut s, id, Phase::Drain).unwrap();
        let pause = ChangeMigration {
            id: mig,
            action: MigrationAction::Pause,
            at_ms: late,
        };
        Command::ChangeMigration(pause).apply(&mut s).unwrap();
        let w = s.workflows.get(id).unwrap();
        assert_eq!(w.phase, Phase::Copy);
        assert!(s.shard_maps[&uid]
            .shards
            .iter()
            .all(|a| a.fence == Fence::Open));
    }
}
