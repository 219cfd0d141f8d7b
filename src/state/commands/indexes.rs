use serde::{Deserialize, Serialize};

use crate::placement;
use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::IndexUid;
use crate::state::index::{
    validate_primary_key, validate_replication_factor, validate_shards, Index,
};
use crate::state::shard_map::{Fence, ShardMap};
use crate::state::ClusterState;

/// Registers an index and places its shards on the active groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateIndex {
    pub uid: IndexUid,
    pub primary_key: Option<String>,
    /// None: the `default_shards` setting at apply time.
    pub shards: Option<u32>,
    /// None: the `default_replication_factor` setting at apply time.
    pub replication_factor: Option<u32>,
    /// Stamped by the proposer so that replay gives the same record.
    pub created_at_ms: u64,
}

impl CreateIndex {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse_new(&self.uid.0)?;
        if let Some(pk) = &self.primary_key {
            validate_primary_key(pk)?;
        }
        if let Some(s) = self.shards {
            validate_shards(s)?;
        }
        if let Some(rf) = self.replication_factor {
            validate_replication_factor(rf)?;
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if state.indexes.contains_key(&self.uid) {
            return Err(CommandError::exists(format!(
                "index `{}` already exists",
                self.uid
            )));
        }
        let shards = self
            .shards
            .unwrap_or(state.settings.int("default_shards") as u32);
        let rf = self
            .replication_factor
            .unwrap_or(state.settings.int("default_replication_factor") as u32);
        let mut shard_map = place(state, &self.uid, shards, rf)?;
        // A re-created index lives under a new name on the nodes: nothing
        // of the old one (a node still to be swept, a late write) shows.
        let generation = state.generations.get(&self.uid).map_or(1, |g| g + 1);
        state.generations.insert(self.uid.clone(), generation);
        let mut index = Index {
            uid: self.uid.clone(),
            primary_key: self.primary_key,
            shards,
            replication_factor: rf,
            created_at_ms: self.created_at_ms,
            generation,
            physical: String::new(),
        };
        index.physical = index.physical();
        shard_map.physical = index.physical.clone();
        state.indexes.insert(self.uid.clone(), index.clone());
        state.shard_maps.insert(self.uid, shard_map);
        Ok(CommandResponse::Index(index))
    }
}

/// Computes a fresh shard map over the layout placement uses: every active group's active
/// nodes, or, while a migration runs, the layout it leads to (an index created meanwhile has
/// nothing to move).
fn place(
    state: &mut ClusterState,
    uid: &IndexUid,
    shards: u32,
    rf: u32,
) -> Result<ShardMap, CommandError> {
    let change = state.migrations.current().map(|m| m.change.clone());
    let members = crate::state::migration::layout::members(state, change.as_ref(), rf)?;
    let assignments = placement::assign(shards, &members, rf as usize);
    Ok(ShardMap {
        index: uid.clone(),
        epoch: state.next_epoch(),
        shards: assignments,
        physical: String::new(),
    })
}

/// Fixes an index's primary key. Setting the same key again is a no-op, so
/// that routers racing to set an inferred key all succeed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetPrimaryKey {
    pub uid: IndexUid,
    pub primary_key: String,
}

impl SetPrimaryKey {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.uid.0)?;
        validate_primary_key(&self.primary_key)
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let index = state.index_mut(&self.uid)?;
        match &index.primary_key {
            Some(pk) if *pk != self.primary_key => Err(CommandError::precondition(format!(
                "index `{}` already has the primary key `{pk}`; a primary key cannot change once set",
                self.uid
            ))),
            _ => {
                index.primary_key = Some(self.primary_key);
                Ok(CommandResponse::Index(index.clone()))
            }
        }
    }
}

/// Forgets an index and its shard map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteIndex {
    pub uid: IndexUid,
}

impl DeleteIndex {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.uid.0).map(|_| ())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let generation = state.index_mut(&self.uid)?.generation;
        // Remembered, so that the uid's next creation gets a new name on the
        // nodes (indexes made before generations were counted have none).
        let last = state.generations.entry(self.uid.clone()).or_default();
        *last = (*last).max(generation);
        state.indexes.remove(&self.uid);
        state.shard_maps.remove(&self.uid);
        state.tombstones.forget(&self.uid);
        state.behind.forget(&self.uid);
        state.anti_entropy.forget(&self.uid);
        // Routers acknowledge epochs: the deletion is one, so a lease shows
        // which routers have seen it.
        state.next_epoch();
        Ok(CommandResponse::Done)
    }
}

/// Holds every write to an index back in the routers (all shards fenced,
/// under a new epoch), before the index is deleted from its nodes: no write
/// still in flight may make a node create the index again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FenceIndex {
    pub uid: IndexUid,
}

impl FenceIndex {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.uid.0).map(|_| ())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state.index_mut(&self.uid)?;
        let epoch = state.next_epoch();
        let map = state
            .shard_maps
            .get_mut(&self.uid)
            .ok_or_else(|| CommandError::NotFound(format!("shard map of index `{}`", self.uid)))?;
        map.epoch = epoch;
        for a in &mut map.shards {
            a.fence = Fence::Fenced;
        }
        Ok(CommandResponse::Map(map.clone()))
    }
}
