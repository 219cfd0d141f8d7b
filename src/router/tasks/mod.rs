//! Miroir tasks: uids from the coordinators' blocks, one record per client
//! write naming the node tasks behind it, and the Meilisearch-shaped view of
//! a record (succeeded only when every node task needed has succeeded).
//!
//! # Layout
//! - [`details`]: a finished task's details from its node tasks, counted once.
//! - [`filter`]: Meilisearch's task filters, and a scan of the task records.
//! - [`finisher`]: finishes open tasks in the background (and so fires webhooks).
//! - [`webhooks`]: webhooks fired once per Miroir task (their routes are in `api::webhooks`).

pub mod details;
pub mod filter;
pub mod finisher;
pub mod webhooks;

use std::sync::Mutex;
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use futures::future::join_all;

use crate::meili::stamp;
use crate::meili::MeiliError;
use crate::pb::v1::router_client::RouterClient;
use crate::pb::v1::{AllocateTaskIdsRequest, CommitTasksRequest, NodeTask, TaskRecord};
use crate::router::control::ControlPlane;
use crate::router::write::writer::{coordinators_down, Writer};
use details::NodeOutcome;

/// Task uids taken from the coordinators at a time.
const BLOCK: u32 = 256;

/// The rest of this router's current block of task uids.
#[derive(Default)]
pub struct TaskIds {
    /// `next..end` are still free.
    range: Mutex<(u64, u64)>,
}

impl TaskIds {
    pub async fn next(
        &self,
        control: &ControlPlane,
        router_id: &str,
    ) -> Result<u64, tonic::Status> {
        if let Some(uid) = self.take() {
            return Ok(uid);
        }
        let block = control
            .unary(|ch, auth| async move {
                let req = AllocateTaskIdsRequest {
                    router_id: router_id.to_string(),
                    count: BLOCK,
                };
                RouterClient::new(ch)
                    .allocate_task_ids(ControlPlane::request(&auth, req))
                    .await
            })
            .await?
            .into_inner();
        let mut r = self.range.lock().expect("task id lock");
        // Another request may have refilled meanwhile; the newer block wins, the
        // unused rest of the older one is simply skipped (uids stay unique).
        if r.0 >= r.1 || block.first > r.0 {
            *r = (block.first, block.first + u64::from(block.count));
        }
        let uid = r.0;
        r.0 += 1;
        Ok(uid)
    }

    fn take(&self) -> Option<u64> {
        let mut r = self.range.lock().expect("task id lock");
        (r.0 < r.1).then(|| {
            r.0 += 1;
            r.0 - 1
        })
    }
}

pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Commits records (one Raft entry for the lot); returns the uids that
/// became final with this commit.
pub async fn commit(
    control: &ControlPlane,
    tasks: Vec<TaskRecord>,
) -> Result<Vec<u64>, tonic::Status> {
    control
        .unary(|ch, auth| {
            let tasks = tasks.clone();
            async move {
                RouterClient::new(ch)
                    .commit_tasks(ControlPlane::request(&auth, CommitTasksRequest { tasks }))
                    .await
            }
        })
        .await
        .map(|r| r.into_inner().finished)
}

impl Writer<'_> {
    /// Commits records, then fires the webhooks of those this commit finished.
    pub async fn commit_tasks(&self, tasks: Vec<TaskRecord>) -> Result<(), tonic::Status> {
        let finished = commit(self.control, tasks.clone()).await?;
        let done: Vec<TaskRecord> = tasks
            .into_iter()
            .filter(|t| finished.contains(&t.uid))
            .collect();
        crate::router::tasks::webhooks::fire(self.control.clone(), self.nodes.http(), done);
        Ok(())
    }
}

/// What a client sees right after a write: Meilisearch's summarized task.
pub fn summary(t: &TaskRecord) -> Value {
    json!({
        "taskUid": t.uid,
        // Tasks about no index (cancelations) show null, as in Meilisearch.
        "indexUid": (!t.index_uid.is_empty()).then_some(&t.index_uid),
        // Meilisearch answers every accepted write with "enqueued", even one
        // whose task fails at once.
        "status": "enqueued",
        "type": t.kind,
        "enqueuedAt": rfc3339(t.enqueued_at_ms),
    })
}

/// A task as `GET /tasks/{uid}` shows it.
pub fn view(t: &TaskRecord) -> Value {
    let details = details::pending(&serde_json::from_str(&t.details).unwrap_or(json!({})));
    let error: Value = t
        .error
        .as_deref()
        .and_then(|e| serde_json::from_str(e).ok())
        .unwrap_or(Value::Null);
    let finished = t.finished_at_ms.map(rfc3339);
    json!({
        "uid": t.uid,
        "batchUid": t.uid,
        // Tasks about no index (cancelations) show null, as in Meilisearch.
        "indexUid": (!t.index_uid.is_empty()).then_some(&t.index_uid),
        "status": t.status,
        "type": t.kind,
        "canceledBy": null,
        "details": details,
        "error": error,
        "duration": t
            .finished_at_ms
            .map(|f| stamp::iso_duration(Duration::from_millis(f.saturating_sub(t.enqueued_at_ms)))),
        "enqueuedAt": rfc3339(t.enqueued_at_ms),
        "startedAt": finished.as_ref().map(|_| rfc3339(t.enqueued_at_ms)),
        "finishedAt": finished,
    })
}

