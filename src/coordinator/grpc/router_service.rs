//! What routers ask of the coordinators: shard maps, task uids, task records.

use std::collections::BTreeMap;
use std::pin::Pin;

use futures::Stream;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::coordinator::app::{App, LeaderRequest};
use crate::coordinator::error::AppError;
use crate::pb::v1::router_server::Router;
use crate::pb::v1::*;
use crate::state::commands::{
    AllocateTaskIds, CommitTasks, DeleteTasks, DeleteWebhook, FenceIndex, PutWebhook,
    StartIndexDeletion, StartIndexSwap,
};
use crate::state::{ClusterState, Command, CommandResponse, Epoch, IndexUid, TaskStatus, TaskUid};

const MAX_LIST: u32 = 1000;

pub struct RouterService {
    app: App,
    shutdown: tokio_util::sync::CancellationToken,
}

impl RouterService {
    pub fn new(app: App, shutdown: tokio_util::sync::CancellationToken) -> Self {
        RouterService { app, shutdown }
    }
}

/// What a watcher has been sent so far, to compute the next event.
#[derive(Default)]
struct Sent {
    epochs: BTreeMap<IndexUid, Epoch>,
    topology: Option<u64>,
    /// The cluster epoch of the last event sent.
    epoch: u64,
}

impl Sent {
    /// An event that changes nothing: the stream is alive and current. It
    /// repeats the epoch already sent, never a newer one, so that a router
    /// cannot learn of an epoch before the maps that come with it.
    fn heartbeat(&self, applied: u64) -> ShardMapEvent {
        ShardMapEvent {
            full: false,
            changed: vec![],
            deleted: vec![],
            nodes: vec![],
            applied_index: applied,
            epoch: self.epoch,
        }
    }

    /// The event that brings a watcher from what it was sent to `s`, if any.
    fn diff(&mut self, s: &ClusterState, full: bool, applied: u64) -> Option<ShardMapEvent> {
        let changed: Vec<ShardMap> = s
            .shard_maps
            .values()
            .filter(|m| self.epochs.get(&m.index) != Some(&m.epoch))
            .map(Into::into)
            .collect();
        let deleted: Vec<String> = self
            .epochs
            .keys()
            .filter(|k| !s.shard_maps.contains_key(*k))
            .map(|k| k.0.clone())
            .collect();
        let topology_changed = self.topology != Some(s.topology_version);
        // An epoch may be taken with no map changing (a fence over indexes
        // that are gone): routers must still hear of it, or they could never
        // acknowledge it and would lose their leases.
        let epoch_changed = self.epoch != s.last_epoch.0;
        if !full && changed.is_empty() && deleted.is_empty() && !topology_changed && !epoch_changed
        {
            return None;
        }
        self.epochs = s
            .shard_maps
            .values()
            .map(|m| (m.index.clone(), m.epoch))
            .collect();
        self.topology = Some(s.topology_version);
        self.epoch = s.last_epoch.0;
        Some(ShardMapEvent {
            full,
            changed,
            deleted,
            nodes: if topology_changed || full {
                s.nodes.values().map(Into::into).collect()
            } else {
                vec![]
            },
            applied_index: applied,
            epoch: s.last_epoch.0,
        })
    }
}

