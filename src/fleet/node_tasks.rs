//! A node's own tasks: Meilisearch answers a write at once with a task uid and applies it later, so
//! whoever needs the effect (a Miroir task's status, a workflow step) asks the node how the task went.

use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::fleet::{NodeClient, NodeError};
use crate::state::TaskStatus;

/// A write a node accepted: its own task, not yet applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    pub task_uid: u64,
}

impl Enqueued {
    /// Reads Meilisearch's `202 Accepted` answer (`{"taskUid": N, ...}`). An answer without a
    /// task uid cannot be followed, so it counts as no answer.
    pub fn from_reply(node: &str, reply: &Value) -> Result<Self, NodeError> {
        reply["taskUid"]
            .as_u64()
            .map(|task_uid| Enqueued { task_uid })
            .ok_or_else(|| NodeError::Unreachable {
                node: node.to_string(),
                reason: format!("accepted a write without naming its task: {reply}"),
            })
    }
}

/// Where a node's task stands, as `GET /tasks/{uid}` reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTaskState {
    pub status: TaskStatus,
    /// Meilisearch's error object when the task failed.
    pub error: Option<Value>,
    /// The task's `details`, as the node reports them (counts of documents and the like).
    pub details: Value,
}

impl NodeTaskState {
    fn from_reply(node: &str, v: &Value) -> Result<Self, NodeError> {
        let status = v["status"]
            .as_str()
            .and_then(|s| TaskStatus::parse(s).ok())
            .ok_or_else(|| NodeError::Unreachable {
                node: node.to_string(),
                reason: format!("reported a task without a known status: {v}"),
            })?;
        Ok(NodeTaskState {
            status,
            error: (!v["error"].is_null()).then(|| v["error"].clone()),
            details: v["details"].clone(),
        })
    }
}

/// Why waiting for a node's task gave up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WaitError {
    #[error(transparent)]
    Node(#[from] NodeError),
    #[error("task {task_uid} of node {node} was still {last} after {waited:?}: the node is busy or stuck; look at its queue (GET /tasks)")]
    TimedOut {
        node: String,
        task_uid: u64,
        last: &'static str,
        waited: Duration,
    },
}

/// First pause between two polls; it doubles up to [`MAX_POLL`].
const FIRST_POLL: Duration = Duration::from_millis(10);
const MAX_POLL: Duration = Duration::from_millis(250);

impl NodeClient {
    /// One look at a node's task.
    pub async fn task(&self, base: &str, task_uid: u64) -> Result<NodeTaskState, NodeError> {
        let v = self
            .call(
                base,
                reqwest::Method::GET,
                &format!("/tasks/{task_uid}"),
                None,
            )
            .await?;
        NodeTaskState::from_reply(base, &v)
    }

    /// Asks a node to cancel some of its tasks; the cancelation is a task of its own.
    pub async fn cancel_tasks(&self, base: &str, task_uids: &[u64]) -> Result<Enqueued, NodeError> {
        let list: Vec<String> = task_uids.iter().map(u64::to_string).collect();
        let path = format!("/tasks/cancel?uids={}", list.join(","));
        let reply = self.call(base, reqwest::Method::POST, &path, None).await?;
        Enqueued::from_reply(base, &reply)
    }

    /// Polls a node's task until it is finished (succeeded, failed or canceled) or `within` has
    /// passed. A node that cannot be reached for a moment is asked again; only the deadline ends
    /// the wait, so a restart of the node does not fail it.
    pub async fn wait_for_task(
        &self,
        base: &str,
        task_uid: u64,
        within: Duration,
    ) -> Result<NodeTaskState, WaitError> {
        let start = Instant::now();
        let mut pause = FIRST_POLL;
        loop {
            let last = match self.task(base, task_uid).await {
                Ok(s) if s.status.is_final() => return Ok(s),
                Ok(s) => s.status.as_str(),
                // The node said no (an unknown task, say): asking again will not change that.
                Err(e @ (NodeError::Refused { .. } | NodeError::NotSent { .. })) => {
                    return Err(e.into())
                }
                Err(NodeError::Unreachable { .. }) => "unreachable",
            };
            if start.elapsed() + pause > within {
                return Err(WaitError::TimedOut {
                    node: base.to_string(),
                    task_uid,
                    last,
                    waited: start.elapsed(),
                });
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(MAX_POLL);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The uid of an accepted write is read from Meilisearch's answer; an answer without one is
    /// an error, never task 0.
    #[test]
    fn accepted_writes_name_their_task() {
        let ok = json!({"taskUid": 7, "indexUid": "movies", "status": "enqueued"});
        assert_eq!(Enqueued::from_reply("n", &ok).unwrap().task_uid, 7);
        assert!(Enqueued::from_reply("n", &json!({"status": "enqueued"})).is_err());
    }

    /// A task's state carries its status, its error only when it has one, and its details.
    #[test]
    fn task_states_are_read_from_the_node() {
        let failed = json!({"uid": 3, "status": "failed", "error": {"code": "invalid_document_id"},
            "details": {"receivedDocuments": 1}});
        let s = NodeTaskState::from_reply("n", &failed).unwrap();
        assert_eq!(s.status, TaskStatus::Failed);
        assert_eq!(s.error.unwrap()["code"], "invalid_document_id");
        assert_eq!(s.details["receivedDocuments"], 1);
        let done = NodeTaskState::from_reply("n", &json!({"status": "succeeded", "error": null}));
        assert_eq!(done.unwrap().error, None);
        assert!(NodeTaskState::from_reply("n", &json!({"status": "weird"})).is_err());
    }
}
