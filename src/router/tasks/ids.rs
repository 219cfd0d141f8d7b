//! Task uids, taken from the coordinators a block at a time, and the commit of task records.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::pb::v1::router_client::RouterClient;
use crate::pb::v1::{AllocateTaskIdsRequest, CommitTasksRequest, TaskRecord};
use crate::router::control::ControlPlane;

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
