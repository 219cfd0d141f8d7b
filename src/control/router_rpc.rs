//! The Router service, one typed method per RPC the router uses.

use crate::control::client::ControlClient;
use crate::control::error::ControlError;
use crate::control::types::{LeaseGrant, TaskIdBlock, TaskPage, TaskQuery, Webhook};
use crate::pb::v1 as pb;
use crate::pb::v1::router_client::RouterClient;
use crate::state::{Epoch, TaskRecord, TaskUid};

impl ControlClient {
    /// A block of `count` task uids for this router.
    pub async fn allocate_task_ids(&self, count: u32) -> Result<TaskIdBlock, ControlError> {
        let req = pb::AllocateTaskIdsRequest {
            router_id: self.router_id.clone(),
            count,
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).allocate_task_ids(r).await }
        })
        .await
        .map(TaskIdBlock::from)
    }

    /// Commits records (one Raft entry for the lot); the uids this commit finished.
    pub async fn commit_tasks(&self, tasks: &[TaskRecord]) -> Result<Vec<TaskUid>, ControlError> {
        let req = pb::CommitTasksRequest {
            tasks: tasks.iter().map(Into::into).collect(),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).commit_tasks(r).await }
        })
        .await
        .map(|r| r.finished.into_iter().map(TaskUid).collect())
    }

    /// One record; [`ControlError::NotFound`] if the coordinators do not have it.
    pub async fn get_task(&self, uid: TaskUid) -> Result<TaskRecord, ControlError> {
        let t = self
            .call(|ch| {
                let r = self.request(pb::GetTaskRequest { uid: uid.0 });
                async move { RouterClient::new(ch).get_task(r).await }
            })
            .await?;
        TaskRecord::try_from(t).map_err(ControlError::malformed)
    }

    pub async fn list_tasks(&self, q: TaskQuery) -> Result<TaskPage, ControlError> {
        let req = pb::ListTasksRequest {
            from: q.from,
            limit: q.limit,
            index_uids: q.index_uids,
            statuses: q.statuses.iter().map(|s| s.as_str().to_string()).collect(),
        };
        let r = self
            .call(|ch| {
                let r = self.request(req.clone());
                async move { RouterClient::new(ch).list_tasks(r).await }
            })
            .await?;
        Ok(TaskPage {
            tasks: r
                .tasks
                .into_iter()
                .map(TaskRecord::try_from)
                .collect::<Result<_, _>>()
                .map_err(ControlError::malformed)?,
            total: r.total,
            next: r.next,
        })
    }

    /// Forgets finished records; how many were deleted.
    pub async fn delete_tasks(&self, uids: &[TaskUid]) -> Result<u32, ControlError> {
        let req = pb::DeleteTasksRequest {
            uids: uids.iter().map(|u| u.0).collect(),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).delete_tasks(r).await }
        })
        .await
        .map(|r| r.deleted)
    }

    /// A lease on `epoch`, the newest this router has applied.
    pub async fn acquire_lease(&self, epoch: Epoch) -> Result<LeaseGrant, ControlError> {
        let req = pb::LeaseRequest {
            router_id: self.router_id.clone(),
            epoch: epoch.0,
            instance: self.instance.clone(),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).acquire_lease(r).await }
        })
        .await
        .map(LeaseGrant::from)
    }

    /// Starts deleting index `uid` (or joins the deletion under way) with
    /// `task` as the client's task, which the leader finishes; the record.
    /// [`ControlError::NotFound`] if there is no such index.
    pub async fn start_index_deletion(
        &self,
        uid: &str,
        task: TaskUid,
    ) -> Result<TaskRecord, ControlError> {
        let req = pb::StartIndexDeletionRequest {
            uid: uid.to_string(),
            task_uid: task.0,
        };
        let t = self
            .call(|ch| {
                let r = self.request(req.clone());
                async move { RouterClient::new(ch).start_index_deletion(r).await }
            })
            .await?;
        TaskRecord::try_from(t).map_err(ControlError::malformed)
    }

    /// Starts an index swap (or, with `rename_by_update`, the rename a
    /// `PATCH /indexes/{uid}` asks for) with `task` as the client's task,
    /// which the leader finishes at the flip; the record.
    pub async fn start_index_swap(
        &self,
        swaps: &[crate::meili::index_swap::Swap],
        task: TaskUid,
        rename_by_update: bool,
        primary_key: Option<String>,
    ) -> Result<TaskRecord, ControlError> {
        let req = pb::StartIndexSwapRequest {
            swaps: swaps.iter().map(pb::IndexSwap::from).collect(),
            task_uid: task.0,
            rename_by_update,
            primary_key,
        };
        let t = self
            .call(|ch| {
                let r = self.request(req.clone());
                async move { RouterClient::new(ch).start_index_swap(r).await }
            })
            .await?;
        TaskRecord::try_from(t).map_err(ControlError::malformed)
    }

    /// Records a delete as a tombstone; done before the delete reaches any node.
    pub async fn record_tombstone(
        &self,
        index: &str,
        tombstone: &crate::state::tombstones::Tombstone,
    ) -> Result<(), ControlError> {
        let req = pb::RecordTombstoneRequest {
            index: index.to_string(),
            tombstone: Some(tombstone.into()),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).record_tombstone(r).await }
        })
        .await
        .map(|_| ())
    }

    /// Takes the tasks workflows finished that no router has fired webhooks for.
    pub async fn take_workflow_finished(&self) -> Result<Vec<TaskRecord>, ControlError> {
        let r = self
            .call(|ch| {
                let r = self.request(pb::TakeWorkflowFinishedRequest { max: 0 });
                async move { RouterClient::new(ch).take_workflow_finished(r).await }
            })
            .await?;
        r.tasks
            .into_iter()
            .map(|t| TaskRecord::try_from(t).map_err(ControlError::malformed))
            .collect()
    }

    pub async fn list_webhooks(&self) -> Result<Vec<Webhook>, ControlError> {
        self.call(|ch| {
            let r = self.request(pb::ListWebhooksRequest {});
            async move { RouterClient::new(ch).list_webhooks(r).await }
        })
        .await
        .map(|r| r.webhooks.into_iter().map(Webhook::from).collect())
    }

    /// Creates or replaces a webhook; [`ControlError::InvalidArgument`] for a
    /// bad URL, [`ControlError::FailedPrecondition`] when there are too many.
    pub async fn put_webhook(&self, w: Webhook) -> Result<Webhook, ControlError> {
        let req = pb::Webhook::from(w);
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).put_webhook(r).await }
        })
        .await
        .map(Webhook::from)
    }

    pub async fn delete_webhook(&self, uuid: &str) -> Result<(), ControlError> {
        let req = pb::WebhookRef {
            uuid: uuid.to_string(),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { RouterClient::new(ch).delete_webhook(r).await }
        })
        .await
        .map(|_| ())
    }
}
