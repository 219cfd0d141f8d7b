//! The state machine: the [`ClusterState`] in memory, rebuilt at start from
//! the last snapshot plus log replay, and snapshots kept on sled.

use std::io::Cursor;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use openraft::storage::RaftStateMachine;
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder, StorageIOError};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use crate::coordinator::typ::{
    Entry, LogId, Snapshot, SnapshotMeta, StorageError, StoredMembership, TypeConfig,
};
use crate::state::{ClusterState, CommandResponse, CommandResult};

/// The snapshot's metadata (JSON) and its data (the state as JSON bytes),
/// kept under two keys written in one batch, so the data is stored as it
/// is and not as a JSON array of numbers.
const KEY_META: &[u8] = b"meta";
const KEY_DATA: &[u8] = b"data";
/// Where snapshots were kept before (metadata and data in one JSON value).
const KEY_LEGACY: &[u8] = b"current";

/// What the state machine holds; also the snapshot's content.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SmData {
    pub last_applied: Option<LogId>,
    pub last_membership: StoredMembership,
    pub cluster: ClusterState,
}

#[derive(Serialize, Deserialize)]
struct StoredSnapshot {
    meta: SnapshotMeta,
    data: Vec<u8>,
}

/// A read handle onto the applied state, for the gRPC services.
#[derive(Clone)]
pub struct SharedState {
    data: Arc<RwLock<SmData>>,
    applied: watch::Receiver<u64>,
}

impl SharedState {
    /// Runs `f` on the locally applied state (not linearizable by itself: the
    /// callers first wait for a read index when the read decides anything).
    pub fn read<T>(&self, f: impl FnOnce(&ClusterState) -> T) -> T {
        f(&self.data.read().expect("state lock poisoned").cluster)
    }

    pub fn last_applied_index(&self) -> u64 {
        self.data
            .read()
            .expect("state lock poisoned")
            .last_applied
            .map_or(0, |l| l.index)
    }

    /// Wakes whenever entries were applied (the value is the applied index).
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.applied.clone()
    }
}

#[derive(Clone)]
pub struct StateMachineStore {
    data: Arc<RwLock<SmData>>,
    snapshots: sled::Tree,
    db: sled::Db,
    applied_tx: Arc<watch::Sender<u64>>,
    applied_rx: watch::Receiver<u64>,
    snapshot_seq: Arc<std::sync::atomic::AtomicU64>,
}

fn snap_read_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::read_snapshot(None, &e).into()
}
fn snap_write_err(e: impl std::error::Error + 'static) -> StorageError {
    StorageIOError::write_snapshot(None, &e).into()
}

impl StateMachineStore {
    pub fn new(db: &sled::Db) -> Result<Self, sled::Error> {
        let snapshots = db.open_tree("snapshot")?;
        let mut data = SmData::default();
        if let Some(stored) = Self::load(&snapshots)? {
            data = SmData {
                last_applied: stored.meta.last_log_id,
                last_membership: stored.meta.last_membership.clone(),
                cluster: serde_json::from_slice(&stored.data)
                    .map_err(|e| sled::Error::Unsupported(format!("corrupt snapshot: {e}")))?,
            };
        }
        let applied = data.last_applied.map_or(0, |l| l.index);
        let (tx, rx) = watch::channel(applied);
        Ok(StateMachineStore {
            data: Arc::new(RwLock::new(data)),
            snapshots,
            db: db.clone(),
            applied_tx: Arc::new(tx),
            applied_rx: rx,
            snapshot_seq: Arc::default(),
        })
    }

    pub fn shared(&self) -> SharedState {
        SharedState {
            data: self.data.clone(),
            applied: self.applied_rx.clone(),
        }
    }

    fn load(tree: &sled::Tree) -> Result<Option<StoredSnapshot>, sled::Error> {
        let corrupt =
            |e: serde_json::Error| sled::Error::Unsupported(format!("corrupt snapshot: {e}"));
        if let (Some(meta), Some(data)) = (tree.get(KEY_META)?, tree.get(KEY_DATA)?) {
            return Ok(Some(StoredSnapshot {
                meta: serde_json::from_slice(&meta).map_err(corrupt)?,
                data: data.to_vec(),
            }));
        }
        match tree.get(KEY_LEGACY)? {
            Some(b) => Ok(Some(serde_json::from_slice(&b).map_err(corrupt)?)),
            None => Ok(None),
        }
    }

