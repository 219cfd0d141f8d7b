//! The task registry: Miroir task uids handed to routers in blocks, and the
//! records that map each Miroir task onto the per-node Meilisearch tasks.

pub mod kind;
pub mod webhooks;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;
use crate::state::ids::{NodeId, TaskUid};
use crate::state::tasks::kind::TaskKind;

/// Largest block a router may take at once.
pub const MAX_BLOCK: u32 = 100_000;
/// Most records one commit may carry (keeps a log entry small).
pub const MAX_BATCH: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    Enqueued,
    Processing,
    Succeeded,
    Failed,
    Canceled,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Enqueued => "enqueued",
            TaskStatus::Processing => "processing",
            TaskStatus::Succeeded => "succeeded",
            TaskStatus::Failed => "failed",
            TaskStatus::Canceled => "canceled",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        Ok(match s {
            "enqueued" => TaskStatus::Enqueued,
            "processing" => TaskStatus::Processing,
            "succeeded" => TaskStatus::Succeeded,
            "failed" => TaskStatus::Failed,
            "canceled" => TaskStatus::Canceled,
            _ => {
                return Err(CommandError::invalid(format!(
                    "unknown task status `{s}`: use enqueued, processing, succeeded, failed or canceled"
                )))
            }
        })
    }

    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Succeeded | TaskStatus::Failed | TaskStatus::Canceled
        )
    }

    /// A task only moves forward: a finished task is never reopened.
    pub fn can_become(self, next: TaskStatus) -> bool {
        !self.is_final() || self == next
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeTask {
    pub node: NodeId,
    pub task_uid: u64,
    pub status: TaskStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRecord {
    pub uid: TaskUid,
    pub index_uid: String,
    pub kind: TaskKind,
    pub status: TaskStatus,
    pub node_tasks: Vec<NodeTask>,
    pub error: Option<String>,
    pub enqueued_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    pub details: String,
    /// The workflow that finishes this task (routers leave it to the leader).
    #[serde(default)]
    pub workflow: Option<crate::state::workflows::WorkflowId>,
    /// The client's `customMetadata`, shown with the task wherever it appears.
    #[serde(default)]
    pub custom_metadata: Option<String>,
    /// Copies the write did not reach although it was acknowledged: they
    /// are marked behind when the record is first committed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<crate::state::repair::CopyMiss>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskRegistry {
    /// The next uid to hand out; every uid below it belongs to some router.
    pub next_uid: u64,
    pub records: BTreeMap<TaskUid, TaskRecord>,
}

impl TaskRegistry {
    pub fn allocate(&mut self, count: u32) -> Result<TaskUid, CommandError> {
        if count == 0 || count > MAX_BLOCK {
            return Err(CommandError::invalid(format!(
                "invalid block size {count}: ask for 1 to {MAX_BLOCK} task uids"
            )));
        }
        let first = self.next_uid;
        self.next_uid += u64::from(count);
        Ok(TaskUid(first))
    }

    /// Checks a whole batch first, so that a bad record changes nothing.
    pub fn check(&self, batch: &[TaskRecord]) -> Result<(), CommandError> {
        for r in batch {
            if r.uid.0 >= self.next_uid {
                return Err(CommandError::precondition(format!(
                    "task uid {} was never allocated: allocate a block with AllocateTaskIds first",
                    r.uid
                )));
            }
            if let Some(old) = self.records.get(&r.uid) {
                if !old.status.can_become(r.status) {
                    return Err(CommandError::precondition(format!(
                        "task {} is already {} and cannot become {}",
                        r.uid,
                        old.status.as_str(),
                        r.status.as_str()
                    )));
                }
            }
        }
        Ok(())
    }

    /// Stores a checked batch, then keeps at most `retention` records.
    /// Stores the batch; returns the uids that became final with it.
    pub fn commit(&mut self, batch: Vec<TaskRecord>, retention: usize) -> Vec<TaskUid> {
        let mut finished = vec![];
        for mut r in batch {
            let old = self.records.get(&r.uid);
            let was_final = old.is_some_and(|o| o.status.is_final());
            // A task's index is the one it was first recorded on, moved only
            // by a swap or rename: a router's later update of its status
            // (read before the flip) must not move it back.
            if let Some(o) = old {
                r.index_uid = o.index_uid.clone();
            }
            if r.status.is_final() && !was_final {
                finished.push(r.uid);
            }
            self.records.insert(r.uid, r);
        }
        while self.records.len() > retention {
            self.records.pop_first();
        }
        finished
    }
}

/// Documents a fan-out removed, counted once: every replica group holds
/// each document once per copy, so a group's total divided by its copies
/// counts each document once, and the largest group's count is taken (a
/// group that missed some nodes reports less). `per_group` holds, per
/// group, (documents its nodes reported, copies of a shard it holds).
pub fn count_once(per_group: impl IntoIterator<Item = (u64, u64)>) -> u64 {
    per_group
        .into_iter()
        .map(|(total, copies)| total / copies.max(1))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(uid: u64, status: TaskStatus) -> TaskRecord {
        TaskRecord {
            uid: TaskUid(uid),
            index_uid: "movies".into(),
            kind: TaskKind::DocumentAdditionOrUpdate,
            status,
            node_tasks: vec![],
            error: None,
            enqueued_at_ms: 0,
            finished_at_ms: None,
            details: "{}".into(),
            workflow: None,
            custom_metadata: None,
            misses: vec![],
        }
    }

    /// Blocks never overlap and always increase.
    #[test]
    fn blocks_are_disjoint() {
        let mut r = TaskRegistry::default();
        assert_eq!(r.allocate(10).unwrap(), TaskUid(0));
        assert_eq!(r.allocate(5).unwrap(), TaskUid(10));
        assert_eq!(r.next_uid, 15);
        assert!(r.allocate(0).is_err());
        assert!(r.allocate(MAX_BLOCK + 1).is_err());
    }

    /// Unallocated uids and reopened tasks are refused; retention drops the oldest.
    #[test]
    fn commit_rules() {
        let mut r = TaskRegistry::default();
        r.allocate(3).unwrap();
        assert!(r.check(&[rec(3, TaskStatus::Enqueued)]).is_err());
        r.check(&[rec(0, TaskStatus::Succeeded)]).unwrap();
        r.commit(vec![rec(0, TaskStatus::Succeeded)], 10);
        assert!(r.check(&[rec(0, TaskStatus::Enqueued)]).is_err());
        r.commit(
            vec![rec(1, TaskStatus::Enqueued), rec(2, TaskStatus::Enqueued)],
            2,
        );
        assert_eq!(
            r.records.keys().map(|k| k.0).collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
