use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{GroupId, NodeId};
use crate::state::node::{validate_address, GroupState, Node, NodeState, ReplicaGroup};
use crate::state::repair::behind::mark_node_behind;
use crate::state::repair::Reason;
use crate::state::version::Version;
use crate::state::ClusterState;

/// Registers a Meilisearch node in a replica group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddNode {
    pub id: NodeId,
    pub address: String,
    pub group: GroupId,
}

impl AddNode {
    pub fn validate(&self) -> Result<(), CommandError> {
        NodeId::parse(&self.id.0)?;
        validate_address(&self.address)
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if state.nodes.contains_key(&self.id) {
            return Err(CommandError::exists(format!(
                "node {} is already registered; remove it first or pick another id",
                self.id
            )));
        }
        if let Some(other) = state.nodes.values().find(|n| n.address == self.address) {
            return Err(CommandError::exists(format!(
                "address {} is already registered as node {}",
                self.address, other.id
            )));
        }
        // With no index yet there is nothing to copy, so the node serves at once.
        let fresh = state.indexes.is_empty();
        state.groups.entry(self.group).or_insert(ReplicaGroup {
            id: self.group,
            state: if fresh {
                GroupState::Active
            } else {
                GroupState::Initializing
            },
        });
        let node = Node {
            id: self.id.clone(),
            address: self.address,
            group: self.group,
            state: if fresh {
                NodeState::Active
            } else {
                NodeState::Joining
            },
        };
        state.nodes.insert(self.id, node.clone());
        state.topology_version += 1;
        Ok(CommandResponse::Node(node))
    }
}

/// Moves a node to another state (drain, mark failed, activate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetNodeState {
    pub id: NodeId,
    pub state: NodeState,
    /// When it was asked (a node marked failed has its copies marked behind
    /// from then on).
    #[serde(default)]
    pub at_ms: u64,
}

impl SetNodeState {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.state == NodeState::Joining {
            return Err(CommandError::invalid(
                "a node cannot be put back into `joining`",
            ));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        // A node a migration moves shards to or from changes state with the migration (marking
        // it failed stays possible: it may have died).
        if let Some(m) = state.migrations.current() {
            if self.state != NodeState::Failed && m.change.involves(&self.id, state) {
                return Err(CommandError::precondition(format!(
                    "node {} is part of migration {} ({}); wait for it or abort it (`miroir-ctl migrate abort {}`)",
                    self.id,
                    m.id,
                    m.change.describe(),
                    m.id
                )));
            }
        }
        let node = state.node_mut(&self.id)?;
        if !node.state.can_become(self.state) {
            return Err(CommandError::precondition(format!(
                "node {} is {} and cannot become {}",
                node.id,
                node.state.as_str(),
                self.state.as_str()
            )));
        }
        node.state = self.state;
        let node = node.clone();
        if self.state == NodeState::Failed {
            // It is not read from now on, and may have missed writes since
            // before routers noticed: repaired before it serves again.
            let since = Version::at_unix_ms(self.at_ms);
            mark_node_behind(state, &self.id, since, Reason::NodeFailed, self.at_ms);
        }
        state.topology_version += 1;
        Ok(CommandResponse::Node(node))
    }
}

/// Deletes a node that holds no shard and is not active.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoveNode {
    pub id: NodeId,
}

impl RemoveNode {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let node = state.node_mut(&self.id)?;
        if !node.state.removable() {
            return Err(CommandError::precondition(format!(
                "node {} is active: drain it (or mark it failed) before removing it",
                node.id
            )));
        }
        let group = node.group;
        let users: Vec<String> = state
            .shard_maps
            .values()
            .filter(|m| m.uses(&self.id))
            .map(|m| m.index.0.clone())
            .collect();
        if !users.is_empty() {
            return Err(CommandError::precondition(format!(
                "node {} still holds shards of {}: wait for its drain to finish",
                self.id,
                users.join(", ")
            )));
        }
        state.nodes.remove(&self.id);
        // Nothing is owed to a node that is gone.
        state.sweeps.deletes.remove(&self.id);
        if !state.nodes.values().any(|n| n.group == group) {
            state.groups.remove(&group);
        }
        state.topology_version += 1;
        Ok(CommandResponse::Done)
    }
}
