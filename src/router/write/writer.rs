//! The write path: what every write shares (task records, the coordinators'
//! view of an index, primary keys), and document writes placed by shard,
//! sent to every owner in parallel, and acknowledged when one replica group
//! holds every shard of the batch with a majority of its copies.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::control::{ControlClient, ControlError};
use crate::fleet::{NodeClient, WriteMode};
use crate::meili::document_params::DocumentsWrite;
use crate::meili::MeiliError;
use crate::router::tasks::ids::{now_ms, TaskIds};
use crate::router::topology::TopologyCache;
use crate::router::write::batch::{place_batch, re_place, stamp_version};
use crate::router::write::lease::Held;
use crate::state::repair::CopyMiss;
use crate::state::{
    GroupId, NodeId, NodeTask, ShardMap, TaskKind, TaskRecord, TaskStatus, TaskUid,
};

/// What the write path needs from the router.
pub struct Writer<'a> {
    pub control: &'a ControlClient,
    pub nodes: &'a NodeClient,
    pub ids: &'a TaskIds,
    pub router_id: &'a str,
    /// Where nodes are and which group each is in.
    pub cache: &'a TopologyCache,
    pub lease: &'a crate::router::write::lease::LeaseHolder,
    pub unsafe_switches: crate::router::unsafe_switches::UnsafeSwitches,
    pub pause_points: crate::router::unsafe_switches::PausePoints,
    /// The client's `customMetadata`, kept on the task this write records.
    pub custom_metadata: Option<String>,
}

/// How a new task starts: refused outright (with Meilisearch's error), or
/// enqueued on the nodes named.
pub(crate) enum Outcome {
    Failed(Value),
    Enqueued(Vec<NodeTask>),
}

/// A write refused before or while reaching the nodes.
#[derive(Debug)]
pub enum WriteError {
    Meili(MeiliError),
    /// Some shard reached no group with a majority of its copies.
    NoQuorum {
        degraded: String,
    },
    /// A node refused the request as Meilisearch would: its error is the client's.
    Refused {
        status: u16,
        body: Value,
    },
}

impl From<MeiliError> for WriteError {
    fn from(e: MeiliError) -> Self {
        WriteError::Meili(e)
    }
}

pub(crate) use crate::router::primary_key::coordinators_down;

