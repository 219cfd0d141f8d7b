//! The task queue: asynchronous writes are enqueued, then run one at a time, in order, by a
//! background worker that moves each from `enqueued` through `processing` to `succeeded` or `failed`.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};
use tokio_util::sync::CancellationToken;

use super::server::Node;
use super::store::Document;
use crate::meili::error::MeiliError;
use crate::meili::stamp;

/// What an asynchronous write does once its turn comes.
pub enum TaskOp {
    IndexCreation {
        primary_key: Option<String>,
    },
    IndexUpdate {
        primary_key: Option<String>,
    },
    IndexDeletion,
    DocumentAddition {
        documents: Vec<Document>,
        primary_key: Option<String>,
        merge: bool,
    },
    DocumentDeletionByIds(Vec<String>),
    DocumentDeletionByFilter(Value),
    DocumentClear,
    SettingsUpdate(Map<String, Value>),
}

impl TaskOp {
    /// Meilisearch's task `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskOp::IndexCreation { .. } => "indexCreation",
            TaskOp::IndexUpdate { .. } => "indexUpdate",
            TaskOp::IndexDeletion => "indexDeletion",
            TaskOp::DocumentAddition { .. } => "documentAdditionOrUpdate",
            TaskOp::DocumentDeletionByIds(_) | TaskOp::DocumentDeletionByFilter(_) => {
                "documentDeletion"
            }
            TaskOp::DocumentClear => "documentDeletion",
            TaskOp::SettingsUpdate(_) => "settingsUpdate",
        }
    }

    /// The details an enqueued task shows; counts are filled in when it runs.
    fn initial_details(&self) -> Map<String, Value> {
        let v = match self {
            TaskOp::IndexCreation { primary_key } | TaskOp::IndexUpdate { primary_key } => {
                json!({"primaryKey": primary_key})
            }
            TaskOp::IndexDeletion | TaskOp::DocumentClear => json!({"deletedDocuments": null}),
            TaskOp::DocumentAddition { documents, .. } => {
                json!({"receivedDocuments": documents.len(), "indexedDocuments": null})
            }
            TaskOp::DocumentDeletionByIds(ids) => {
                json!({"providedIds": ids.len(), "deletedDocuments": null, "originalFilter": null})
            }
            TaskOp::DocumentDeletionByFilter(f) => {
                json!({"providedIds": 0, "deletedDocuments": null, "originalFilter": f.to_string()})
            }
            TaskOp::SettingsUpdate(_) => json!({}),
        };
        v.as_object().cloned().unwrap_or_default()
    }
}

pub struct Task {
    pub uid: u64,
    pub index_uid: Option<String>,
    pub status: &'static str,
    pub kind: &'static str,
    details: Map<String, Value>,
    error: Option<MeiliError>,
    enqueued_at: u128,
    started_at: Option<u128>,
    finished_at: Option<u128>,
    /// Taken by the worker when the task runs.
    op: Option<TaskOp>,
}

impl Task {
    pub fn to_json(&self) -> Value {
        let at = |t: Option<u128>| t.map(stamp::rfc3339);
        let duration = match (self.started_at, self.finished_at) {
            (Some(s), Some(f)) => Some(stamp::iso_duration(Duration::from_nanos(
                f.saturating_sub(s) as u64,
            ))),
            _ => None,
        };
        json!({
            "uid": self.uid,
            "batchUid": self.started_at.map(|_| self.uid),
            "indexUid": self.index_uid,
            "status": self.status,
            "type": self.kind,
            "canceledBy": null,
            "details": self.details,
            "error": self.error.as_ref().map(MeiliError::to_json),
            "duration": duration,
            "enqueuedAt": stamp::rfc3339(self.enqueued_at),
            "startedAt": at(self.started_at),
            "finishedAt": at(self.finished_at),
        })
    }

    /// The `202 Accepted` answer to the write that enqueued this task.
    pub fn summary(&self) -> Value {
        json!({
            "taskUid": self.uid,
            "indexUid": self.index_uid,
            "status": self.status,
            "type": self.kind,
            "enqueuedAt": stamp::rfc3339(self.enqueued_at),
        })
    }
}

#[derive(Default)]
pub struct TaskQueue {
    /// Every task, indexed by uid.
    tasks: Vec<Task>,
    pending: VecDeque<u64>,
    pub last_update: Option<u128>,
}

/// `GET /tasks` filters.
#[derive(Default)]
pub struct TaskQuery {
    pub index_uids: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub types: Option<Vec<String>>,
    pub uids: Option<Vec<u64>>,
    pub limit: usize,
    pub from: Option<u64>,
}

impl TaskQueue {
    /// Records a new task; the caller wakes the worker.
    pub fn enqueue(&mut self, index_uid: Option<&str>, op: TaskOp) -> &Task {
        self.enqueue_with_details(index_uid, op, None)
    }

