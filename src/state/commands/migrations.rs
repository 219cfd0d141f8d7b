//! Migration commands: starting one (its plan, one move workflow per index whose shards move),
//! an operator's pause, resume, cutover and abort, and what finishing one does to the fleet.
//! The steps a move takes are in [`super::moves`].

use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{GroupId, IndexUid, MigrationId, NodeId};
use crate::state::migration::layout;
use crate::state::migration::{Change, IndexMove, Migration, MigrationOptions, MigrationStatus};
use crate::state::node::{GroupState, NodeState};
use crate::state::shard_map::Role;
use crate::state::workflows::WorkflowKind;
use crate::state::ClusterState;

/// Starts a migration: checks the change against the fleet, plans every index's moves on the
/// layout it leads to, and starts one move workflow per index with shards to move.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartMigration {
    pub change: Change,
    pub manual_cutover: bool,
    /// Documents per second per new copy; `None` takes `migration_docs_per_s`.
    pub docs_per_s: Option<u64>,
    /// Started outside the allowed windows on purpose.
    pub forced: bool,
    pub at_ms: u64,
}

impl StartMigration {
    pub fn validate(&self) -> Result<(), CommandError> {
        match &self.change {
            Change::JoinNode { node } | Change::DrainNode { node } => {
                NodeId::parse(&node.0)?;
            }
            Change::ReplaceNode { failed, with } => {
                NodeId::parse(&failed.0)?;
                NodeId::parse(&with.0)?;
                if failed == with {
                    return Err(CommandError::invalid(
                        "a node cannot replace itself: give the new node's id with --with",
                    ));
                }
            }
            Change::AddGroup { .. } | Change::RemoveGroup { .. } => {}
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if let Some(m) = state.migrations.current() {
            return Err(CommandError::exists(format!(
                "migration {} ({}) is {}: one migration runs at a time; wait for it, or `miroir-ctl migrate abort {}`",
                m.id,
                m.change.describe(),
                m.status.as_str(),
                m.id
            )));
        }
        let window = state.settings.cron("migration_window");
        if !self.forced && !window.matches(self.at_ms) {
            let next = window
                .next_after(self.at_ms)
                .map(|ms| format!("; it next opens at {}", crate::state::schedule::utc(ms)))
                .unwrap_or_default();
            return Err(CommandError::precondition(format!(
                "now is outside the migration window `{}` (UTC){next}: wait for it, or start with --force",
                window.expression()
            )));
        }
        check_change(state, &self.change)?;
        let delta_pass = state.settings.on("migration_delta_pass");
        let anti_entropy = !state.settings.schedule().is_off();
        if !delta_pass && !anti_entropy {
            return Err(CommandError::precondition(
                "migration_delta_pass is off and anti-entropy is off: moved copies would have nothing to bring them up to date; turn one of them on",
            ));
        }
        let mut warnings = vec![];
        if !anti_entropy {
            warnings.push(
                "anti-entropy is off (anti_entropy_schedule): the delta pass is the only check on what this migration copies; run `miroir-ctl anti-entropy verify` afterwards".to_string(),
            );
        }
        if self.forced {
            warnings
                .push("started with --force (outside the migration window allowed)".to_string());
        }
        let plans = plan_all(state, &self.change)?;
        let docs_per_s = self
            .docs_per_s
            .unwrap_or_else(|| state.settings.int("migration_docs_per_s"));
        let options = MigrationOptions {
            manual_cutover: self.manual_cutover,
            delta_pass,
            docs_per_s,
            forced: self.forced,
        };
        match &self.change {
            Change::DrainNode { node } => state.node_mut(node)?.state = NodeState::Draining,
            Change::RemoveGroup { group } => {
                if let Some(g) = state.groups.get_mut(group) {
                    g.state = GroupState::Draining;
                }
            }
            _ => {}
        }
        state.topology_version += 1;
        let id = state
            .migrations
            .start(self.change.clone(), options, warnings, self.at_ms)
            .id;
        let mut started = vec![];
        for (uid, physical, moves) in plans {
            let w = state
                .workflows
                .start(WorkflowKind::ShardMove, uid, physical, None, self.at_ms);
            w.moves = Some(IndexMove {
                migration: id,
                moves,
                round: None,
                last_round: None,
                first_started: None,
                copied: 0,
                delta_documents: 0,
                planned_documents: 0,
                cutover_attempts: 0,
                first_cutover_at_ms: None,
                fenced_at_ms: None,
                fence_ms: vec![],
                epoch: Default::default(),
                released_at_ms: None,
                aborted: false,
            });
            started.push(w.id);
        }
        state.migrations.get_mut(id)?.workflows = started.clone();
        if started.is_empty() {
            finish(state, id, self.at_ms);
        }
        let m = state.migrations.get(id).expect("just started").clone();
        Ok(CommandResponse::Migration(Box::new(m)))
    }
}

/// Whether the fleet allows `change` now.
fn check_change(state: &ClusterState, change: &Change) -> Result<(), CommandError> {
    let node = |id: &NodeId| {
        state.nodes.get(id).ok_or_else(|| {
            CommandError::not_found(format!(
                "no node {id}: `miroir-ctl nodes list` shows the registered nodes"
            ))
        })
    };
    let group = |id: &GroupId| {
        state.groups.get(id).ok_or_else(|| {
            CommandError::not_found(format!(
                "no replica group {id}: `miroir-ctl nodes list` shows the groups"
            ))
        })
    };
    let active_groups = state
        .groups
        .values()
        .filter(|g| g.state == GroupState::Active)
        .count();
    match change {
        Change::JoinNode { node: id } => {
            let n = node(id)?;
            if n.state != NodeState::Joining {
                return Err(CommandError::precondition(format!(
                    "node {id} is {}, not joining: only a node added to a fleet that holds data joins (`miroir-ctl nodes add`)",
                    n.state.as_str()
                )));
            }
            if group(&n.group)?.state != GroupState::Active {
                return Err(CommandError::precondition(format!(
                    "node {id}'s replica group {} is not active: add the whole group with `miroir-ctl migrate start --add-group {}`",
                    n.group, n.group
                )));
            }
        }
        Change::DrainNode { node: id } => {
            let n = node(id)?;
            if !matches!(n.state, NodeState::Active | NodeState::Failed) {
                return Err(CommandError::precondition(format!(
                    "node {id} is {}: only an active or failed node is drained",
                    n.state.as_str()
                )));
            }
        }
        Change::AddGroup { group: g } => {
            if group(g)?.state != GroupState::Initializing {
                return Err(CommandError::precondition(format!(
                    "replica group {g} is {}: only a group added while indexes hold data (initializing) is filled",
                    group(g)?.state.as_str()
                )));
            }
        }
        Change::RemoveGroup { group: g } => {
            if group(g)?.state != GroupState::Active || active_groups < 2 {
                return Err(CommandError::precondition(format!(
                    "replica group {g} cannot be removed: it must be active and another active group must remain to hold every shard"
                )));
            }
        }
        Change::ReplaceNode { failed, with } => {
            let (f, w) = (node(failed)?, node(with)?);
            if f.state != NodeState::Failed {
                return Err(CommandError::precondition(format!(
                    "node {failed} is {}, not failed: mark it failed first (`miroir-ctl nodes fail {failed}`), or drain it",
                    f.state.as_str()
                )));
            }
            if w.state != NodeState::Joining || w.group != f.group {
                return Err(CommandError::precondition(format!(
                    "node {with} must be a joining node of group {} (add it with `miroir-ctl nodes add {with} ADDRESS --group {} --no-join`)",
                    f.group, f.group
                )));
            }
        }
    }
    Ok(())
}

pub type Plan = (
    IndexUid,
    String,
    std::collections::BTreeMap<u32, crate::state::migration::ShardMove>,
);

/// What starting `change` would move, index by index (physical name and moves), with every
/// check `StartMigration` makes except the one-at-a-time and window rules; changes nothing.
pub fn preview(state: &ClusterState, change: &Change) -> Result<Vec<Plan>, CommandError> {
    check_change(state, change)?;
    plan_all(state, change)
}

/// Every index's moves under `change`, each checked: a copied shard has a copy to fill from, and
/// a shard keeps a serving copy through the move.
fn plan_all(state: &ClusterState, change: &Change) -> Result<Vec<Plan>, CommandError> {
    let mut plans = vec![];
    for (uid, map) in &state.shard_maps {
        let Some(index) = state.indexes.get(uid) else {
            continue;
        };
        let rf = index.replication_factor.max(1);
        let members = layout::members(state, Some(change), rf)?;
        let moves = layout::plan(map, &members, rf);
        for m in moves.values() {
            let a = &map.shards[m.shard.0 as usize];
            let live = |n: &NodeId| {
                state
                    .nodes
                    .get(n)
                    .is_some_and(|n| n.state != NodeState::Failed)
            };
            let kept = a
                .copies
                .iter()
                .any(|c| c.role == Role::Serving && !m.from.contains(&c.node) && live(&c.node));
            let source = layout::source_of(state, uid, m.shard);
            if m.copies() && source.is_none() {
                return Err(CommandError::precondition(format!(
                    "shard {} of `{uid}` has no serving copy on a live node to copy from: bring its nodes back (or wait for repairs) first",
                    m.shard.0
                )));
            }
            if !m.copies() && !kept {
                return Err(CommandError::precondition(format!(
                    "shard {} of `{uid}` would keep no serving copy: wait until repairs bring its other copies back (`miroir-ctl shards list --index {uid}`)",
                    m.shard.0
                )));
            }
        }
        if !moves.is_empty() {
            plans.push((uid.clone(), index.physical(), moves));
        }
    }
    Ok(plans)
}

/// What an operator asks of a running migration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationAction {
    /// Stop taking steps (a fence up is lifted first).
    Pause,
    /// Go on after a pause or after being stuck (the drain timeout counts afresh).
    Resume,
    /// Cut over a migration started with `--manual-cutover` once its copies caught up.
    Cutover,
    /// Undo every move whose new copies do not serve yet; refused once one does.
    Abort,
}

