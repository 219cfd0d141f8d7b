//! The replicated state: what the coordinators agree on through Raft.
//!
//! This module is pure data and rules, with no I/O: the coordinator's state
//! machine feeds it committed [`Command`]s in log order.
//!
//! # Layout
//! - [`ids`]: typed identifiers.
//! - [`node`], [`index`], [`shard_map`], [`settings`], [`workflows`]: the records and their rules.
//! - [`tasks`]: the task registry, what a task does ([`task_kind`]) and webhooks ([`webhooks`]).
//! - [`documents`]: document versions ([`version`]) and tombstones ([`tombstones`]).
//! - [`repair`]: behind copies and what a repair holds.
//! - [`routers`]: router-id claims and the owed lease length ([`lease_ceiling`]).
//! - [`command`]: the Raft log payload; [`commands`]: one file per command family.
//! - [`error`]: why a command was refused.

pub mod command;
pub mod commands;
pub mod documents;
pub mod error;
pub mod ids;
pub mod index;
pub mod migration;
pub mod node;
pub mod repair;
pub mod routers;
pub mod schedule;
pub mod settings;
pub mod shard_map;
pub mod tasks;
pub mod workflows;

// The paths these modules had before they were grouped.
pub use documents::{fingerprint, tombstones, version};
pub use routers::lease_ceiling;
pub use tasks::{kind as task_kind, webhooks};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use command::{Command, CommandResponse, CommandResult};
pub use error::CommandError;
pub use ids::{Epoch, GroupId, IndexUid, MigrationId, NodeId, ShardId, TaskUid};
pub use index::Index;
pub use node::{GroupState, Node, NodeState, ReplicaGroup};
pub use settings::Settings;
pub use shard_map::{Fence, Role, ShardAssignment, ShardCopy, ShardMap};
pub use task_kind::TaskKind;
pub use tasks::{NodeTask, TaskRecord, TaskRegistry, TaskStatus};
pub use version::Version;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    /// Set by the first committed entry; identifies this cluster's history.
    pub cluster_id: Option<String>,
    pub settings: Settings,
    pub nodes: BTreeMap<NodeId, Node>,
    pub groups: BTreeMap<GroupId, ReplicaGroup>,
    pub indexes: BTreeMap<IndexUid, Index>,
    pub shard_maps: BTreeMap<IndexUid, ShardMap>,
    pub tasks: TaskRegistry,
    /// The last epoch handed to any shard map.
    pub last_epoch: Epoch,
    /// Bumped on every node or group change, so watchers resend the node list.
    pub topology_version: u64,
    /// Counts setting changes; a setting's version is the revision that set
    /// it, unique even when several changes share one log entry.
    pub revision: u64,
    /// Meilisearch's webhooks, by uuid; fired by routers once per Miroir task.
    #[serde(default)]
    pub webhooks: BTreeMap<String, webhooks::Webhook>,
    /// Which router process holds each router id.
    #[serde(default)]
    pub routers: routers::RouterClaims,
    /// The lease length still owed after `lease_ms` was lowered.
    #[serde(default)]
    pub lease_ceiling: lease_ceiling::LeaseCeiling,
    /// Multi-step changes run by the leader (index deletion first).
    #[serde(default)]
    pub workflows: workflows::Workflows,
    /// Changes owed to nodes that were down when a workflow needed them.
    #[serde(default)]
    pub sweeps: workflows::SweepList,
    /// The last generation each index uid was created with, kept after the
    /// index is deleted, so a re-created index gets a new physical name.
    #[serde(default)]
    pub generations: BTreeMap<IndexUid, u32>,
    /// Tasks a workflow finished whose webhooks no router has fired yet
    /// (a router takes them with `TakeWorkflowFinished`).
    #[serde(default)]
    pub webhook_outbox: std::collections::BTreeSet<TaskUid>,
    /// Every delete, kept for `tombstone_retention_s` (I4).
    #[serde(default)]
    pub tombstones: tombstones::Tombstones,
    /// Copies that missed writes, and why (repaired back to serving by the leader).
    #[serde(default)]
    pub behind: repair::BehindCopies,
    /// Anti-entropy between passes: the schedule's round, cursors, last results.
    #[serde(default)]
    pub anti_entropy: repair::pass::AntiEntropyLog,
    /// Changes of the fleet (node join and drain, group add and removal, replacement).
    #[serde(default)]
    pub migrations: migration::Migrations,
}

impl ClusterState {
    pub fn next_revision(&mut self) -> u64 {
        self.revision += 1;
        self.revision
    }

    pub fn next_epoch(&mut self) -> Epoch {
        self.last_epoch.0 += 1;
        self.last_epoch
    }

    pub fn node_mut(&mut self, id: &NodeId) -> Result<&mut Node, CommandError> {
        self.nodes.get_mut(id).ok_or_else(|| {
            CommandError::not_found(format!(
                "no node `{id}`: `miroir-ctl nodes list` shows the registered nodes"
            ))
        })
    }

    pub fn index_mut(&mut self, uid: &IndexUid) -> Result<&mut Index, CommandError> {
        self.indexes.get_mut(uid).ok_or_else(|| {
            CommandError::not_found(format!(
                "no index `{uid}`: `miroir-ctl indexes list` shows the existing indexes"
            ))
        })
    }
}

#[cfg(test)]
mod tests;