    /// Like [`enqueue`](Self::enqueue), with details chosen by the caller (settings updates).
    pub fn enqueue_with_details(
        &mut self,
        index_uid: Option<&str>,
        op: TaskOp,
        details: Option<Map<String, Value>>,
    ) -> &Task {
        let uid = self.tasks.len() as u64;
        self.tasks.push(Task {
            uid,
            index_uid: index_uid.map(String::from),
            status: "enqueued",
            kind: op.kind(),
            details: details.unwrap_or_else(|| op.initial_details()),
            error: None,
            enqueued_at: stamp::now_nanos(),
            started_at: None,
            finished_at: None,
            op: Some(op),
        });
        self.pending.push_back(uid);
        &self.tasks[uid as usize]
    }

    pub fn get(&self, uid: u64) -> Option<&Task> {
        self.tasks.get(uid as usize)
    }

    /// Whether a task on this index is still waiting or running.
    pub fn is_indexing(&self, index: &str) -> bool {
        self.pending
            .iter()
            .filter_map(|u| self.get(*u))
            .any(|t| t.index_uid.as_deref() == Some(index))
    }

    /// `GET /tasks`: newest first, filtered, paginated from `from`.
    pub fn list(&self, q: &TaskQuery) -> Value {
        let keep = |t: &&Task| {
            q.index_uids.as_ref().is_none_or(|v| {
                v.iter()
                    .any(|i| i == "*" || t.index_uid.as_deref() == Some(i.as_str()))
            }) && q
                .statuses
                .as_ref()
                .is_none_or(|v| v.iter().any(|s| s == "*" || s == t.status))
                && q.types
                    .as_ref()
                    .is_none_or(|v| v.iter().any(|s| s == "*" || s == t.kind))
                && q.uids.as_ref().is_none_or(|v| v.contains(&t.uid))
        };
        let matching: Vec<&Task> = self.tasks.iter().rev().filter(keep).collect();
        let page: Vec<&&Task> = matching
            .iter()
            .filter(|t| q.from.is_none_or(|f| t.uid <= f))
            .take(q.limit + 1)
            .collect();
        let next = page.get(q.limit).map(|t| t.uid);
        let results: Vec<Value> = page.iter().take(q.limit).map(|t| t.to_json()).collect();
        json!({
            "results": results,
            "total": matching.len(),
            "limit": q.limit,
            "from": page.first().map(|t| t.uid),
            "next": next,
        })
    }
}

/// Runs enqueued tasks in order until shutdown, each no earlier than `delay` after it was
/// enqueued.
pub async fn work(node: Arc<Node>, delay: Duration, shutdown: CancellationToken) {
    loop {
        loop {
            if !delay.is_zero() {
                let Some(wait) = wait_for_oldest(&node, delay) else {
                    break;
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if !run_next(&node) {
                break;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = node.wake.notified() => {}
        }
    }
}

/// How long the oldest enqueued task has yet to wait, or `None` when the queue is empty.
fn wait_for_oldest(node: &Node, delay: Duration) -> Option<Duration> {
    let state = node.lock();
    let uid = *state.tasks.pending.front()?;
    let enqueued = state.tasks.tasks.get(uid as usize)?.enqueued_at;
    let due = enqueued + delay.as_nanos();
    Some(Duration::from_nanos(
        due.saturating_sub(stamp::now_nanos()) as u64
    ))
}

/// Runs the oldest enqueued task, if any; returns whether there was one.
fn run_next(node: &Node) -> bool {
    let mut state = node.lock();
    let state = &mut *state;
    let Some(uid) = state.tasks.pending.front().copied() else {
        return false;
    };
    let now = stamp::now_nanos();
    let Some(task) = state.tasks.tasks.get_mut(uid as usize) else {
        state.tasks.pending.pop_front();
        return true;
    };
    task.status = "processing";
    task.started_at = Some(now);
    let (index_uid, details) = (
        task.index_uid.clone().unwrap_or_default(),
        task.details.clone(),
    );
    let outcome = match task.op.take() {
        Some(op) => state.store.apply(&index_uid, op, details, now),
        None => Ok(details),
    };
    let finished = stamp::now_nanos();
    match outcome {
        Ok(d) => {
            task.status = "succeeded";
            task.details = d;
        }
        Err(e) => {
            task.status = "failed";
            for count in ["indexedDocuments", "deletedDocuments"] {
                if task.details.get(count).is_some_and(Value::is_null) {
                    task.details.insert(count.into(), json!(0));
                }
            }
            tracing::debug!(uid, code = e.code, "task failed");
            task.error = Some(e);
        }
    }
    task.finished_at = Some(finished);
    state.tasks.last_update = Some(finished);
    state.tasks.pending.pop_front();
    true
}