/// The Miroir task's status from its node tasks: failed as soon as one
/// failed (with that node's error), succeeded once all succeeded.
pub fn aggregate(nodes: &[(NodeTask, Option<Value>)]) -> (String, Option<Value>) {
    if let Some((_, err)) = nodes.iter().find(|(n, _)| n.status == "failed") {
        return ("failed".into(), err.clone());
    }
    if nodes.iter().all(|(n, _)| n.status == "succeeded") {
        return ("succeeded".into(), None);
    }
    // Canceled on some node (POST /tasks/cancel), and nothing left running.
    if nodes.iter().any(|(n, _)| n.status == "canceled")
        && nodes
            .iter()
            .all(|(n, _)| n.status == "succeeded" || n.status == "canceled")
    {
        return ("canceled".into(), None);
    }
    if nodes
        .iter()
        .any(|(n, _)| n.status == "processing" || n.status == "succeeded")
    {
        return ("processing".into(), None);
    }
    ("enqueued".into(), None)
}

fn rfc3339(ms: u64) -> String {
    stamp::rfc3339(u128::from(ms) * 1_000_000)
}

/// `GET /tasks/{uid}`: the record, brought up to date from its node tasks.
pub async fn lookup(w: &Writer<'_>, uid: u64) -> Result<Value, MeiliError> {
    let res = w
        .control
        .unary(|ch, auth| async move {
            crate::pb::v1::router_client::RouterClient::new(ch)
                .get_task(ControlPlane::request(
                    &auth,
                    crate::pb::v1::GetTaskRequest { uid },
                ))
                .await
        })
        .await;
    let mut t = match res {
        Ok(t) => t.into_inner(),
        Err(s) if s.code() == tonic::Code::NotFound => {
            return Err(MeiliError::task_not_found(&uid.to_string()))
        }
        Err(s) => return Err(coordinators_down(s)),
    };
    if t.status == "succeeded" || t.status == "failed" || t.status == "canceled" {
        return Ok(view(&t));
    }
    let lookups = t.node_tasks.iter().map(|nt| {
        let base = w.base(&nt.node);
        let nt = nt.clone();
        async move {
            match w.nodes.task(&base, nt.task_uid).await {
                Ok(state) => {
                    let status = state.status.as_str().to_string();
                    (NodeTask { status, ..nt }, state.error, state.details)
                }
                Err(_) => (nt, None, Value::Null),
            }
        }
    });
    let nodes = join_all(lookups).await;
    let statuses: Vec<(NodeTask, Option<Value>)> = nodes
        .iter()
        .map(|(n, e, _)| (n.clone(), e.clone()))
        .collect();
    let (mut status, mut error) = aggregate(&statuses);
    if status == "succeeded" && t.kind == "settingsUpdate" {
        if let Err(e) =
            crate::router::write::settings_check::verify(w, &t.index_uid, &t.node_tasks).await
        {
            (status, error) = ("failed".into(), Some(e));
        }
    }
    t.node_tasks = nodes.iter().map(|(n, _, _)| n.clone()).collect();
    if status != t.status {
        let recorded: Value = serde_json::from_str(&t.details).unwrap_or(json!({}));
        if status == "succeeded" || status == "failed" || status == "canceled" {
            let outcomes: Vec<NodeOutcome> = nodes
                .into_iter()
                .map(|(n, _, details)| NodeOutcome {
                    group: w.group(&n.node),
                    details,
                })
                .collect();
            t.details = details::finish(&t.kind, &status, &recorded, &outcomes).to_string();
            t.finished_at_ms = Some(now_ms());
        }
        t.status = status;
        t.error = error.map(|e| e.to_string());
        // Best effort: a failed update is recomputed on the next lookup.
        let _ = w.commit_tasks(vec![t.clone()]).await;
    }
    Ok(view(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nt(status: &str) -> (NodeTask, Option<Value>) {
        (
            NodeTask {
                node: "n".into(),
                task_uid: 1,
                status: status.into(),
            },
            None,
        )
    }

    /// A task succeeds only when every node task did, and fails when any did.
    #[test]
    fn aggregation() {
        assert_eq!(
            aggregate(&[nt("succeeded"), nt("succeeded")]).0,
            "succeeded"
        );
        assert_eq!(
            aggregate(&[nt("succeeded"), nt("enqueued")]).0,
            "processing"
        );
        assert_eq!(aggregate(&[nt("enqueued"), nt("enqueued")]).0, "enqueued");
        assert_eq!(aggregate(&[nt("succeeded"), nt("canceled")]).0, "canceled");
        assert_eq!(
            aggregate(&[nt("processing"), nt("canceled")]).0,
            "processing"
        );
        let mut failed = nt("failed");
        failed.1 = Some(json!({"code": "invalid_document_id"}));
        let (status, err) = aggregate(&[nt("succeeded"), failed]);
        assert_eq!(status, "failed");
        assert_eq!(err.unwrap()["code"], "invalid_document_id");
    }
}
