//! Migrations (DESIGN section 9): a change of the fleet (a node joins or is drained, a replica
//! group is added or removed, a failed node is replaced) carried out as one workflow per index,
//! each moving the shard copies whose owners change. This module holds what the replicated
//! state keeps about them: the change asked for ([`Change`]), the migration's record
//! ([`Migration`]), and each index's moves with their copy progress ([`IndexMove`]).
//!
//! - [`layout`]: the fleet a migration leads to, and the moves that get an index there.

pub mod layout;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;
use crate::state::ids::{GroupId, MigrationId, NodeId, ShardId, WorkflowId};
use crate::state::version::Version;

/// The change of the fleet a migration carries out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// A joining node takes the shards its group's rendezvous placement now gives it.
    JoinNode { node: NodeId },
    /// A node's shards move to the rest of its group; it is removed once they have.
    DrainNode { node: NodeId },
    /// An initializing group receives writes at once, is filled, then serves reads.
    AddGroup { group: GroupId },
    /// A group's copies are dropped (every other group keeps every shard); its nodes are removed.
    RemoveGroup { group: GroupId },
    /// A joining node takes over every copy a failed node of its group held.
    ReplaceNode { failed: NodeId, with: NodeId },
}

impl Change {
    pub fn kind(&self) -> &'static str {
        match self {
            Change::JoinNode { .. } => "join_node",
            Change::DrainNode { .. } => "drain_node",
            Change::AddGroup { .. } => "add_group",
            Change::RemoveGroup { .. } => "remove_group",
            Change::ReplaceNode { .. } => "replace_node",
        }
    }

    /// What it does, in a few words for lists and logs.
    pub fn describe(&self) -> String {
        match self {
            Change::JoinNode { node } => format!("node {node} joins"),
            Change::DrainNode { node } => format!("node {node} is drained and removed"),
            Change::AddGroup { group } => format!("replica group {group} is added"),
            Change::RemoveGroup { group } => format!("replica group {group} is removed"),
            Change::ReplaceNode { failed, with } => {
                format!("node {with} replaces failed node {failed}")
            }
        }
    }

    /// Whether the change is about `node` (or its group).
    pub fn involves(&self, node: &NodeId, state: &crate::state::ClusterState) -> bool {
        match self {
            Change::JoinNode { node: n } | Change::DrainNode { node: n } => n == node,
            Change::ReplaceNode { failed, with } => failed == node || with == node,
            Change::AddGroup { group } | Change::RemoveGroup { group } => {
                state.nodes.get(node).is_some_and(|n| n.group == *group)
            }
        }
    }

    /// The nodes this change brings into the fleet (they may hold shards while it runs).
    pub fn incoming(&self) -> Option<&NodeId> {
        match self {
            Change::JoinNode { node } | Change::ReplaceNode { with: node, .. } => Some(node),
            _ => None,
        }
    }
}

/// Where a migration stands as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MigrationStatus {
    Running,
    /// Paused by an operator: no step is taken (no fence is held while paused).
    Paused,
    /// Paused by itself: cutover kept failing its fence budget for longer than
    /// `drain_timeout`; resumed by an operator once the cause is fixed.
    Stuck {
        reason: String,
    },
    Done,
    /// Aborted before any index switched: the old placement serves, the copies made are removed.
    Aborted,
}

impl MigrationStatus {
    pub fn as_str(&self) -> &'static str {
        match self {
            MigrationStatus::Running => "running",
            MigrationStatus::Paused => "paused",
            MigrationStatus::Stuck { .. } => "stuck",
            MigrationStatus::Done => "done",
            MigrationStatus::Aborted => "aborted",
        }
    }

    pub fn is_finished(&self) -> bool {
        matches!(self, MigrationStatus::Done | MigrationStatus::Aborted)
    }

    /// Whether the executor takes its workflows' steps (an aborted migration's clean-up runs).
    pub fn runs(&self) -> bool {
        matches!(self, MigrationStatus::Running | MigrationStatus::Aborted)
    }
}

/// How a migration was asked to run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MigrationOptions {
    /// Cut over only when an operator asks (`migrate cutover`), not once the copy caught up.
    pub manual_cutover: bool,
    /// Run the delta pass under the fence (configurations A and B). Without it (C) the moved
    /// copies start behind and are repaired before the old copies go.
    pub delta_pass: bool,
    /// Documents per second the copy writes to each new copy (0: no limit).
    pub docs_per_s: u64,
    /// Started outside every allowed window, on purpose (`--force`).
    pub forced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    pub id: MigrationId,
    pub change: Change,
    pub options: MigrationOptions,
    pub status: MigrationStatus,
    /// One per index it moves (an index with nothing to move gets none).
    pub workflows: Vec<WorkflowId>,
    pub created_at_ms: u64,
    pub updated_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    /// An operator asked for cutover (with `manual_cutover`).
    pub cutover_requested: bool,
    /// What an operator was warned of when it started (configuration B, a forced window).
    pub warnings: Vec<String>,
}

/// Migrations kept, the finished ones up to [`KEEP_FINISHED`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migrations {
    next_id: u64,
    pub all: BTreeMap<MigrationId, Migration>,
}

/// Finished migrations kept for operators.
const KEEP_FINISHED: usize = 200;

impl Migrations {
    pub fn get(&self, id: MigrationId) -> Option<&Migration> {
        self.all.get(&id)
    }

    pub fn get_mut(&mut self, id: MigrationId) -> Result<&mut Migration, CommandError> {
        self.all.get_mut(&id).ok_or_else(|| Self::not_found(id))
    }