impl MigrationAction {
    pub fn as_str(&self) -> &'static str {
        match self {
            MigrationAction::Pause => "pause",
            MigrationAction::Resume => "resume",
            MigrationAction::Cutover => "cutover",
            MigrationAction::Abort => "abort",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeMigration {
    pub id: MigrationId,
    pub action: MigrationAction,
    pub at_ms: u64,
}

impl ChangeMigration {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let m = state
            .migrations
            .get(self.id)
            .ok_or_else(|| crate::state::migration::Migrations::not_found(self.id))?
            .clone();
        let refuse = |why: String| Err(CommandError::precondition(why));
        match (&self.action, &m.status) {
            (_, s) if s.is_finished() => {
                return refuse(format!("migration {} is {}", m.id, s.as_str()));
            }
            (MigrationAction::Pause, MigrationStatus::Running) => {
                lift_fences(state, &m, self.at_ms, "paused by an operator")?;
                state.migrations.get_mut(m.id)?.status = MigrationStatus::Paused;
            }
            (MigrationAction::Pause, s) => {
                return refuse(format!("migration {} is already {}", m.id, s.as_str()));
            }
            (MigrationAction::Resume, MigrationStatus::Paused | MigrationStatus::Stuck { .. }) => {
                for id in &m.workflows {
                    if let Some(im) = state.workflows.get_mut(*id)?.moves.as_mut() {
                        im.first_cutover_at_ms = None;
                    }
                }
                state.migrations.get_mut(m.id)?.status = MigrationStatus::Running;
            }
            (MigrationAction::Resume, s) => {
                return refuse(format!("migration {} is {}, not paused", m.id, s.as_str()));
            }
            (MigrationAction::Cutover, _) if !m.options.manual_cutover => {
                return refuse(format!(
                    "migration {} cuts over by itself once its copies caught up (it was not started with --manual-cutover)",
                    m.id
                ));
            }
            (MigrationAction::Cutover, _) => {
                state.migrations.get_mut(m.id)?.cutover_requested = true;
            }
            (MigrationAction::Abort, _) => abort(state, &m, self.at_ms)?,
        }
        let now = state.migrations.get_mut(m.id)?;
        now.updated_at_ms = self.at_ms;
        Ok(CommandResponse::Migration(Box::new(now.clone())))
    }
}

/// Lifts the fence of every move of `m` that holds one, sending it back to copy.
fn lift_fences(
    state: &mut ClusterState,
    m: &Migration,
    at_ms: u64,
    why: &str,
) -> Result<(), CommandError> {
    for id in &m.workflows {
        let w = state.workflows.get(*id).cloned();
        if let Some(w) = w.filter(|w| w.phase.fenced()) {
            super::moves::lift_fence(state, &w, None, at_ms, why)?;
        }
    }
    Ok(())
}

/// Aborts `m`: every move still before its switch drops its new copies (the `Undo` phase then
/// deletes what was copied); refused, changing nothing, once any move switched.
fn abort(state: &mut ClusterState, m: &Migration, at_ms: u64) -> Result<(), CommandError> {
    let switched: Vec<String> = m
        .workflows
        .iter()
        .filter_map(|id| state.workflows.get(*id))
        .filter(|w| !w.phase.before_switch() && !w.moves.as_ref().is_some_and(|im| im.aborted))
        .map(|w| w.index.0.clone())
        .collect();
    if !switched.is_empty() {
        return Err(CommandError::precondition(format!(
            "migration {} already switched `{}` to the new copies, so abort cannot undo it; roll back with the reverse migration instead (drain the node that joined, or add back what was removed)",
            m.id,
            switched.join("`, `")
        )));
    }
    for id in &m.workflows {
        let Some(w) = state.workflows.get(*id).cloned() else {
            continue;
        };
        if w.is_done() {
            continue;
        }
        super::moves::undo(state, &w, at_ms)?;
    }
    // The fleet goes back to how it was.
    match &m.change {
        Change::DrainNode { node } => {
            if let Some(n) = state.nodes.get_mut(node) {
                if n.state == NodeState::Draining {
                    n.state = NodeState::Active;
                }
            }
        }
        Change::RemoveGroup { group } => {
            if let Some(g) = state.groups.get_mut(group) {
                g.state = GroupState::Active;
            }
        }
        _ => {}
    }
    state.topology_version += 1;
    let mig = state.migrations.get_mut(m.id)?;
    mig.status = MigrationStatus::Aborted;
    mig.finished_at_ms = Some(at_ms);
    Ok(())
}

/// Called when one of a migration's moves is done: once all are, the fleet change takes effect
/// (a joined node becomes active, a drained node or removed group is forgotten).
pub fn move_done(state: &mut ClusterState, id: MigrationId, at_ms: u64) {
    let Some(m) = state.migrations.get(id) else {
        return;
    };
    let all_done = m
        .workflows
        .iter()
        .all(|w| state.workflows.get(*w).is_none_or(|w| w.is_done()));
    if all_done && !m.status.is_finished() {
        finish(state, id, at_ms);
    }
}

fn finish(state: &mut ClusterState, id: MigrationId, at_ms: u64) {
    let Some(m) = state.migrations.get(id).cloned() else {
        return;
    };
    let activate = |state: &mut ClusterState, n: &NodeId| {
        if let Some(n) = state.nodes.get_mut(n) {
            n.state = NodeState::Active;
        }
    };
    match &m.change {
        Change::JoinNode { node } => activate(state, node),
        Change::DrainNode { node } => forget_node(state, node),
        Change::AddGroup { group } => {
            let joining: Vec<NodeId> = state
                .nodes
                .values()
                .filter(|n| n.group == *group && n.state == NodeState::Joining)
                .map(|n| n.id.clone())
                .collect();
            for n in &joining {
                activate(state, n);
            }
            if let Some(g) = state.groups.get_mut(group) {
                g.state = GroupState::Active;
            }
        }
        Change::RemoveGroup { group } => {
            let nodes: Vec<NodeId> = state
                .nodes
                .values()
                .filter(|n| n.group == *group)
                .map(|n| n.id.clone())
                .collect();
            for n in &nodes {
                forget_node(state, n);
            }
        }
        Change::ReplaceNode { failed, with } => {
            forget_node(state, failed);
            activate(state, with);
        }
    }
    state.topology_version += 1;
    if let Ok(mig) = state.migrations.get_mut(id) {
        mig.status = MigrationStatus::Done;
        mig.finished_at_ms = Some(at_ms);
        mig.updated_at_ms = at_ms;
    }
}

/// Removes a node the migration emptied (a node some map still uses, as when an index was
/// created on it meanwhile, stays; `nodes list` shows it).
fn forget_node(state: &mut ClusterState, node: &NodeId) {
    if state.shard_maps.values().any(|m| m.uses(node)) {
        return;
    }
    let Some(n) = state.nodes.remove(node) else {
        return;
    };
    state.sweeps.deletes.remove(node);
    state.behind.forget_node(node);
    if !state.nodes.values().any(|o| o.group == n.group) {
        state.groups.remove(&n.group);
    }
}
