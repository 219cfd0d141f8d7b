//! The task queue: asynchronous writes are enqueued, then run one at a time, in order, by a
//! background worker that moves each from `enqueued` through `processing` to `succeeded` or `failed`.

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::devnode::store::TaskOp;
use crate::meili::error::MeiliError;
use crate::meili::stamp;
use crate::meili::task_filter::TaskFilter;

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
    /// Whether the task passes Meilisearch's task filters. No task here was canceled by
    /// another one, so `canceledBy` matches none.
    fn matches(&self, f: &TaskFilter) -> bool {
        let ms = |t: u128| (t / 1_000_000) as u64;
        let dates_ok = f.dates.iter().all(|(name, bound)| {
            let at = match *name {
                n if n.ends_with("EnqueuedAt") => Some(ms(self.enqueued_at)),
                n if n.ends_with("StartedAt") => self.started_at.map(ms),
                _ => self.finished_at.map(ms),
            };
            at.is_some_and(|at| match name.starts_with("before") {
                true => at < *bound,
                false => at > *bound,
            })
        });
        let index = self.index_uid.as_deref().unwrap_or_default();
        f.uids.as_ref().is_none_or(|u| u.contains(&self.uid))
            // A task runs in a batch of its own, under its uid, once started.
            && f.batch_uids.as_ref().is_none_or(|b| self.started_at.is_some() && b.contains(&self.uid))
            && (f.index_uids.is_empty() || f.index_uids.iter().any(|i| i == index))
            && (f.statuses.is_empty() || f.statuses.iter().any(|s| s == self.status))
            && (f.types.is_empty() || f.types.iter().any(|k| k == self.kind))
            && f.canceled_by.is_none()
            && dates_ok
    }

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

/// The task the worker runs next: what it must do, taken from the queue.
pub struct Started {
    pub uid: u64,
    pub index_uid: String,
    pub op: Option<TaskOp>,
    pub details: Map<String, Value>,
    pub started: u128,
}

#[derive(Default)]
pub struct TaskQueue {
    /// Every task, indexed by uid.
    tasks: Vec<Task>,
    pending: VecDeque<u64>,
    pub last_update: Option<u128>,
}

impl TaskQueue {
    /// When the oldest enqueued task was enqueued (`None`: nothing to run).
    pub(in crate::devnode) fn oldest_enqueued_at(&self) -> Option<u128> {
        let uid = *self.pending.front()?;
        Some(self.tasks.get(uid as usize)?.enqueued_at)
    }

    /// Marks the oldest enqueued task processing and hands out what it must do. A pending uid
    /// with no task (which cannot happen) is dropped and the next one taken.
    pub(in crate::devnode) fn start_next(&mut self, now: u128) -> Option<Started> {
        loop {
            let uid = *self.pending.front()?;
            let Some(task) = self.tasks.get_mut(uid as usize) else {
                self.pending.pop_front();
                continue;
            };
            task.status = "processing";
            task.started_at = Some(now);
            return Some(Started {
                uid,
                index_uid: task.index_uid.clone().unwrap_or_default(),
                op: task.op.take(),
                details: task.details.clone(),
                started: now,
            });
        }
    }

    /// Records how the running task ended, and takes it off the queue.
    pub(in crate::devnode) fn finish(
        &mut self,
        uid: u64,
        outcome: Result<Map<String, Value>, MeiliError>,
        now: u128,
    ) {
        if let Some(task) = self.tasks.get_mut(uid as usize) {
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
            task.finished_at = Some(now);
        }
        self.last_update = Some(now);
        self.pending.pop_front();
    }

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

    /// `GET /tasks`: newest first (oldest first with `reverse`), filtered, paginated from `from`.
    pub fn list(
        &self,
        filter: &TaskFilter,
        limit: usize,
        from: Option<u64>,
        reverse: bool,
    ) -> Value {
        let keep = |t: &&Task| t.matches(filter);
        let mut matching: Vec<&Task> = self.tasks.iter().rev().filter(keep).collect();
        if reverse {
            matching.reverse();
        }
        let page: Vec<&&Task> = matching
            .iter()
            .filter(|t| from.is_none_or(|f| if reverse { t.uid >= f } else { t.uid <= f }))
            .take(limit + 1)
            .collect();
        let next = page.get(limit).map(|t| t.uid);
        let results: Vec<Value> = page.iter().take(limit).map(|t| t.to_json()).collect();
        json!({
            "results": results,
            "total": matching.len(),
            "limit": limit,
            "from": page.first().map(|t| t.uid),
            "next": next,
        })
    }
}
