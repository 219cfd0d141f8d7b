//! A Miroir task as clients see it: the summary of an accepted write, the whole task, and the
//! status its node tasks add up to.

use std::time::Duration;

use serde_json::{json, Value};

use crate::meili::stamp;
use crate::router::tasks::details;
use crate::state::{NodeTask, TaskRecord, TaskStatus};

/// What a client sees right after a write: Meilisearch's summarized task.
pub fn summary(t: &TaskRecord) -> Value {
    with_metadata(
        t,
        json!({
            "taskUid": t.uid,
            // Tasks about no index (cancelations) show null, as in Meilisearch.
            "indexUid": (!t.index_uid.is_empty()).then_some(&t.index_uid),
            // Meilisearch answers every accepted write with "enqueued", even one
            // whose task fails at once.
            "status": "enqueued",
            "type": t.kind.as_str(),
            "enqueuedAt": rfc3339(t.enqueued_at_ms),
        }),
    )
}

/// Meilisearch shows `customMetadata` only on tasks that were given one.
fn with_metadata(t: &TaskRecord, mut v: Value) -> Value {
    if let (Some(m), Some(o)) = (&t.custom_metadata, v.as_object_mut()) {
        o.insert("customMetadata".into(), Value::String(m.clone()));
    }
    v
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
    with_metadata(
        t,
        json!({
            "uid": t.uid,
            "batchUid": t.uid,
            // Tasks about no index (cancelations) show null, as in Meilisearch.
            "indexUid": (!t.index_uid.is_empty()).then_some(&t.index_uid),
            "status": t.status.as_str(),
            "type": t.kind.as_str(),
            "canceledBy": null,
            "details": details,
            "error": error,
            "duration": t
                .finished_at_ms
                .map(|f| stamp::iso_duration(Duration::from_millis(f.saturating_sub(t.enqueued_at_ms)))),
            "enqueuedAt": rfc3339(t.enqueued_at_ms),
            "startedAt": finished.as_ref().map(|_| rfc3339(t.enqueued_at_ms)),
            "finishedAt": finished,
        }),
    )
}

/// The Miroir task's status from its node tasks: failed as soon as one
/// failed (with that node's error), succeeded once all succeeded.
pub fn aggregate(nodes: &[(NodeTask, Option<Value>)]) -> (TaskStatus, Option<Value>) {
    use TaskStatus::*;
    let any = |s: &[TaskStatus]| nodes.iter().any(|(n, _)| s.contains(&n.status));
    let all = |s: &[TaskStatus]| nodes.iter().all(|(n, _)| s.contains(&n.status));
    if let Some((_, err)) = nodes.iter().find(|(n, _)| n.status == Failed) {
        return (Failed, err.clone());
    }
    if all(&[Succeeded]) {
        return (Succeeded, None);
    }
    // Canceled on some node (POST /tasks/cancel), and nothing left running.
    if any(&[Canceled]) && all(&[Succeeded, Canceled]) {
        return (Canceled, None);
    }
    if any(&[Processing, Succeeded]) {
        return (Processing, None);
    }
    (Enqueued, None)
}

fn rfc3339(ms: u64) -> String {
    stamp::rfc3339(u128::from(ms) * 1_000_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nt(status: &str) -> (NodeTask, Option<Value>) {
        (
            NodeTask {
                node: crate::state::NodeId("n".into()),
                task_uid: 1,
                status: TaskStatus::parse(status).unwrap(),
            },
            None,
        )
    }

    /// A task succeeds only when every node task did, and fails when any did.
    #[test]
    fn aggregation() {
        assert_eq!(
            aggregate(&[nt("succeeded"), nt("succeeded")]).0,
            TaskStatus::Succeeded
        );
        assert_eq!(
            aggregate(&[nt("succeeded"), nt("enqueued")]).0,
            TaskStatus::Processing
        );
        assert_eq!(
            aggregate(&[nt("enqueued"), nt("enqueued")]).0,
            TaskStatus::Enqueued
        );
        assert_eq!(
            aggregate(&[nt("succeeded"), nt("canceled")]).0,
            TaskStatus::Canceled
        );
        assert_eq!(
            aggregate(&[nt("processing"), nt("canceled")]).0,
            TaskStatus::Processing
        );
        let mut failed = nt("failed");
        failed.1 = Some(json!({"code": "invalid_document_id"}));
        let (status, err) = aggregate(&[nt("succeeded"), failed]);
        assert_eq!(status, TaskStatus::Failed);
        assert_eq!(err.unwrap()["code"], "invalid_document_id");
    }
}
