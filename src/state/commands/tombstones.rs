use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::IndexUid;
use crate::state::tombstones::Tombstone;
use crate::state::version::Version;
use crate::state::ClusterState;

/// The version before which tombstones have expired at `at_ms`.
fn cutoff(state: &ClusterState, at_ms: u64) -> Version {
    let retention_ms = state.settings.int("tombstone_retention_s") * 1000;
    let expired = Version::at_unix_ms(at_ms.saturating_sub(retention_ms));
    // A running repair applies the tombstones since the version it reads
    // from: none of those goes while it runs, however long it takes.
    let repairing = state
        .workflows
        .running()
        .filter_map(|w| w.repair.as_ref())
        .flat_map(|r| r.shards.values())
        .filter(|p| !p.rebuild)
        .map(|p| p.from)
        .min();
    // So does a running move, from its first round on.
    let moving = state
        .workflows
        .running()
        .filter_map(|w| w.moves.as_ref()?.first_started)
        .min();
    let repairing = match (repairing, moving) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    match repairing {
        Some(from) => expired.min(from),
        None => expired,
    }
}

/// Records a delete before any node receives it (I4); proposed by a router
/// through the Router service. Expired records are purged on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordTombstone {
    pub index: IndexUid,
    pub tombstone: Tombstone,
    /// The receiving coordinator's clock (Unix ms), for the purge.
    pub at_ms: u64,
}

impl RecordTombstone {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.tombstone.version == Version::ZERO {
            return Err(CommandError::invalid(
                "a tombstone needs the delete's version",
            ));
        }
        self.tombstone.deleted.validate()
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if !state.indexes.contains_key(&self.index) {
            return Err(CommandError::not_found(format!(
                "no index `{}`: nothing to delete from",
                self.index
            )));
        }
        let cutoff = cutoff(state, self.at_ms);
        state.tombstones.purge(cutoff);
        state.tombstones.record(&self.index, self.tombstone);
        Ok(CommandResponse::Done)
    }
}

/// Drops tombstones older than the retention; proposed by the leader now
/// and then, so that an idle cluster forgets them too.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeTombstones {
    pub at_ms: u64,
}

impl PurgeTombstones {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let cutoff = cutoff(state, self.at_ms);
        let gone = state.tombstones.purge(cutoff);
        Ok(CommandResponse::TombstonesPurged(gone))
    }
}

/// Whether a purge at `at_ms` would drop anything (the leader asks first,
/// so an idle cluster commits nothing).
pub fn purge_due(state: &ClusterState, at_ms: u64) -> bool {
    state
        .tombstones
        .oldest()
        .is_some_and(|v| v < cutoff(state, at_ms))
}
