use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
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
        let retention = state.settings.int("task_retention") as usize;
        let finished = state.tasks.commit(self.tasks, retention);
        Ok(CommandResponse::Committed { count: n, finished })
    }
}
