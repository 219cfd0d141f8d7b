//! Durable storage on sled: the Raft log and vote ([`LogStore`]) and the
//! state machine with its snapshots ([`StateMachineStore`]).
//!
//! One sled database per coordinator, three trees:
//! - `log`: entries keyed by big-endian index;
//! - `meta`: vote, committed log id, last purged log id;
//! - `snapshot`: the current snapshot's meta and bytes.
//!
//! Everything is flushed before it is reported done.

// openraft fixes the error type of the storage traits.
#![allow(clippy::result_large_err)]

mod log_store;
mod state_machine;

use std::path::Path;

pub use log_store::LogStore;
pub use state_machine::{SharedState, StateMachineStore};

/// Opens (or creates) the sled database in `dir`.
pub fn open(dir: &Path) -> Result<(LogStore, StateMachineStore), sled::Error> {
    let db = sled::Config::new()
        .path(dir)
        // Keep the page cache small: the state lives in memory already.
        .cache_capacity(64 * 1024 * 1024)
        .open()?;
    let logs = LogStore::new(&db)?;
    let sm = StateMachineStore::new(&db)?;
    Ok((logs, sm))
}
