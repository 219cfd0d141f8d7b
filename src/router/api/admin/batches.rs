//! `/batches`: Miroir runs each of its tasks as a batch of one (its node
//! tasks are batched by each node, out of Miroir's sight), so batch `n` is
//! task `n` in Meilisearch's batch shape.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::meili::MeiliError;
use crate::router::api::listings::shown;
use crate::router::context::{writer, Shared};
use crate::router::tasks::filter::{listed, record};

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/batches", get(list_batches))
        .route("/batches/{uid}", get(get_batch))
}

/// A task's view as the batch that ran it.
pub fn batch(task: &Value) -> Value {
    let count = |v: &Value| match v.as_str() {
        Some(k) => json!({ k: 1 }),
        None => json!({}),
    };
    json!({
        "uid": task["uid"],
        "progress": null,
        "details": task["details"],
        "stats": {
            "totalNbTasks": 1,
            "status": count(&task["status"]),
            "types": count(&task["type"]),
            "indexUids": count(&task["indexUid"]),
        },
        "duration": task["duration"],
        // An enqueued task has not started; its batch is shown from enqueueing.
        "startedAt": match &task["startedAt"] {
            Value::Null => task["enqueuedAt"].clone(),
            s => s.clone(),
        },
        "finishedAt": task["finishedAt"],
        "batchStrategy": "Miroir runs each task as its own batch",
    })
}

fn batch_not_found(uid: &str) -> MeiliError {
    MeiliError::new(
        StatusCode::NOT_FOUND,
        "batch_not_found",
        "invalid_request",
        format!("Batch `{uid}` not found."),
    )
}

async fn get_batch(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, MeiliError> {
    let n = crate::meili::params::uid_in_path("Batch", "invalid_batch_uids", &uid)?;
    let w = writer(&s);
    let t = record(&w, crate::state::TaskUid(n))
        .await?
        .ok_or_else(|| batch_not_found(&uid))?;
    Ok(Json(batch(&shown(&w, &t).await)))
}

async fn list_batches(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, MeiliError> {
    // A batch uid is its task's uid.
    let q: Vec<(String, String)> = q
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "batchUids" => ("uids".to_string(), v),
            _ => (k, v),
        })
        .collect();
    let w = writer(&s);
    let (found, limit) = listed(&w, &q).await?;
    let mut results = vec![];
    for t in &found.tasks {
        results.push(batch(&shown(&w, t).await));
    }
    Ok(Json(json!({
        "results": results,
        "total": found.total,
        "limit": limit,
        "from": found.tasks.first().map(|t| t.uid),
        "next": found.next,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::router::tasks::view::view;
    use crate::state::{TaskKind, TaskRecord, TaskStatus, TaskUid};

    /// A finished task becomes a one-task batch with the same uid and times.
    #[test]
    fn a_task_as_a_batch() {
        let t = TaskRecord {
            uid: TaskUid(7),
            index_uid: "movies".into(),
            kind: TaskKind::DocumentAdditionOrUpdate,
            status: TaskStatus::Succeeded,
            node_tasks: vec![],
            error: None,
            enqueued_at_ms: 1_000,
            finished_at_ms: Some(1_500),
            details: r#"{"receivedDocuments":2,"indexedDocuments":2}"#.into(),
            workflow: None,
            custom_metadata: None,
            misses: vec![],
        };
        let v = view(&t);
        let b = batch(&v);
        assert_eq!(b["uid"], 7);
        assert_eq!(b["details"]["indexedDocuments"], 2);
        assert_eq!(
            b["stats"],
            json!({"totalNbTasks": 1, "status": {"succeeded": 1}, "types": {"documentAdditionOrUpdate": 1}, "indexUids": {"movies": 1}})
        );
        assert_eq!(b["duration"], v["duration"]);
        assert_eq!(b["finishedAt"], v["finishedAt"]);
        assert!(b["progress"].is_null());
    }
}
