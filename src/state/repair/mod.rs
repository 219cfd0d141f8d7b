//! Repair (DESIGN section 9): copies that missed writes ([`behind`]), what a router reports when
//! a write missed a copy ([`CopyMiss`]), and what a repair workflow holds while it brings one
//! node's copies of an index back ([`CopyRepair`]); anti-entropy passes ([`pass`]).

pub mod behind;
pub mod pass;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::ids::{NodeId, ShardId};
use crate::state::version::Version;

pub use behind::{Behind, BehindCopies, BehindCopy, Reason};

/// A write that did not reach one copy: the node, the shards of the write it holds, and the
/// write's version (a batch has one; a delete has its tombstone's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyMiss {
    pub node: NodeId,
    pub shards: Vec<ShardId>,
    pub version: Version,
}

/// One shard of a repair.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardRepair {
    /// The behind record's mark count when the repair took the shard: it serves again only if
    /// that is still the count at the end.
    pub marks: u64,
    /// The version the repair reads from (the record's, less the margin for writes in flight).
    pub from: Version,
    /// How far the catch-up got: documents older than this are done. `None`: not started.
    pub cursor: Option<Version>,
    pub caught_up: bool,
    /// Behind for longer than tombstones are kept: emptied and copied whole.
    pub rebuild: bool,
}

/// What a repair workflow holds: the node whose copies it brings back, and per shard where it
/// stands, with what it has done so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyRepair {
    pub node: NodeId,
    pub shards: BTreeMap<u32, ShardRepair>,
    /// Documents written to the copy.
    pub written: u64,
    /// Documents deleted from the copy by tombstones.
    pub deleted: u64,
    /// Shards that returned to serving when the repair finished.
    pub served: Vec<ShardId>,
}

impl CopyRepair {
    /// The shards, in order.
    pub fn shard_ids(&self) -> Vec<ShardId> {
        self.shards.keys().map(|s| ShardId(*s)).collect()
    }

    /// The lowest version any shard reads from (where tombstones are applied from).
    pub fn from(&self) -> Version {
        self.shards
            .values()
            .map(|s| s.from)
            .min()
            .unwrap_or_default()
    }

    pub fn marks(&self) -> BTreeMap<u32, u64> {
        self.shards.iter().map(|(s, r)| (*s, r.marks)).collect()
    }
}
