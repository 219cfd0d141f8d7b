//! `POST /tasks/cancel` and `DELETE /tasks`. Canceling a Miroir task cancels
//! its node tasks on their nodes, then records a `taskCancelation` task of
//! Miroir's own. Deleting forgets the finished Miroir task records that match
//! (the coordinators also keep only the newest `task_retention` on their
//! own), and records a `taskDeletion` task.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{Query, RawQuery, State};
use axum::response::Response;
use axum::routing::{delete, post};
use axum::Router;
use futures::future::join_all;
use serde_json::json;

use crate::fleet::Enqueued;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::reply::accepted;
use crate::router::tasks::filter::{missing_filters, scan, TaskFilter};
use crate::router::tasks::ids::now_ms;
use crate::router::tasks::lookup::refreshed;
use crate::router::write::writer::{coordinators_down, Writer};
use crate::state::{NodeId, NodeTask, TaskKind, TaskRecord, TaskStatus, TaskUid};

/// How long a cancel waits for the nodes to carry it out, and a deletion for
/// the tasks it matched to finish, before answering.
const WAIT: Duration = Duration::from_secs(5);

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/tasks/cancel", post(cancel_tasks))
        .route("/tasks", delete(delete_tasks))
}

/// The filters of a route that changes tasks: at least one is required.
fn required_filter(q: &[(String, String)], verb: &str) -> Result<TaskFilter, MeiliError> {
    match TaskFilter::parse(q, &[])? {
        (f, _) if f.is_empty() => Err(missing_filters(verb)),
        (f, _) => Ok(f),
    }
}

/// The query string as the task's `originalFilter` shows it.
fn original(raw: Option<String>) -> String {
    format!("?{}", raw.unwrap_or_default())
}

