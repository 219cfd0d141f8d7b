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
        // Keep the page cache small: the state lives in memory already, and
        // the cache only serves recent log entries to followers.
        .cache_capacity(16 * 1024 * 1024)
        .open()?;
    let logs = LogStore::new(&db)?;
    let sm = StateMachineStore::new(&db)?;
    Ok((logs, sm))
}

#[cfg(test)]
mod tests {
    use openraft::testing::{StoreBuilder, Suite};

    use super::*;
    use crate::coordinator::typ::{StorageError, TypeConfig};

    struct SledBuilder;

    impl StoreBuilder<TypeConfig, LogStore, StateMachineStore, tempfile::TempDir> for SledBuilder {
        async fn build(
            &self,
        ) -> Result<(tempfile::TempDir, LogStore, StateMachineStore), StorageError> {
            let dir = tempfile::tempdir().expect("temp dir");
            let (logs, sm) = open(dir.path()).expect("open sled");
            Ok((dir, logs, sm))
        }
    }

    /// The sled store passes openraft's own storage conformance suite.
    #[test]
    fn openraft_storage_suite() -> Result<(), StorageError> {
        Suite::test_all(SledBuilder)
    }

    /// A reopened store has the vote, the log and the snapshot it had, and
    /// reports state so that it is never bootstrapped again.
    #[tokio::test]
    async fn reopened_store_keeps_everything() {
        use openraft::storage::{RaftLogStorage, RaftStateMachine};
        use openraft::RaftSnapshotBuilder;
        let dir = tempfile::tempdir().unwrap();
        {
            let (mut logs, mut sm) = open(dir.path()).unwrap();
            assert!(!logs.has_state().unwrap());
            logs.save_vote(&openraft::Vote::new(3, 1)).await.unwrap();
            sm.build_snapshot().await.unwrap();
        }
        let (mut logs, mut sm) = open(dir.path()).unwrap();
        assert!(logs.has_state().unwrap());
        assert_eq!(
            logs.read_vote().await.unwrap(),
            Some(openraft::Vote::new(3, 1))
        );
        assert!(sm.get_current_snapshot().await.unwrap().is_some());
    }
}
