//! Bringing a task up to date: its record from the coordinators, its node tasks asked of the
//! nodes, and the new state committed back (which fires its webhooks once).

use futures::future::join_all;
use serde_json::{json, Value};

use crate::control::ControlError;
use crate::meili::MeiliError;
use crate::router::tasks::details::{self, NodeOutcome};
use crate::router::tasks::ids::{commit, now_ms};
use crate::router::tasks::view::{aggregate, view};
use crate::router::write::writer::{coordinators_down, Writer};
use crate::state::{NodeTask, TaskKind, TaskRecord, TaskStatus, TaskUid};

impl Writer<'_> {
    /// Commits records, then fires the webhooks of those this commit finished.
    pub async fn commit_tasks(&self, tasks: Vec<TaskRecord>) -> Result<(), ControlError> {
        let finished = commit(self.control, &tasks).await?;
        let done: Vec<TaskRecord> = tasks
            .into_iter()
            .filter(|t| finished.contains(&t.uid))
            .collect();
        crate::router::tasks::webhooks::fire(self.control.clone(), self.nodes.http(), done);
        Ok(())
    }
}

/// `GET /tasks/{uid}`: the task as clients see it, brought up to date.
pub async fn lookup(w: &Writer<'_>, uid: TaskUid) -> Result<Value, MeiliError> {
    Ok(view(&refreshed(w, uid).await?))
}

/// The record, brought up to date from its node tasks (and committed if it moved).
pub async fn refreshed(w: &Writer<'_>, uid: TaskUid) -> Result<TaskRecord, MeiliError> {
    let mut t = match w.control.get_task(uid).await {
        Ok(t) => t,
        Err(ControlError::NotFound(_)) => return Err(MeiliError::task_not_found(&uid.to_string())),
        Err(e) => return Err(coordinators_down(e)),
    };
    // A task a workflow follows is finished by the coordinator leader.
    if t.status.is_final() || t.workflow.is_some() {
        return Ok(t);
    }
    let lookups = t.node_tasks.iter().map(|nt| {
        let base = w.base(&nt.node);
        let nt = nt.clone();
        async move {
            match w.nodes.task(&base, nt.task_uid).await {
                Ok(state) => {
                    let status = state.status;
                    (NodeTask { status, ..nt }, state.error, state.details)
                }
                Err(_) => (nt, None, Value::Null),
            }
        }
    });
    let nodes = join_all(lookups).await;
    let statuses: Vec<(NodeTask, Option<Value>)> = nodes
        .iter()
        .map(|(n, e, _)| (n.clone(), e.clone()))
        .collect();
    let (mut status, mut error) = aggregate(&statuses);
    if status == TaskStatus::Succeeded && t.kind == TaskKind::SettingsUpdate {
        if let Err(e) =
            crate::router::write::settings_check::verify(w, &t.index_uid, &t.node_tasks).await
        {
            (status, error) = (TaskStatus::Failed, Some(e));
        }
    }
    t.node_tasks = nodes.iter().map(|(n, _, _)| n.clone()).collect();
    if status != t.status {
        let recorded: Value = serde_json::from_str(&t.details).unwrap_or(json!({}));
        if status.is_final() {
            let outcomes: Vec<NodeOutcome> = nodes
                .into_iter()
                .map(|(n, _, details)| NodeOutcome {
                    group: w.group(&n.node),
                    details,
                })
                .collect();
            t.details = details::finish(t.kind, status, &recorded, &outcomes).to_string();
            t.finished_at_ms = Some(now_ms());
        }
        t.status = status;
        let physical = w.physical(&t.index_uid);
        t.error = error.map(|mut e| {
            crate::meili::error::name_client_index(&mut e, &physical, &t.index_uid);
            e.to_string()
        });
        // Best effort: a failed update is recomputed on the next lookup.
        let _ = w.commit_tasks(vec![t.clone()]).await;
    }
    Ok(t)
}