impl Writer<'_> {
    /// This writer, recording `customMetadata` on its task.
    pub fn with_metadata(mut self, custom_metadata: Option<String>) -> Self {
        self.custom_metadata = custom_metadata;
        self
    }

    /// The node client a write planned under `held` sends with: no request
    /// leaves once that lease has ended, and each gets only the time it has
    /// left (I2). Passes the test-only pause point first.
    pub(crate) async fn sender(&self, held: &Held) -> NodeClient {
        self.pause_points.pause(self.pause_points.before_send).await;
        match self.unsafe_switches.send_after_lease {
            true => self.nodes.clone(),
            false => self.nodes.sending_until(held.until),
        }
    }

    /// Index `uid`'s name on the nodes, from the cached shard map (the uid
    /// itself when no map is cached: the first generation's name).
    pub fn physical(&self, uid: &str) -> String {
        let t = self.cache.snapshot();
        t.maps
            .get(&crate::state::IndexUid(uid.to_string()))
            .map_or_else(|| uid.to_string(), |m| m.physical().to_string())
    }

    /// A node's URL, from the newest topology (empty if unknown, which fails its call).
    pub fn base(&self, id: &NodeId) -> String {
        let t = self.cache.snapshot();
        t.nodes
            .get(id)
            .map(|n| n.address.clone())
            .unwrap_or_default()
    }

    pub fn group(&self, id: &NodeId) -> GroupId {
        let t = self.cache.snapshot();
        t.nodes.get(id).map_or(GroupId(u32::MAX), |n| n.group)
    }

    /// Waits (briefly) until the cached topology knows every node `map` names:
    /// a map read from the coordinators can be newer than the watch stream.
    pub(crate) async fn learn(&self, map: &ShardMap) -> Result<(), MeiliError> {
        let named: BTreeSet<&NodeId> = map.shards.iter().flat_map(|a| a.writers()).collect();
        let known =
            |t: &crate::router::topology::Topology| named.iter().all(|n| t.nodes.contains_key(*n));
        let mut rx = self.cache.subscribe();
        let found =
            tokio::time::timeout(std::time::Duration::from_secs(5), rx.wait_for(|t| known(t)))
                .await
                .is_ok_and(|r| r.is_ok());
        match found {
            true => Ok(()),
            false => Err(MeiliError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "miroir_topology_unavailable",
                "system",
                "This router has not yet received the cluster's node list from the coordinators; retry shortly.".into(),
            )),
        }
    }

    pub(crate) async fn record(
        &self,
        uid: TaskUid,
        index: &str,
        kind: TaskKind,
        outcome: Outcome,
        details: Value,
    ) -> Result<TaskRecord, MeiliError> {
        self.record_missing(uid, index, kind, outcome, details, vec![])
            .await
    }

    /// [`Self::record`], with the copies the write did not reach although
    /// it was acknowledged: the coordinators mark them behind in the same
    /// commit, before the client hears of the write.
    pub(crate) async fn record_missing(
        &self,
        uid: TaskUid,
        index: &str,
        kind: TaskKind,
        outcome: Outcome,
        details: Value,
        misses: Vec<CopyMiss>,
    ) -> Result<TaskRecord, MeiliError> {
        let now = now_ms();
        let (status, node_tasks, error, finished, details) = match outcome {
            Outcome::Failed(e) => {
                let details =
                    crate::router::tasks::details::finish(kind, TaskStatus::Failed, &details, &[]);
                (
                    TaskStatus::Failed,
                    vec![],
                    Some(e.to_string()),
                    Some(now),
                    details,
                )
            }
            Outcome::Enqueued(nodes) => (TaskStatus::Enqueued, nodes, None, None, details),
        };
        let t = TaskRecord {
            uid,
            index_uid: index.to_string(),
            kind,
            status,
            node_tasks,
            error,
            enqueued_at_ms: now,
            finished_at_ms: finished,
            details: details.to_string(),
            workflow: None,
            custom_metadata: self.custom_metadata.clone(),
            misses: match self.unsafe_switches.skip_misses {
                true => vec![],
                false => misses,
            },
        };
        let sent = !t.node_tasks.is_empty();
        self.commit_tasks(vec![t.clone()])
            .await
            .map_err(|s| {
                let mut e = coordinators_down(s);
                if sent {
                    e.message = format!(
                        "{} The nodes accepted the write but its task could not be recorded: it may be applied; retrying it is safe.",
                        e.message
                    );
                }
                e
            })?;
        Ok(t)
    }

    pub(crate) async fn new_uid(&self) -> Result<TaskUid, MeiliError> {
        self.ids.next(self.control).await.map_err(coordinators_down)
    }

    pub async fn shard_map(&self, uid: &str) -> Result<Option<ShardMap>, MeiliError> {
        match self.control.get_shard_map(uid).await {
            Ok(m) => Ok(Some(m)),
            // A uid the coordinators refuse names no index (creating it
            // then says why it is refused).
            Err(ControlError::NotFound(_) | ControlError::InvalidArgument(_)) => Ok(None),
            Err(e) => Err(coordinators_down(e)),
        }
    }

    /// The index's primary key: cached for the map of `epoch`, else asked of
    /// the coordinators.
    pub async fn primary_key_at(
        &self,
        uid: &str,
        epoch: Option<u64>,
    ) -> Result<Option<String>, MeiliError> {
        crate::router::primary_key::at(self.control, self.cache, uid, epoch).await
    }

    /// Fixes the primary key once; concurrent routers setting the same key all succeed.
    pub async fn set_primary_key(&self, uid: &str, pk: &str) -> Result<(), MeiliError> {
        self.control
            .set_primary_key(uid, pk)
            .await
            .map(|_| ())
            .map_err(|e| match e {
                ControlError::FailedPrecondition(_) => MeiliError::invalid(
                    "index_primary_key_already_exists",
                    "Index already has a primary key.",
                ),
                e => coordinators_down(e),
            })
    }

    /// The key a batch is placed by, as Meilisearch decides it: the index's
    /// key if it has one (a different `?primaryKey=` fails the batch), else
    /// `?primaryKey=`, else inferred from the first document. A new key is
    /// committed through the coordinators; when another router committed one
    /// first, that one is used, as if its batch had been processed first.
    /// The inner error fails the batch's task.
    async fn resolve_primary_key(
        &self,
        uid: &str,
        epoch: u64,
        query_pk: Option<String>,
        docs: &[Value],
    ) -> Result<Result<String, MeiliError>, MeiliError> {
        let existing = self.primary_key_at(uid, Some(epoch)).await?;
        let explicit = query_pk.is_some();
        let wanted = match (existing, query_pk) {
            (Some(pk), Some(q)) if pk != q => {
                return Ok(Err(MeiliError::invalid(
                    "index_primary_key_already_exists",
                    format!("Index already has a primary key: `{pk}`."),
                )))
            }
            (Some(pk), _) => return Ok(Ok(pk)),
            (None, Some(q)) => q,
            (None, None) => {
                let first = docs
                    .first()
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                match crate::meili::primary_key::infer(&first) {
                    Ok(pk) => pk,
                    Err(e) => return Ok(Err(e)),
                }
            }
        };
        match self.set_primary_key(uid, &wanted).await {
            Ok(()) => Ok(Ok(wanted)),
            Err(e) if e.code == "index_primary_key_already_exists" => {
                match self.primary_key_at(uid, Some(epoch)).await? {
                    Some(pk) if explicit && pk != wanted => Ok(Err(MeiliError::invalid(
                        "index_primary_key_already_exists",
                        format!("Index already has a primary key: `{pk}`."),
                    ))),
                    Some(pk) => Ok(Ok(pk)),
                    None => Err(e),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// Adds (POST, `replace`) or updates (PUT) documents.
    pub async fn write_documents(
        &self,
        uid: &str,
        query: &DocumentsWrite,
        docs: Vec<Value>,
        replace: bool,
    ) -> Result<TaskRecord, WriteError> {
        let query_pk = query.primary_key.clone();
        let kind = TaskKind::DocumentAdditionOrUpdate;
        let mut map = self.writing_map(uid).await?;
        if map.is_none() {
            // A write to a missing index creates it, as Meilisearch does.
            self.create_index(uid, query_pk.clone()).await?;
            map = self.writing_map(uid).await?;
        }
        let map = map.ok_or_else(|| MeiliError::index_not_found(uid))?;
        let received = docs.len();
        let details = json!({"receivedDocuments": received, "indexedDocuments": null});
        if docs.is_empty() {
            // Nothing to send (an empty array, a CSV of headers only): the task
            // succeeds with no documents, as in Meilisearch, and no key is needed.
            let task = self.new_uid().await?;
            return Ok(self
                .record(task, uid, kind, Outcome::Enqueued(vec![]), details)
                .await?);
        }
        let pk = match self
            .resolve_primary_key(uid, map.epoch.0, query_pk, &docs)
            .await?
        {
            Ok(pk) => pk,
            Err(e) => {
                let task = self.new_uid().await?;
                return Ok(self
                    .record(task, uid, kind, Outcome::Failed(e.to_json()), details)
                    .await?);
            }
        };
        let placed = match place_batch(docs, &pk, map.shards.len() as u32) {
            Ok(p) => p,
            Err(e) => {
                let task = self.new_uid().await?;
                let err = json!({"message": e.to_string(), "code": e.code(), "type": "invalid_request",
                    "link": format!("https://docs.meilisearch.com/errors#{}", e.code())});
                return Ok(self
                    .record(task, uid, kind, Outcome::Failed(err), details)
                    .await?);
            }
        };
        self.pause_points.pause(self.pause_points.before_gate).await;
        // The map may have moved on while the key was settled; fences are
        // waited out here, and the lease taken last. The batch goes out
        // placed by the shard count of the map it is gated on.
        let (mut placed, mut placed_for) = (placed, map.shards.len());
        let (open, shards) = loop {
            let shards: BTreeSet<u32> = placed.iter().map(|(s, _)| s.0).collect();
            let open = self
                .open_for_writes(uid, Some(&shards))
                .await?
                .ok_or_else(|| MeiliError::index_not_found(uid))?;
            if open.map.shards.len() == placed_for {
                break (open, shards);
            }
            placed_for = open.map.shards.len();
            drop(open);
            placed = re_place(placed, &pk, placed_for as u32)
                .map_err(|e| MeiliError::invalid(e.code(), e.to_string()))?;
        };
        let (map, held) = (&open.map, open.held);
        // The version first: a clock refusal should not spend a task uid.
        let version = self.lease.clock.next()?;
        let task = self.new_uid().await?;
        stamp_version(&mut placed, version);
        let mut per_node: BTreeMap<NodeId, Vec<Value>> = BTreeMap::new();
        for (shard, doc) in &placed {
            for n in map.shards[shard.0 as usize].writers() {
                per_node.entry(n.clone()).or_default().push(doc.clone());
            }
        }
        let mode = if replace {
            WriteMode::Replace
        } else {
            WriteMode::Update
        };
        let node_query = query.node_query(&pk);
        let nodes = self.sender(&held).await;
        let calls = per_node.into_iter().map(|(id, docs)| {
            let (base, node_query, nodes) = (self.base(&id), &node_query, &nodes);
            let physical = map.physical();
            async move {
                let r = nodes
                    .write_batch_as(&base, physical, node_query, docs, mode)
                    .await;
                (id, r, Instant::now())
            }
        });
        crate::router::routed_epoch::note(open.epoch);
        let results = join_all(calls).await;
        if crate::router::write::lease::none_sent(results.iter().map(|(_, r, _)| r)) {
            return Err(crate::router::write::lease::lease_ended().into());
        }
        let replies = results.iter().map(|(id, r, at)| (id, r.is_ok(), *at));
        let acked = in_time(replies, &held, self.unsafe_switches);
        let results: Vec<_> = results.into_iter().map(|(id, r, _)| (id, r)).collect();
        let missing = self.shards_without_quorum(map, &shards, &acked);
        let misses = missed_copies(map, &shards, &acked, version);
        let node_tasks: Vec<NodeTask> = results
            .into_iter()
            .filter_map(|(id, r)| {
                r.ok().map(|t| NodeTask {
                    node: id,
                    task_uid: t.task_uid,
                    status: TaskStatus::Enqueued,
                })
            })
            .collect();
        if !missing.is_empty() {
            return Err(WriteError::NoQuorum {
                degraded: format!(
                    "shards={}",
                    missing
                        .iter()
                        .map(u32::to_string)
                        .collect::<Vec<_>>()
                        .join(",")
                ),
            });
        }
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

    /// Shards of the batch for which no group acknowledged with a majority of its copies.
    pub(crate) fn shards_without_quorum(
        &self,
        map: &ShardMap,
        shards: &BTreeSet<u32>,
        acked: &BTreeSet<NodeId>,
    ) -> Vec<u32> {
        shards
            .iter()
            .copied()
            .filter(|s| {
                let every = self.unsafe_switches.count_every_copy;
                !map.shards[*s as usize].acknowledged(|n| self.group(n), acked, every)
            })
            .collect()
    }
}

/// The copies of `shards` whose node did not acknowledge a write of
/// `version` (no answer, a refusal, too late, or not sent): each one, with
/// the shards of the write it holds. Filling copies are reported too: the
/// move filling them reads those shards again from this version before they
/// serve (a miss older than its last round would otherwise be lost).
pub(crate) fn missed_copies(
    map: &ShardMap,
    shards: &BTreeSet<u32>,
    acked: &BTreeSet<NodeId>,
    version: crate::state::Version,
) -> Vec<CopyMiss> {
    let mut by_node: BTreeMap<NodeId, Vec<crate::state::ShardId>> = BTreeMap::new();
    for s in shards {
        let Some(a) = map.shards.get(*s as usize) else {
            continue;
        };
        for c in &a.copies {
            if !acked.contains(&c.node) {
                if c.role == crate::state::Role::Filling {
                    metrics::counter!("miroir_router_dual_write_failures_total").increment(1);
                }
                by_node.entry(c.node.clone()).or_default().push(a.shard);
            }
        }
    }
    if !by_node.is_empty() {
        metrics::counter!("miroir_router_missed_copies_total").increment(by_node.len() as u64);
    }
    by_node
        .into_iter()
        .map(|(node, shards)| CopyMiss {
            node,
            shards,
            version,
        })
        .collect()
}

/// Nodes whose reply accepted the write before the lease it was sent under
/// ended: only those count toward its acknowledgement (I2).
/// `replies` are (node, accepted, when the reply arrived).
pub(crate) fn in_time<'r>(
    replies: impl Iterator<Item = (&'r NodeId, bool, Instant)>,
    held: &crate::router::write::lease::Held,
    switches: crate::router::unsafe_switches::UnsafeSwitches,
) -> BTreeSet<NodeId> {
    let mut late = 0;
    let mut acked = BTreeSet::new();
    for (id, ok, at) in replies {
        let ok = ok || switches.ack_failed_writes;
        if ok && (at < held.until || switches.ignore_lease) {
            acked.insert(id.clone());
        } else if ok {
            late += 1;
        }
    }
    if late > 0 {
        metrics::counter!("miroir_router_late_acks_total").increment(late as u64);
    }
    acked
}