    /// The unfinished migration, if there is one (one runs at a time).
    pub fn current(&self) -> Option<&Migration> {
        self.all.values().find(|m| !m.status.is_finished())
    }

    pub fn not_found(id: MigrationId) -> CommandError {
        CommandError::not_found(format!(
            "no migration {id}: `miroir-ctl migrate status` lists them"
        ))
    }

    pub fn start(
        &mut self,
        change: Change,
        options: MigrationOptions,
        warnings: Vec<String>,
        at_ms: u64,
    ) -> &mut Migration {
        self.next_id += 1;
        let id = MigrationId(self.next_id);
        self.all.insert(
            id,
            Migration {
                id,
                change,
                options,
                status: MigrationStatus::Running,
                workflows: vec![],
                created_at_ms: at_ms,
                updated_at_ms: at_ms,
                finished_at_ms: None,
                cutover_requested: false,
                warnings,
            },
        );
        let finished: Vec<MigrationId> = self
            .all
            .values()
            .filter(|m| m.status.is_finished())
            .map(|m| m.id)
            .collect();
        for old in finished
            .iter()
            .take(finished.len().saturating_sub(KEEP_FINISHED))
        {
            self.all.remove(old);
        }
        self.all.get_mut(&id).expect("just inserted")
    }
}

/// One shard's move within an index: the copies it gains (filling until cutover) and the ones it
/// loses (leaving until released), with the copy's progress in the current round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMove {
    pub shard: ShardId,
    pub to: Vec<NodeId>,
    pub from: Vec<NodeId>,
    /// How far this round's copy got: documents older than this are done. `None`: not started.
    pub cursor: Option<Version>,
    /// This round's copy of the shard is finished.
    pub copied: bool,
    /// A write missed one of the new copies: the next round (or the delta pass) reads this shard
    /// from here at the latest.
    pub missed_since: Option<Version>,
    /// Where the round under way reads this shard from (the round's start, or an earlier miss).
    pub read_from: Option<Version>,
}

impl ShardMove {
    /// Whether anything is copied (a group's removal only drops copies).
    pub fn copies(&self) -> bool {
        !self.to.is_empty()
    }
}

/// A catch-up round: every moving shard is read from `from` on; the next round starts from
/// before this one's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRound {
    pub number: u32,
    pub from: Version,
    /// The version when the round began (after the sources' queues were waited for).
    pub started: Version,
    pub started_at_ms: u64,
    /// Documents written to the new copies in this round.
    pub written: u64,
}

/// What one index's move workflow holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexMove {
    pub migration: MigrationId,
    pub moves: BTreeMap<u32, ShardMove>,
    /// The round under way (`None` before the first and between rounds).
    pub round: Option<CopyRound>,
    /// The last round that finished.
    pub last_round: Option<CopyRound>,
    /// Where the first round's tombstones start (its start less the margin): tombstones from
    /// here on are kept while the move runs.
    pub first_started: Option<Version>,
    /// Documents written to new copies, all rounds and delta passes.
    pub copied: u64,
    /// Documents the delta passes wrote.
    pub delta_documents: u64,
    /// Documents the source shards held when the move was planned (an estimate for progress).
    pub planned_documents: u64,
    /// Cutover attempts so far, and when the first began (the drain timeout counts from it).
    pub cutover_attempts: u32,
    pub first_cutover_at_ms: Option<u64>,
    /// When the current fence went up.
    pub fenced_at_ms: Option<u64>,
    /// How long each fence held writes, in milliseconds (the newest last, a few kept).
    pub fence_ms: Vec<u64>,
    /// The epoch of the last change of this move's copies: routers are waited for past it.
    pub epoch: crate::state::ids::Epoch,
    /// When the old copies were released (cleanup waits the node-call deadline after it).
    pub released_at_ms: Option<u64>,
    /// Set by an abort: the `Undo` phase removes what was copied.
    pub aborted: bool,
}

/// Fence pauses kept per index move.
pub const KEEP_FENCES: usize = 20;

impl IndexMove {
    pub fn shard_ids(&self) -> Vec<ShardId> {
        self.moves.values().map(|m| m.shard).collect()
    }

    /// The shards that are copied to new copies.
    pub fn copied_shards(&self) -> Vec<ShardId> {
        self.moves
            .values()
            .filter(|m| m.copies())
            .map(|m| m.shard)
            .collect()
    }

    /// Where a shard's copy reads from in the round under way.
    pub fn read_from(&self, shard: ShardId) -> Version {
        let round = self.round.map_or(Version::ZERO, |r| r.from);
        self.moves
            .get(&shard.0)
            .and_then(|m| m.read_from)
            .unwrap_or(round)
    }

    /// Where the delta pass reads a shard from: before the last round's start by the margin
    /// for writes in flight, or from an earlier write that missed a new copy.
    pub fn delta_from(&self, shard: ShardId, margin: Version) -> Version {
        let from = self.last_round.map_or(Version::ZERO, |r| {
            Version(r.started.0.saturating_sub(margin.0))
        });
        match self.moves.get(&shard.0).and_then(|m| m.missed_since) {
            Some(missed) => missed.min(from),
            None => from,
        }
    }

    /// Every node that gains or loses a copy.
    pub fn nodes(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self
            .moves
            .values()
            .flat_map(|m| m.to.iter().chain(m.from.iter()))
            .cloned()
            .collect();
        all.sort();
        all.dedup();
        all
    }

    pub fn record_fence(&mut self, ms: u64) {
        self.fence_ms.push(ms);
        if self.fence_ms.len() > KEEP_FENCES {
            self.fence_ms.remove(0);
        }
    }
}
