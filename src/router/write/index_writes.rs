//! Index creation and removal: registered with the coordinators first, then
//! made on every node that owns a shard, with `_miroir_shard` filterable; a
//! node that refuses makes the whole creation undone.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::control::ControlError;
use crate::fleet::{Enqueued, NodeError};
use crate::meili::index_swap::Swap;
use crate::meili::MeiliError;
use crate::router::write::writer::{coordinators_down, Outcome, WriteError, Writer};
use crate::state::{NodeId, NodeTask, TaskKind, TaskRecord, TaskStatus};

fn node_error_json(e: &NodeError) -> Value {
    match e {
        NodeError::Refused { body, .. } => body.clone(),
        NodeError::Unreachable { node, reason } => json!({
            "message": format!("Node `{node}` did not answer: {reason}"),
            "code": "miroir_node_unreachable", "type": "system",
            "link": "https://docs.meilisearch.com/errors#miroir_node_unreachable",
        }),
        NodeError::NotSent { .. } => json!({
            "message": e.to_string(), "code": "miroir_no_lease", "type": "system",
            "link": "https://docs.meilisearch.com/errors#miroir_no_lease",
        }),
    }
}

/// A uid a new index (or a renamed one) may take: Meilisearch's rule, and
/// none of the names Miroir keeps for generations on the nodes.
pub fn check_new_uid(uid: &str) -> Result<(), MeiliError> {
    if crate::meili::reserved::is_reserved_index_uid(uid) {
        return Err(MeiliError::invalid(
            "invalid_index_uid",
            format!("`{uid}` is not a valid index uid: uids containing `__miroir` are reserved by Miroir for its own index generations on the nodes."),
        ));
    }
    match crate::state::IndexUid::parse_new(uid) {
        Ok(_) => Ok(()),
        Err(_) => Err(MeiliError::invalid_index_uid(uid)),
    }
}

impl Writer<'_> {
    /// Registers the index with the coordinators, then creates it on every
    /// node (under its physical name) with Miroir's attribute settings. If a
    /// node refuses, what was made is removed again and the creation fails.
    pub async fn create_index(
        &self,
        uid: &str,
        pk: Option<String>,
    ) -> Result<TaskRecord, WriteError> {
        check_new_uid(uid)?;
        let new = crate::control::NewIndex {
            uid: uid.to_string(),
            primary_key: pk.clone(),
            ..Default::default()
        };
        match self.control.create_index(new).await {
            Ok(_) => {}
            Err(ControlError::AlreadyExists(_)) => {
                let e = MeiliError::index_exists(uid).to_json();
                return Ok(self
                    .record(
                        self.new_uid().await?,
                        uid,
                        TaskKind::IndexCreation,
                        Outcome::Failed(e),
                        json!({"primaryKey": pk}),
                    )
                    .await?);
            }
            Err(ControlError::InvalidArgument(_)) => {
                return Err(MeiliError::invalid_index_uid(uid).into());
            }
            Err(e) => return Err(coordinators_down(e).into()),
        }
        let map = self
            .shard_map(uid)
            .await?
            .ok_or_else(|| MeiliError::index_not_found(uid))?;
        self.learn(&map).await?;
        let owners: BTreeSet<NodeId> = map
            .shards
            .iter()
            .flat_map(|a| a.writers().cloned())
            .collect();
        let physical = map.physical();
        let calls = owners.iter().map(|id| {
            let (base, pk) = (self.base(id), pk.as_deref());
            async move {
                let t = self.nodes.prepare_index(&base, physical, pk).await?;
                Ok::<_, NodeError>((id.clone(), base, t))
            }
        });
        let results = join_all(calls).await;
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            let error = node_error_json(e);
            self.undo_create(uid, physical, &results).await;
            return Err(MeiliError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "miroir_index_creation_failed",
                "system",
                format!(
                    "A node refused to create index `{uid}`; nothing was kept: {}",
                    error["message"]
                ),
            )
            .into());
        }
        // Taken only now, so a refused creation uses no task uid, as in Meilisearch.
        let task = self.new_uid().await?;
        let node_tasks = results
            .into_iter()
            .flatten()
            .map(|(id, _, t)| NodeTask {
                node: id,
                task_uid: t.task_uid,
                status: TaskStatus::Enqueued,
            })
            .collect();
        Ok(self
            .record(
                task,
                uid,
                TaskKind::IndexCreation,
                Outcome::Enqueued(node_tasks),
                json!({"primaryKey": pk}),
            )
            .await?)
    }

    /// Starts the deletion workflow with a new task of this router's, which
    /// the coordinator leader finishes once the index is gone everywhere.
    pub async fn delete_index(&self, uid: &str) -> Result<TaskRecord, MeiliError> {
        let task = self.new_uid().await?;
        match self.control.start_index_deletion(uid, task).await {
            Ok(t) => Ok(t),
            // Meilisearch accepts the deletion of a missing index and fails its task.
            Err(ControlError::NotFound(_)) => {
                let e = MeiliError::index_not_found(uid).to_json();
                let details = json!({"deletedDocuments": 0});
                self.record(
                    task,
                    uid,
                    TaskKind::IndexDeletion,
                    Outcome::Failed(e),
                    details,
                )
                .await
            }
            Err(e) => Err(coordinators_down(e)),
        }
    }

    /// Starts the swap (or rename) workflow with a new task of this
    /// router's, which the coordinator leader finishes at the flip. An empty
    /// swap changes nothing and succeeds at once, as in Meilisearch.
    pub async fn swap_indexes(
        &self,
        swaps: &[Swap],
        rename_by_update: bool,
        primary_key: Option<String>,
    ) -> Result<TaskRecord, MeiliError> {
        for s in swaps.iter().filter(|s| s.rename) {
            check_new_uid(&s.rhs)?;
        }
        let task = self.new_uid().await?;
        if swaps.is_empty() {
            let details = crate::meili::index_swap::swap_details(swaps);
            let none = Outcome::Enqueued(vec![]);
            return self
                .record(task, "", TaskKind::IndexSwap, none, details)
                .await;
        }
        self.control
            .start_index_swap(swaps, task, rename_by_update, primary_key)
            .await
            .map_err(|e| match e {
                ControlError::InvalidArgument(m) => MeiliError::bad_request(m),
                e => coordinators_down(e),
            })
    }

    async fn undo_create(
        &self,
        uid: &str,
        physical: &str,
        results: &[Result<(NodeId, String, Enqueued), NodeError>],
    ) {
        for (_, base, _) in results.iter().flatten() {
            let _ = self.nodes.delete_index(base, physical).await;
        }
        let _ = self.control.delete_index(uid).await;
    }
}
