use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::IndexUid;
use crate::state::repair::behind::mark_behind;
use crate::state::repair::Reason;
use crate::state::tasks::{TaskRecord, MAX_BATCH};
use crate::state::ClusterState;

/// Hands a router a block of task uids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllocateTaskIds {
    pub router: String,
    pub count: u32,
}

impl AllocateTaskIds {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.router.is_empty() {
            return Err(CommandError::invalid("router id must not be empty"));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let first = state.tasks.allocate(self.count)?;
        Ok(CommandResponse::TaskBlock {
            first,
            count: self.count,
        })
    }
}

/// Forgets finished task records (`DELETE /tasks`); unfinished ones stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteTasks {
    pub uids: Vec<crate::state::TaskUid>,
}

impl DeleteTasks {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.uids.len() > MAX_BATCH {
            return Err(CommandError::invalid(format!(
                "{} task uids in one deletion; send at most {MAX_BATCH}",
                self.uids.len()
            )));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let mut deleted = 0;
        for uid in self.uids {
            if state
                .tasks
                .records
                .get(&uid)
                .is_some_and(|r| r.status.is_final())
            {
                state.tasks.records.remove(&uid);
                deleted += 1;
            }
        }
        Ok(CommandResponse::TasksDeleted(deleted))
    }
}

/// Records or updates a batch of task records in one log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitTasks {
    pub tasks: Vec<TaskRecord>,
}

impl CommitTasks {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.tasks.len() > MAX_BATCH {
            return Err(CommandError::invalid(format!(
                "{} task records in one commit; send at most {MAX_BATCH}",
                self.tasks.len()
            )));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state.tasks.check(&self.tasks)?;
        let n = self.tasks.len() as u32;
        // Misses count once: when their record is new (a commit retried,
        // or a record updated later, marks nothing again).
        let misses: Vec<_> = self
            .tasks
            .iter()
            .filter(|t| !t.misses.is_empty() && !state.tasks.records.contains_key(&t.uid))
            .map(|t| {
                (
                    IndexUid(t.index_uid.clone()),
                    t.uid,
                    t.enqueued_at_ms,
                    t.misses.clone(),
                )
            })
            .collect();
        let retention = state.settings.int("task_retention") as usize;
        let finished = state.tasks.commit(self.tasks, retention);
        for (index, task, at_ms, list) in misses {
            for m in list {
                let reason = Reason::MissedWrite { task: Some(task) };
                mark_behind(state, &index, &m.node, &m.shards, m.version, reason, at_ms);
            }
        }
        Ok(CommandResponse::Committed { count: n, finished })
    }
}
