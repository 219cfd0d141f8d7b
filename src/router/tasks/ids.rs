//! Task uids, taken from the coordinators a block at a time, and the commit of task records.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::control::{ControlClient, ControlError};
use crate::state::{TaskRecord, TaskUid};

/// Task uids taken from the coordinators at a time.
const BLOCK: u32 = 256;

/// The rest of this router's current block of task uids.
#[derive(Default)]
pub struct TaskIds {
    /// `next..end` are still free.
    range: Mutex<(u64, u64)>,
}

impl TaskIds {
    pub async fn next(&self, control: &ControlClient) -> Result<TaskUid, ControlError> {
        if let Some(uid) = self.take() {
            return Ok(TaskUid(uid));
        }
        let block = control.allocate_task_ids(BLOCK).await?;
        let mut r = self.range.lock().expect("task id lock");
        // Another request may have refilled meanwhile; the newer block wins, the
        // unused rest of the older one is simply skipped (uids stay unique).
        if r.0 >= r.1 || block.first > r.0 {
            *r = (block.first, block.first + u64::from(block.count));
        }
        let uid = r.0;
        r.0 += 1;
        Ok(TaskUid(uid))
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
    control: &ControlClient,
    tasks: &[TaskRecord],
) -> Result<Vec<TaskUid>, ControlError> {
    control.commit_tasks(tasks).await
}