    fn read_stored(&self) -> Result<Option<StoredSnapshot>, StorageError> {
        Self::load(&self.snapshots).map_err(snap_read_err)
    }

    async fn store(&self, meta: &SnapshotMeta, data: Vec<u8>) -> Result<(), StorageError> {
        let meta = serde_json::to_vec(meta).map_err(snap_write_err)?;
        metrics::gauge!("miroir_coordinator_snapshot_bytes").set(data.len() as f64);
        let mut batch = sled::Batch::default();
        batch.insert(KEY_META, meta);
        batch.insert(KEY_DATA, data);
        batch.remove(KEY_LEGACY);
        self.snapshots.apply_batch(batch).map_err(snap_write_err)?;
        self.db.flush_async().await.map_err(snap_write_err)?;
        Ok(())
    }
}

impl RaftSnapshotBuilder<TypeConfig> for StateMachineStore {
    async fn build_snapshot(&mut self) -> Result<Snapshot, StorageError> {
        // Copy under the lock, serialize outside it: applying entries waits
        // only for the copy, not for the encoding.
        let (cluster, last_applied, membership) = {
            let d = self.data.read().expect("state lock poisoned");
            (d.cluster.clone(), d.last_applied, d.last_membership.clone())
        };
        let bytes = tokio::task::spawn_blocking(move || serde_json::to_vec(&cluster))
            .await
            .map_err(snap_write_err)?
            .map_err(snap_write_err)?;
        let seq = self
            .snapshot_seq
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let snapshot_id = match last_applied {
            Some(l) => format!("{}-{}-{seq}", l.leader_id, l.index),
            None => format!("empty-{seq}"),
        };
        let meta = SnapshotMeta {
            last_log_id: last_applied,
            last_membership: membership,
            snapshot_id,
        };
        self.store(&meta, bytes.clone()).await?;
        metrics::counter!("miroir_coordinator_snapshots_total").increment(1);
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<TypeConfig> for StateMachineStore {
    type SnapshotBuilder = Self;

    async fn applied_state(&mut self) -> Result<(Option<LogId>, StoredMembership), StorageError> {
        let d = self.data.read().expect("state lock poisoned");
        Ok((d.last_applied, d.last_membership.clone()))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<CommandResult>, StorageError>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let started = Instant::now();
        let mut out = Vec::new();
        let applied = {
            let mut d = self.data.write().expect("state lock poisoned");
            for entry in entries {
                d.last_applied = Some(entry.log_id);
                let res = match entry.payload {
                    EntryPayload::Blank => Ok(CommandResponse::Done),
                    // Commands check everything before they change anything,
                    // so a refused command leaves the state as it was.
                    EntryPayload::Normal(cmd) => cmd.apply(&mut d.cluster),
                    EntryPayload::Membership(m) => {
                        d.last_membership = StoredMembership::new(Some(entry.log_id), m);
                        Ok(CommandResponse::Done)
                    }
                };
                out.push(res);
            }
            d.last_applied.map_or(0, |l| l.index)
        };
        self.applied_tx.send_replace(applied);
        metrics::histogram!("miroir_coordinator_apply_seconds")
            .record(started.elapsed().as_secs_f64());
        Ok(out)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        self.clone()
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, StorageError> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), StorageError> {
        let bytes = snapshot.into_inner();
        let cluster: ClusterState = serde_json::from_slice(&bytes).map_err(|e| {
            StorageError::from(StorageIOError::read_snapshot(Some(meta.signature()), &e))
        })?;
        self.store(meta, bytes).await?;
        let applied = {
            let mut d = self.data.write().expect("state lock poisoned");
            *d = SmData {
                last_applied: meta.last_log_id,
                last_membership: meta.last_membership.clone(),
                cluster,
            };
            d.last_applied.map_or(0, |l| l.index)
        };
        self.applied_tx.send_replace(applied);
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot>, StorageError> {
        Ok(self.read_stored()?.map(|s| Snapshot {
            meta: s.meta,
            snapshot: Box::new(Cursor::new(s.data)),
        }))
    }
}
