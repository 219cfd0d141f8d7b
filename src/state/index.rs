//! Client-visible indexes as the coordinators know them.

use serde::{Deserialize, Serialize};

use super::error::CommandError;
use super::ids::IndexUid;

/// Most shards an index may have: enough for any fleet, small enough that a
/// shard map stays cheap to stream.
pub const MAX_SHARDS: u32 = 1024;
pub const MAX_REPLICATION_FACTOR: u32 = 7;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Index {
    pub uid: IndexUid,
    /// Fixed once set: documents are placed by it.
    pub primary_key: Option<String>,
    pub shards: u32,
    pub replication_factor: u32,
    pub created_at_ms: u64,
    /// Which creation of this uid this is (1 for the first); names the
    /// physical index on the nodes.
    #[serde(default = "first_generation")]
    pub generation: u32,
    /// The index's name on the nodes, fixed at creation and kept through
    /// renames and swaps (empty in records made before: derived from the
    /// uid and generation).
    #[serde(default)]
    pub physical: String,
}

fn first_generation() -> u32 {
    1
}

impl Index {
    /// The index's name on the nodes.
    pub fn physical(&self) -> String {
        match self.physical.is_empty() {
            true => crate::meili::reserved::physical_index_name(&self.uid.0, self.generation),
            false => self.physical.clone(),
        }
    }
}

/// A primary key is an attribute name: 1 to 512 bytes, no Miroir-reserved prefix.
pub fn validate_primary_key(pk: &str) -> Result<(), CommandError> {
    if pk.is_empty() || pk.len() > 512 || pk.contains(char::is_control) {
        return Err(CommandError::invalid(format!(
            "invalid primary key `{pk}`: a primary key is an attribute name of 1 to 512 printable characters"
        )));
    }
    if crate::meili::reserved::is_reserved(pk) {
        return Err(CommandError::invalid(format!(
            "invalid primary key `{pk}`: attributes starting with `_miroir` are reserved by Miroir"
        )));
    }
    Ok(())
}

pub fn validate_shards(shards: u32) -> Result<(), CommandError> {
    if (1..=MAX_SHARDS).contains(&shards) {
        Ok(())
    } else {
        Err(CommandError::invalid(format!(
            "invalid shard count {shards}: an index has 1 to {MAX_SHARDS} shards (64 is a good default)"
        )))
    }
}

pub fn validate_replication_factor(rf: u32) -> Result<(), CommandError> {
    if (1..=MAX_REPLICATION_FACTOR).contains(&rf) {
        Ok(())
    } else {
        Err(CommandError::invalid(format!(
            "invalid replication factor {rf}: each group keeps 1 to {MAX_REPLICATION_FACTOR} copies of a shard"
        )))
    }
}