type EventStream = Pin<Box<dyn Stream<Item = Result<ShardMapEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Router for RouterService {
    type WatchShardMapsStream = EventStream;

    async fn acquire_lease(
        &self,
        req: Request<LeaseRequest>,
    ) -> Result<Response<LeaseGrant>, Status> {
        let r = req.into_inner();
        let ask = LeaderRequest::GrantLease {
            router: r.router_id,
            instance: r.instance,
            epoch: r.epoch,
        };
        match self.app.on_leader(ask).await? {
            Some(CommandResponse::Lease {
                lease_ms,
                epoch,
                shard_policy,
                leader_unix_ms,
                version_ceiling,
                version_floor,
                max_clock_skew_ms,
            }) => Ok(Response::new(LeaseGrant {
                lease_ms,
                epoch,
                unavailable_shard_policy: shard_policy,
                leader_unix_ms,
                version_ceiling,
                version_floor,
                max_clock_skew_ms,
            })),
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn start_index_deletion(
        &self,
        req: Request<StartIndexDeletionRequest>,
    ) -> Result<Response<TaskRecord>, Status> {
        let r = req.into_inner();
        let start = StartIndexDeletion {
            uid: IndexUid(r.uid),
            task: Some(TaskUid(r.task_uid)),
            at_ms: crate::workflows::now_ms(),
        };
        self.app.propose(Command::StartIndexDeletion(start)).await?;
        let uid = TaskUid(r.task_uid);
        let t = self
            .app
            .read(|s| s.tasks.records.get(&uid).map(Into::into))
            .await?;
        t.map(Response::new)
            .ok_or_else(|| Status::internal("the deletion's task was not recorded"))
    }

    async fn start_index_swap(
        &self,
        req: Request<StartIndexSwapRequest>,
    ) -> Result<Response<TaskRecord>, Status> {
        let r = req.into_inner();
        let uid = TaskUid(r.task_uid);
        let start = StartIndexSwap {
            swaps: r.swaps.into_iter().map(Into::into).collect(),
            task: uid,
            rename_by_update: r.rename_by_update,
            primary_key: r.primary_key,
            at_ms: crate::workflows::now_ms(),
        };
        self.app.propose(Command::StartIndexSwap(start)).await?;
        let t = self
            .app
            .read(|s| s.tasks.records.get(&uid).map(Into::into))
            .await?;
        t.map(Response::new)
            .ok_or_else(|| Status::internal("the swap's task was not recorded"))
    }

    async fn fence_index(
        &self,
        req: Request<FenceIndexRequest>,
    ) -> Result<Response<ShardMap>, Status> {
        let uid = IndexUid(req.into_inner().uid);
        match self
            .app
            .propose(Command::FenceIndex(FenceIndex { uid }))
            .await?
        {
            CommandResponse::Map(m) => Ok(Response::new((&m).into())),
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn delete_tasks(
        &self,
        req: Request<DeleteTasksRequest>,
    ) -> Result<Response<DeleteTasksResponse>, Status> {
        let uids = req.into_inner().uids.into_iter().map(TaskUid).collect();
        match self
            .app
            .propose(Command::DeleteTasks(DeleteTasks { uids }))
            .await?
        {
            CommandResponse::TasksDeleted(deleted) => {
                Ok(Response::new(DeleteTasksResponse { deleted }))
            }
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn list_webhooks(
        &self,
        _req: Request<ListWebhooksRequest>,
    ) -> Result<Response<ListWebhooksResponse>, Status> {
        let webhooks = self
            .app
            .read(|s| {
                s.webhooks
                    .iter()
                    .map(|(uuid, w)| Webhook {
                        uuid: uuid.clone(),
                        url: w.url.clone(),
                        headers: w.headers.clone().into_iter().collect(),
                    })
                    .collect()
            })
            .await?;
        Ok(Response::new(ListWebhooksResponse { webhooks }))
    }

    async fn put_webhook(&self, req: Request<Webhook>) -> Result<Response<Webhook>, Status> {
        let w = req.into_inner();
        let cmd = Command::PutWebhook(PutWebhook {
            uuid: w.uuid.clone(),
            webhook: crate::state::webhooks::Webhook {
                url: w.url.clone(),
                headers: w.headers.clone().into_iter().collect(),
            },
        });
        self.app.propose(cmd).await?;
        Ok(Response::new(w))
    }

    async fn delete_webhook(
        &self,
        req: Request<WebhookRef>,
    ) -> Result<Response<DeleteWebhookResponse>, Status> {
        let uuid = req.into_inner().uuid;
        self.app
            .propose(Command::DeleteWebhook(DeleteWebhook { uuid }))
            .await?;
        Ok(Response::new(DeleteWebhookResponse {}))
    }

    async fn await_routers(
        &self,
        req: Request<AwaitRoutersRequest>,
    ) -> Result<Response<AwaitRoutersResponse>, Status> {
        let r = req.into_inner();
        let ask = LeaderRequest::AwaitRouters {
            epoch: r.epoch,
            timeout_ms: (r.timeout_ms > 0).then_some(r.timeout_ms),
        };
        match self.app.on_leader(ask).await? {
            Some(CommandResponse::Routers(acknowledged)) => {
                Ok(Response::new(AwaitRoutersResponse { acknowledged }))
            }
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn watch_shard_maps(
        &self,
        req: Request<WatchShardMapsRequest>,
    ) -> Result<Response<EventStream>, Status> {
        let router = req.into_inner().router_id;
        // The first event is linearizable: a router never starts from a map
        // older than one already committed when it connected.
        if !self.app.unsafe_switches.stale_watches {
            self.app.read_barrier().await?;
        }
        let state = self.app.state.clone();
        let mut changes = state.subscribe();
        let mut confirmed = self.app.confirmations.subscribe();
        let mut seen_round = confirmed.borrow().round;
        let shutdown = self.shutdown.clone();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            let mut sent = Sent::default();
            let mut full = true;
            loop {
                let applied = *changes.borrow_and_update();
                let event = state.read(|s| sent.diff(s, full, applied));
                full = false;
                if let Some(ev) = event {
                    if tx.send(Ok(ev)).await.is_err() {
                        break;
                    }
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { break },
                    r = confirmed.changed() => {
                        // Still in touch with a quorum (this round's shared
                        // read barrier)? Then say so (an event with no
                        // changes); if not, end the watch so the router
                        // follows another member.
                        let c = *confirmed.borrow_and_update();
                        if r.is_err() || c.failed_since(seen_round) {
                            let _ = tx.send(Err(Status::unavailable("this coordinator lost touch with the leader: follow another"))).await;
                            break;
                        }
                        seen_round = c.round;
                        // Changes that landed meanwhile go first, as themselves.
                        let applied = *changes.borrow_and_update();
                        let ev = state
                            .read(|s| sent.diff(s, false, applied))
                            .unwrap_or_else(|| sent.heartbeat(applied));
                        if tx.send(Ok(ev)).await.is_err() {
                            break;
                        }
                    }
                    _ = tx.closed() => break,
                    _ = shutdown.cancelled() => {
                        let _ = tx.send(Err(Status::unavailable("coordinator shutting down: reconnect to another"))).await;
                        break;
                    }
                }
            }
            tracing::debug!(%router, "shard-map watch ended");
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn allocate_task_ids(
        &self,
        req: Request<AllocateTaskIdsRequest>,
    ) -> Result<Response<TaskIdBlock>, Status> {
        let r = req.into_inner();
        let cmd = Command::AllocateTaskIds(AllocateTaskIds {
            router: r.router_id,
            count: r.count,
        });
        match self.app.propose(cmd).await? {
            CommandResponse::TaskBlock { first, count } => Ok(Response::new(TaskIdBlock {
                first: first.0,
                count,
            })),
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn commit_tasks(
        &self,
        req: Request<CommitTasksRequest>,
    ) -> Result<Response<CommitTasksResponse>, Status> {
        let tasks = req
            .into_inner()
            .tasks
            .into_iter()
            .map(TryInto::try_into)
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::from)?;
        match self
            .app
            .propose(Command::CommitTasks(CommitTasks { tasks }))
            .await?
        {
            CommandResponse::Committed { count, finished } => {
                Ok(Response::new(CommitTasksResponse {
                    committed: count,
                    finished: finished.into_iter().map(|u| u.0).collect(),
                }))
            }
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn record_tombstone(
        &self,
        req: Request<RecordTombstoneRequest>,
    ) -> Result<Response<RecordTombstoneResponse>, Status> {
        let r = req.into_inner();
        let index = IndexUid::parse(&r.index).map_err(AppError::from)?;
        let tombstone = r
            .tombstone
            .ok_or_else(|| Status::invalid_argument("a tombstone is required"))?
            .try_into()
            .map_err(AppError::from)?;
        let cmd = Command::RecordTombstone(crate::state::commands::RecordTombstone {
            index,
            tombstone,
            at_ms: (crate::meili::stamp::now_nanos() / 1_000_000) as u64,
        });
        self.app.propose(cmd).await?;
        Ok(Response::new(RecordTombstoneResponse {}))
    }

    async fn take_workflow_finished(
        &self,
        req: Request<TakeWorkflowFinishedRequest>,
    ) -> Result<Response<TakeWorkflowFinishedResponse>, Status> {
        let max = match req.into_inner().max {
            0 => 100,
            n => n.min(1000),
        };
        // Most of the time there is nothing: answer from the applied state
        // then, without a commit (the next call sees what was missed).
        if self.app.state.read(|s| s.webhook_outbox.is_empty()) {
            return Ok(Response::new(TakeWorkflowFinishedResponse {
                tasks: vec![],
            }));
        }
        let cmd =
            Command::TakeWorkflowFinished(crate::state::commands::TakeWorkflowFinished { max });
        match self.app.propose(cmd).await? {
            CommandResponse::Tasks(tasks) => Ok(Response::new(TakeWorkflowFinishedResponse {
                tasks: tasks.iter().map(Into::into).collect(),
            })),
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn get_task(&self, req: Request<GetTaskRequest>) -> Result<Response<TaskRecord>, Status> {
        let uid = TaskUid(req.into_inner().uid);
        let found = self
            .app
            .read(|s| s.tasks.records.get(&uid).map(Into::into))
            .await?;
        found
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("task `{uid}` not found")))
    }

    async fn list_tasks(
        &self,
        req: Request<ListTasksRequest>,
    ) -> Result<Response<ListTasksResponse>, Status> {
        let r = req.into_inner();
        let statuses = r
            .statuses
            .iter()
            .map(|s| TaskStatus::parse(s))
            .collect::<Result<Vec<_>, _>>()
            .map_err(AppError::from)?;
        let limit = if r.limit == 0 {
            20
        } else {
            r.limit.min(MAX_LIST)
        } as usize;
        let from = if r.from == 0 { u64::MAX } else { r.from };
        let resp = self
            .app
            .read(|s| {
                let matches = |t: &&crate::state::TaskRecord| {
                    (r.index_uids.is_empty() || r.index_uids.contains(&t.index_uid))
                        && (statuses.is_empty() || statuses.contains(&t.status))
                };
                let total = s.tasks.records.values().filter(matches).count() as u64;
                let mut page = s
                    .tasks
                    .records
                    .range(..=TaskUid(from))
                    .rev()
                    .map(|(_, t)| t)
                    .filter(matches);
                let tasks: Vec<TaskRecord> = page.by_ref().take(limit).map(Into::into).collect();
                let next = page.next().map(|t| t.uid.0);
                ListTasksResponse { tasks, next, total }
            })
            .await?;
        Ok(Response::new(resp))
    }
}
