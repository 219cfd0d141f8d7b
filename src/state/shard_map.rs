//! A shard map: for one index, which nodes serve each shard's reads and take
//! its writes, and whether its writes are fenced.

use serde::{Deserialize, Serialize};

use super::error::CommandError;
use super::ids::{Epoch, IndexUid, NodeId, ShardId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fence {
    /// Writes flow.
    Open,
    /// A cutover holds writes back in the routers until the next epoch.
    Fenced,
}

impl Fence {
    pub fn as_str(self) -> &'static str {
        match self {
            Fence::Open => "open",
            Fence::Fenced => "fenced",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        match s {
            "open" => Ok(Fence::Open),
            "fenced" => Ok(Fence::Fenced),
            other => Err(CommandError::invalid(format!(
                "unknown fence state `{other}`"
            ))),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardAssignment {
    pub shard: ShardId,
    /// Serving owners, across all replica groups.
    pub read: Vec<NodeId>,
    /// Owners that take writes; a superset of `read` while a migration
    /// dual-writes to the shard's new home.
    pub write: Vec<NodeId>,
    pub fence: Fence,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    pub index: IndexUid,
    pub epoch: Epoch,
    pub shards: Vec<ShardAssignment>,
}

impl ShardMap {
    /// Whether any shard reads from or writes to `node`.
    pub fn uses(&self, node: &NodeId) -> bool {
        self.shards
            .iter()
            .any(|s| s.read.contains(node) || s.write.contains(node))
    }
}
