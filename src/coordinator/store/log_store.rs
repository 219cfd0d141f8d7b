//! The Raft log and vote on sled.

use std::fmt::Debug;
use std::ops::RangeBounds;

use openraft::storage::{LogFlushed, LogState, RaftLogStorage};
use openraft::{OptionalSend, RaftLogReader, StorageIOError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::coordinator::typ::{Entry, LogId, StorageError, TypeConfig, Vote};

const KEY_VOTE: &[u8] = b"vote";
const KEY_COMMITTED: &[u8] = b"committed";
const KEY_PURGED: &[u8] = b"last_purged";

/// Cheap to clone: sled trees are handles onto one database.
#[derive(Clone)]
pub struct LogStore {
    db: sled::Db,
    log: sled::Tree,
    meta: sled::Tree,
    flusher: Flusher,
}

/// Group commit: appends hand their completion callback to one thread that
/// flushes sled once for every callback waiting, then completes them in
/// order. Raft's core keeps working (replicating to followers) while the
/// leader's own entries reach the disk, and one flush serves many appends.
/// Each request carries its own database handle, so an idle flusher holds
/// none and a closed store releases its files at once.
#[derive(Clone)]
struct Flusher {
    tx: std::sync::mpsc::Sender<(sled::Db, LogFlushed<TypeConfig>)>,
}

impl Flusher {
    fn start() -> std::io::Result<Self> {
        let (tx, rx) = std::sync::mpsc::channel::<(sled::Db, LogFlushed<TypeConfig>)>();
        std::thread::Builder::new()
            .name("sled-flusher".into())
            .spawn(move || {
                // Ends when every LogStore handle (and so every sender) is gone.
                while let Ok((db, first)) = rx.recv() {
                    let mut waiting = vec![first];
                    waiting.extend(rx.try_iter().map(|(_, cb)| cb));
                    let res = db.flush();
                    drop(db);
                    for cb in waiting {
                        let r = match &res {
                            Ok(_) => Ok(()),
                            Err(e) => Err(std::io::Error::other(e.to_string())),
                        };
                        cb.log_io_completed(r);
                    }
                }
            })?;
        Ok(Flusher { tx })
    }
}

fn read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_logs(&e).into()
}
fn write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_logs(&e).into()
}

fn key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

impl LogStore {
    pub fn new(db: &sled::Db) -> Result<Self, sled::Error> {
        Ok(LogStore {
            db: db.clone(),
            log: db.open_tree("log")?,
            meta: db.open_tree("meta")?,
            flusher: Flusher::start()?,
        })
    }

    fn get_meta<T: DeserializeOwned>(&self, k: &[u8]) -> Result<Option<T>, StorageError> {
        match self.meta.get(k).map_err(read_err)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(read_err)?)),
            None => Ok(None),
        }
    }

    async fn put_meta<T: Serialize>(&self, k: &[u8], v: &T) -> Result<(), StorageError> {
        let bytes = serde_json::to_vec(v).map_err(write_err)?;
        self.meta.insert(k, bytes).map_err(write_err)?;
        self.db.flush_async().await.map_err(write_err)?;
        Ok(())
    }

    fn last_entry_id(&self) -> Result<Option<LogId>, StorageError> {
        match self.log.last().map_err(read_err)? {
            Some((_, v)) => {
                let e: Entry = serde_json::from_slice(&v).map_err(read_err)?;
                Ok(Some(e.log_id))
            }
            None => Ok(None),
        }
    }

    /// Bytes sled uses on disk, for the metrics.
    pub fn size_on_disk(&self) -> u64 {
        self.db.size_on_disk().unwrap_or(0)
    }

    /// Whether this member has ever voted or logged: a member with state must
    /// never be bootstrapped again.
    pub fn has_state(&self) -> Result<bool, StorageError> {
        Ok(self.meta.contains_key(KEY_VOTE).map_err(read_err)?
            || !self.log.is_empty()
            || self.meta.contains_key(KEY_PURGED).map_err(read_err)?)
    }
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry>, StorageError> {
        use std::ops::Bound::*;
        let start = match range.start_bound() {
            Included(i) => *i,
            Excluded(i) => i + 1,
            Unbounded => 0,
        };
        let mut out = Vec::new();
        for item in self.log.range(key(start)..) {
            let (k, v) = item.map_err(read_err)?;
            let index = u64::from_be_bytes(k.as_ref().try_into().map_err(|_| {
                StorageError::from(StorageIOError::read_logs(&std::io::Error::other(
                    "corrupt log key",
                )))
            })?);
            if !range.contains(&index) {
                break;
            }
            out.push(serde_json::from_slice(&v).map_err(read_err)?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<TypeConfig>, StorageError> {
        let last_purged_log_id: Option<LogId> = self.get_meta(KEY_PURGED)?;
        // max(): a crash inside purge may leave entries at or below the purge point.
        let last_log_id = self.last_entry_id()?.max(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> Result<(), StorageError> {
        self.put_meta(KEY_VOTE, vote).await
    }

    async fn read_vote(&mut self) -> Result<Option<Vote>, StorageError> {
        self.get_meta(KEY_VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId>) -> Result<(), StorageError> {
        // Not flushed: losing it only means re-learning the commit index from
        // the leader, which is safe.
        let bytes = serde_json::to_vec(&committed).map_err(write_err)?;
        self.meta.insert(KEY_COMMITTED, bytes).map_err(write_err)?;
        Ok(())
    }

    async fn read_committed(&mut self) -> Result<Option<LogId>, StorageError> {
        Ok(self.get_meta::<Option<LogId>>(KEY_COMMITTED)?.flatten())
    }

    async fn append<I>(
        &mut self,
        entries: I,
        callback: LogFlushed<TypeConfig>,
    ) -> Result<(), StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = sled::Batch::default();
        for e in entries {
            let bytes = serde_json::to_vec(&e).map_err(write_err)?;
            batch.insert(&key(e.log_id.index), bytes);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        // Durable before openraft may count these entries towards a quorum:
        // the callback fires only after the flush that covers them.
        if let Err(std::sync::mpsc::SendError((_, cb))) =
            self.flusher.tx.send((self.db.clone(), callback))
        {
            cb.log_io_completed(Err(std::io::Error::other(
                "the sled flusher thread is gone",
            )));
        }
        Ok(())
    }

    async fn truncate(&mut self, log_id: LogId) -> Result<(), StorageError> {
        let mut batch = sled::Batch::default();
        for item in self.log.range(key(log_id.index)..) {
            let (k, _) = item.map_err(write_err)?;
            batch.remove(k);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        self.db.flush_async().await.map_err(write_err)?;
        Ok(())
    }

    async fn purge(&mut self, log_id: LogId) -> Result<(), StorageError> {
        // Record the purge point first: a crash in between leaves extra
        // entries below it, which readers skip, never a hole above it.
        self.put_meta(KEY_PURGED, &log_id).await?;
        let mut batch = sled::Batch::default();
        for item in self.log.range(..=key(log_id.index)) {
            let (k, _) = item.map_err(write_err)?;
            batch.remove(k);
        }
        self.log.apply_batch(batch).map_err(write_err)?;
        Ok(())
    }
}