async fn delete_tasks(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, MeiliError> {
    let filter = required_filter(&q, "delete")?;
    Ok(accepted(
        &forget(&writer(&s), &filter, original(raw)).await?,
    ))
}

/// A deletion matching more running tasks than this does not wait for them.
const WAIT_FOR_AT_MOST: usize = 100;

/// Task uids forgotten per coordinator commit.
const DELETE_CHUNK: usize = 1000;

/// Forgets the finished records `filter` matches (once those still running
/// have finished, or `WAIT` ran out) and records the deletion.
async fn forget(
    w: &Writer<'_>,
    filter: &TaskFilter,
    original: String,
) -> Result<TaskRecord, MeiliError> {
    let uid = w.new_uid().await?;
    let enqueued_at = now_ms();
    let found = scan(w, filter, None, usize::MAX).await?;
    let mut done: Vec<TaskUid> = vec![];
    let mut running: Vec<TaskUid> = vec![];
    for t in &found.tasks {
        match t.status.is_final() {
            true => done.push(t.uid),
            false => running.push(t.uid),
        }
    }
    // Meilisearch runs a deletion after the tasks enqueued before it, so the
    // ones still running are waited for (a while); any still unfinished then
    // are not deleted, as in Meilisearch.
    // (Only a few: a broad deletion does not poll every running task.)
    let deadline = Instant::now() + WAIT;
    while !running.is_empty() && running.len() <= WAIT_FOR_AT_MOST {
        let mut still = vec![];
        for uid in running {
            match refreshed(w, uid).await {
                Ok(t) if t.status.is_final() => done.push(uid),
                Ok(_) => still.push(uid),
                // Gone meanwhile (another deletion): nothing to delete.
                Err(e) if e.code == "task_not_found" => {}
                Err(e) => return Err(e),
            }
        }
        running = still;
        if running.is_empty() || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut deleted = 0u64;
    for chunk in done.chunks(DELETE_CHUNK) {
        let n = w
            .control
            .delete_tasks(chunk)
            .await
            .map_err(coordinators_down)?;
        deleted += u64::from(n);
    }
    let details = json!({
        "matchedTasks": found.total,
        "deletedTasks": deleted,
        "originalFilter": original,
    });
    let t = TaskRecord {
        uid,
        index_uid: String::new(),
        kind: TaskKind::TaskDeletion,
        status: TaskStatus::Succeeded,
        node_tasks: vec![],
        error: None,
        enqueued_at_ms: enqueued_at,
        finished_at_ms: Some(now_ms()),
        details: details.to_string(),
        workflow: None,
        custom_metadata: None,
        misses: vec![],
    };
    w.commit_tasks(vec![t.clone()])
        .await
        .map_err(coordinators_down)?;
    Ok(t)
}

async fn cancel_tasks(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
    RawQuery(raw): RawQuery,
) -> Result<Response, MeiliError> {
    let filter = required_filter(&q, "cancel")?;
    Ok(accepted(
        &cancel(&writer(&s), &filter, original(raw)).await?,
    ))
}

/// Cancels what `filter` matches and records the cancelation task.
async fn cancel(
    w: &Writer<'_>,
    filter: &TaskFilter,
    original: String,
) -> Result<TaskRecord, MeiliError> {
    let uid = w.new_uid().await?;
    let enqueued_at = now_ms();
    let found = scan(w, filter, None, usize::MAX).await?;
    // Records can lag behind their node tasks: ask the nodes first.
    let mut targets = vec![];
    for t in found.tasks.iter().filter(|t| !t.status.is_final()) {
        if !refreshed(w, t.uid).await?.status.is_final() {
            targets.push(t.clone());
        }
    }
    let mut per_node: BTreeMap<NodeId, Vec<u64>> = BTreeMap::new();
    for t in &targets {
        for nt in &t.node_tasks {
            per_node
                .entry(nt.node.clone())
                .or_default()
                .push(nt.task_uid);
        }
    }
    let sent = join_all(per_node.into_iter().map(|(node, uids)| async move {
        let r = w.nodes.cancel_tasks(&w.base(&node), &uids).await;
        (node, r)
    }))
    .await;
    let mut node_tasks = vec![];
    let mut failures = vec![];
    for (node, r) in sent {
        match r {
            Ok(Enqueued { task_uid }) => node_tasks.push(NodeTask {
                node,
                task_uid,
                status: TaskStatus::Enqueued,
            }),
            Err(e) => failures.push(format!("node `{node}`: {e}")),
        }
    }
    let done = wait_for(w, &mut node_tasks).await;
    let mut canceled = 0;
    for t in &targets {
        if refreshed(w, t.uid).await?.status == TaskStatus::Canceled {
            canceled += 1;
        }
    }
    let (status, error, finished) = if !failures.is_empty() {
        let e = MeiliError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "miroir_partially_applied",
            "system",
            format!(
                "The cancelation reached only some nodes: {}.",
                failures.join("; ")
            ),
        );
        (
            TaskStatus::Failed,
            Some(e.to_json().to_string()),
            Some(now_ms()),
        )
    } else if done {
        (TaskStatus::Succeeded, None, Some(now_ms()))
    } else {
        (TaskStatus::Processing, None, None)
    };
    let details = json!({
        "matchedTasks": found.total,
        "canceledTasks": finished.map(|_| canceled),
        "originalFilter": original,
    });
    let t = TaskRecord {
        uid,
        index_uid: String::new(),
        kind: TaskKind::TaskCancelation,
        status,
        node_tasks,
        error,
        enqueued_at_ms: enqueued_at,
        finished_at_ms: finished,
        details: details.to_string(),
        workflow: None,
        custom_metadata: None,
        misses: vec![],
    };
    w.commit_tasks(vec![t.clone()])
        .await
        .map_err(coordinators_down)?;
    Ok(t)
}

/// Polls the nodes' cancelation tasks until all finished (true) or `WAIT` ran out.
async fn wait_for(w: &Writer<'_>, tasks: &mut [NodeTask]) -> bool {
    let deadline = Instant::now() + WAIT;
    loop {
        let checks = tasks.iter().map(|nt| async move {
            let state = w.nodes.task(&w.base(&nt.node), nt.task_uid).await;
            state.ok().map(|s| s.status)
        });
        let statuses = join_all(checks).await;
        for (nt, status) in tasks.iter_mut().zip(statuses) {
            if let Some(s) = status {
                nt.status = s;
            }
        }
        if tasks.iter().all(|nt| nt.status.is_final()) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
