use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, NodeId, ShardId};
use crate::state::shard_map::Role;
use crate::state::ClusterState;

/// TEST ONLY (accepted by coordinators started with `--test-commands`):
/// sets the role of one copy under a new epoch, whatever the role was, so
/// tests can check the quorum and read rules end to end. Workflows move
/// roles along `Role::can_become` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetCopyRole {
    pub index: IndexUid,
    pub shard: ShardId,
    pub node: NodeId,
    pub role: Role,
}

impl SetCopyRole {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let epoch = crate::state::Epoch(state.last_epoch.0 + 1);
        let map = state
            .shard_maps
            .get_mut(&self.index)
            .ok_or_else(|| CommandError::not_found(format!("no index `{}`", self.index)))?;
        let shards = map.shards.len();
        let shard = map.shards.get_mut(self.shard.0 as usize).ok_or_else(|| {
            CommandError::not_found(format!(
                "index `{}` has shards 0 to {}, not {}",
                self.index,
                shards.saturating_sub(1),
                self.shard.0
            ))
        })?;
        let copy = shard
            .copies
            .iter_mut()
            .find(|c| c.node == self.node)
            .ok_or_else(|| {
                CommandError::not_found(format!(
                    "node `{}` holds no copy of shard {} of `{}`",
                    self.node, self.shard.0, self.index
                ))
            })?;
        copy.role = self.role;
        map.epoch = epoch;
        state.last_epoch = epoch;
        Ok(CommandResponse::Map(map.clone()))
    }
}
