//! Writes that every node of an index must carry out the same way: settings
//! changes, deletions, index updates. The request goes to one node first (so
//! a request Meilisearch refuses is refused before any other node changed),
//! then to the rest; it is acknowledged like a document write, when each
//! shard has a group with a majority of its copies done.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use serde_json::Value;

use crate::fleet::{probe_then_rest, IndexChange, NodeError, Refused};
use crate::meili::MeiliError;
use crate::router::tasks::details::COPIES_KEY;
use crate::router::write::writer::coordinators_down;
use crate::router::write::writer::{Outcome, WriteError, Writer};
use crate::state::tombstones::{Deleted, Tombstone};
use crate::state::{NodeId, NodeTask, TaskKind, TaskRecord, TaskStatus, TaskUid, Version};

impl Writer<'_> {
    /// Sends `changes` to every node of `uid`, in order, and records one task.
    pub async fn broadcast(
        &self,
        uid: &str,
        kind: TaskKind,
        changes: &[IndexChange],
        details: Value,
    ) -> Result<TaskRecord, WriteError> {
        // Fences are waited out (an index deletion is a workflow of its own).
        let open = || async move { self.open_for_writes(uid, None).await };
        let mut map = open().await?;
        if map.is_none() && kind == TaskKind::SettingsUpdate {
            // Meilisearch creates a missing index on a settings update.
            self.create_index(uid, None).await?;
            map = open().await?;
        }
        let Some(open) = map else {
            // Meilisearch accepts the write and fails its task.
            let err = MeiliError::index_not_found(uid).to_json();
            let task = self.new_uid().await?;
            return Ok(self
                .record(task, uid, kind, Outcome::Failed(err), details)
                .await?);
        };
        let (map, held) = (&open.map, open.held);
        // A deletion's tombstone names its task, so its uid is taken first;
        // other changes take theirs once the nodes accepted them, as a
        // request Meilisearch refuses outright takes no task uid.
        let mut deleted = changes.iter().find_map(IndexChange::deleted);
        if let Some(Deleted::Filter(f)) = &deleted {
            // A filter the nodes refuse deletes nothing: no tombstone for it.
            if !self.filter_accepted(map, f).await {
                deleted = None;
            }
        }
        let early = match deleted {
            Some(deleted) => {
                let task = self.new_uid().await?;
                let version = self.record_tombstone(uid, task, deleted).await?;
                Some((task, version))
            }
            None => None,
        };
        let owners: Vec<NodeId> = map
            .shards
            .iter()
            .flat_map(|a| a.writers().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let nodes = &self.sender(&held).await;
        let send = |id: NodeId| async move {
            let base = self.base(&id);
            let mut tasks = vec![];
            for change in changes {
                let enqueued = nodes.apply(&base, map.physical(), change).await?;
                tasks.push(NodeTask {
                    node: id.clone(),
                    task_uid: enqueued.task_uid,
                    status: TaskStatus::Enqueued,
                });
            }
            Ok::<_, NodeError>((tasks, Instant::now()))
        };
        crate::router::routed_epoch::note(open.epoch);
        // The first node that answers decides whether the request is valid.
        let results = probe_then_rest(&owners, |status| status < 500, send)
            .await
            .map_err(|Refused { status, mut body }| {
                crate::meili::error::name_client_index(&mut body, map.physical(), uid);
                WriteError::Refused { status, body }
            })?;
        if crate::router::write::lease::none_sent(results.iter().map(|(_, r)| r)) {
            return Err(crate::router::write::lease::lease_ended().into());
        }
        let now = Instant::now();
        let replies = results.iter().map(|(id, r)| {
            let at = r.as_ref().map_or(now, |(_, at)| *at);
            (id, r.is_ok(), at)
        });
        let acked = crate::router::write::writer::in_time(replies, &held, self.unsafe_switches);
        let shards: BTreeSet<u32> = map.shards.iter().map(|a| a.shard.0).collect();
        let missing = self.shards_without_quorum(map, &shards, &acked);
        if !missing.is_empty() {
            let list: Vec<String> = missing.iter().map(u32::to_string).collect();
            return Err(WriteError::NoQuorum {
                degraded: format!("shards={}", list.join(",")),
            });
        }
        // A copy that missed a delete or a settings change missed it
        // since the delete's version (or now).
        let version = match early {
            Some((_, v)) => v,
            None => self.lease.clock.next()?,
        };
        let misses = crate::router::write::writer::missed_copies(map, &shards, &acked, version);
        let node_tasks = results
            .into_iter()
            .filter_map(|(_, r)| r.ok())
            .flat_map(|(t, _)| t)
            .collect();
        let mut details = details;
        if let (Value::Object(d), Some(first)) = (&mut details, map.shards.first()) {
            // Copies per group, to count each deleted document once later.
            let mut copies: BTreeMap<String, u64> = BTreeMap::new();
            for n in first.writers() {
                *copies.entry(self.group(n).0.to_string()).or_default() += 1;
            }
            d.insert(COPIES_KEY.into(), serde_json::json!(copies));
        }
        let task = match early {
            Some((t, _)) => t,
            None => self.new_uid().await?,
        };
        Ok(self
            .record_missing(
                task,
                uid,
                kind,
                Outcome::Enqueued(node_tasks),
                details,
                misses,
            )
            .await?)
    }

    /// Whether one of the index's nodes accepts `filter` (JSON text) in a
    /// search that returns nothing: the same rules as a delete by filter,
    /// without deleting. A node that cannot be asked counts as accepting
    /// (a tombstone too many deletes nothing that was not asked deleted).
    async fn filter_accepted(&self, map: &crate::state::ShardMap, filter: &str) -> bool {
        let Some(node) = map.shards.iter().flat_map(|a| a.readers()).next() else {
            return true;
        };
        let filter: Value = serde_json::from_str(filter).unwrap_or(Value::Null);
        let probe = serde_json::json!({"q": "", "limit": 0, "filter": filter});
        let asked = self
            .nodes
            .search(&self.base(node), map.physical(), &probe)
            .await;
        !matches!(asked, Err(NodeError::Refused { status, .. }) if status < 500)
    }

    /// Commits a deletion's tombstone, at a version of this router's clock,
    /// before any node receives it (I4): a node never deletes what the
    /// coordinators do not know was deleted. Returns that version.
    async fn record_tombstone(
        &self,
        uid: &str,
        task: TaskUid,
        deleted: Deleted,
    ) -> Result<Version, WriteError> {
        let version = self.lease.clock.next()?;
        if self.unsafe_switches.skip_tombstones {
            return Ok(version);
        }
        let tombstone = Tombstone {
            version,
            task: Some(task),
            deleted,
        };
        self.control
            .record_tombstone(uid, &tombstone)
            .await
            .map_err(|e| WriteError::Meili(coordinators_down(e)))?;
        Ok(version)
    }
}
