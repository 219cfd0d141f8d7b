//! Meilisearch nodes and replica groups, with the state transitions they allow.

use serde::{Deserialize, Serialize};

use super::error::CommandError;
use super::ids::{GroupId, NodeId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeState {
    /// Registered while indexes already hold data: it takes shards only once a
    /// migration has copied them to it.
    Joining,
    /// Serves reads and takes writes for the shards the shard maps give it.
    Active,
    /// Being emptied; removed once it holds no shard.
    Draining,
    /// Marked failed by an operator: routers stop reading from it.
    Failed,
}

impl NodeState {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeState::Joining => "joining",
            NodeState::Active => "active",
            NodeState::Draining => "draining",
            NodeState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        [
            NodeState::Joining,
            NodeState::Active,
            NodeState::Draining,
            NodeState::Failed,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| CommandError::invalid(format!("unknown node state `{s}`")))
    }

    /// The one place that says which node transitions are allowed.
    pub fn can_become(self, next: NodeState) -> bool {
        use NodeState::*;
        matches!(
            (self, next),
            (Joining, Active | Draining | Failed)
                | (Active, Draining | Failed)
                | (Draining, Active | Failed)
                | (Failed, Active | Draining)
        )
    }

    /// Whether reads may go to the node. A draining node keeps serving until
    /// its shards have moved (it leaves the read sets then); a failed one does not.
    pub fn serves_reads(self) -> bool {
        matches!(self, NodeState::Active | NodeState::Draining)
    }

    /// Whether a node in this state may be deleted from the registry (it must
    /// also hold no shard).
    pub fn removable(self) -> bool {
        !matches!(self, NodeState::Active)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    pub id: NodeId,
    /// Base URL of the Meilisearch HTTP API, e.g. `http://10.0.0.5:7700`.
    pub address: String,
    pub group: GroupId,
    pub state: NodeState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupState {
    /// Added while indexes already hold data: serves nothing until a
    /// group-add migration has filled it.
    Initializing,
    Active,
    Draining,
}

impl GroupState {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupState::Initializing => "initializing",
            GroupState::Active => "active",
            GroupState::Draining => "draining",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        [
            GroupState::Initializing,
            GroupState::Active,
            GroupState::Draining,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
        .ok_or_else(|| CommandError::invalid(format!("unknown group state `{s}`")))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicaGroup {
    pub id: GroupId,
    pub state: GroupState,
}

/// Addresses are URLs with an http(s) scheme and a host.
pub fn validate_address(address: &str) -> Result<(), CommandError> {
    let rest = address
        .strip_prefix("http://")
        .or_else(|| address.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.contains(char::is_whitespace) => Ok(()),
        _ => Err(CommandError::invalid(format!(
            "invalid node address `{address}`: give the node's Meilisearch URL, e.g. http://10.0.0.5:7700"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::NodeState::*;

    /// A node cannot go back to joining, and only the listed moves are allowed.
    #[test]
    fn transitions() {
        assert!(Joining.can_become(Active));
        assert!(Active.can_become(Draining));
        assert!(Draining.can_become(Active));
        assert!(Failed.can_become(Active));
        assert!(!Active.can_become(Joining));
        assert!(!Active.can_become(Active));
        assert!(!Draining.can_become(Joining));
        assert!(!Active.removable());
        assert!(Active.serves_reads() && Draining.serves_reads());
        assert!(!Failed.serves_reads() && !Joining.serves_reads());
        assert!(Draining.removable());
    }

    #[test]
    fn addresses() {
        assert!(super::validate_address("http://127.0.0.1:7700").is_ok());
        assert!(super::validate_address("https://meili-0.search:7700").is_ok());
        assert!(super::validate_address("127.0.0.1:7700").is_err());
        assert!(super::validate_address("http://").is_err());
    }
}
