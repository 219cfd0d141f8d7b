//! Index creation and removal: registered with the coordinators first, then
//! made on every node that owns a shard, with `_miroir_shard` filterable; a
//! node that refuses makes the whole creation undone.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::fleet::{Enqueued, NodeError};
use crate::meili::MeiliError;
use crate::pb::v1::admin_client::AdminClient;
use crate::pb::v1::{CreateIndexRequest, NodeTask, TaskRecord};
use crate::router::control::ControlPlane;
use crate::router::write::writer::{coordinators_down, Outcome, WriteError, Writer};

fn node_error_json(e: &NodeError) -> Value {
    match e {
        NodeError::Refused { body, .. } => body.clone(),
        NodeError::Unreachable { node, reason } => json!({
            "message": format!("Node `{node}` did not answer: {reason}"),
            "code": "miroir_node_unreachable", "type": "system",
            "link": "https://docs.meilisearch.com/errors#miroir_node_unreachable",
        }),
    }
}

impl Writer<'_> {
    /// Registers the index with the coordinators, then creates it on every
    /// node with `_miroir_shard` filterable. If a node refuses, what was made
    /// is removed again and the creation fails.
    pub async fn create_index(
        &self,
        uid: &str,
        pk: Option<String>,
    ) -> Result<TaskRecord, WriteError> {
        let created = self
            .control
            .unary(|ch, auth| {
                let pk = pk.clone();
                async move {
                    let req = CreateIndexRequest {
                        uid: uid.to_string(),
                        primary_key: pk,
                        shards: 0,
                        replication_factor: 0,
                    };
                    AdminClient::new(ch)
                        .create_index(ControlPlane::request(&auth, req))
                        .await
                }
            })
            .await;
        match created {
            Ok(_) => {}
            Err(s) if s.code() == tonic::Code::AlreadyExists => {
                let e = MeiliError::index_exists(uid).to_json();
                return Ok(self
                    .record(
                        self.new_uid().await?,
                        uid,
                        "indexCreation",
                        Outcome::Failed(e),
                        json!({"primaryKey": pk}),
                    )
                    .await?);
            }
            Err(s) if s.code() == tonic::Code::InvalidArgument => {
                return Err(MeiliError::invalid_index_uid(uid).into());
            }
            Err(s) => return Err(coordinators_down(s).into()),
        }
        let map = self
            .shard_map(uid)
            .await?
            .ok_or_else(|| MeiliError::index_not_found(uid))?;
        self.learn(&map).await?;
        let owners: BTreeSet<String> = map
            .shards
            .iter()
            .flat_map(|a| a.write.iter().cloned())
            .collect();
        let calls = owners.iter().map(|id| {
            let (base, pk) = (self.base(id), pk.as_deref());
            async move {
                let t = self.nodes.prepare_index(&base, uid, pk).await?;
                Ok::<_, NodeError>((id.clone(), base, t))
            }
        });
        let results = join_all(calls).await;
        if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
            let error = node_error_json(e);
            self.undo_create(uid, &results).await;
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
                status: "enqueued".into(),
            })
            .collect();
        Ok(self
            .record(
                task,
                uid,
                "indexCreation",
                Outcome::Enqueued(node_tasks),
                json!({"primaryKey": pk}),
            )
            .await?)
    }

    /// Removes the index from the coordinators (after its nodes dropped it).
    pub async fn forget_index(&self, uid: &str) -> Result<(), MeiliError> {
        let res = self
            .admin_index(uid, |mut c, r| async move { c.delete_index(r).await })
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(s) if s.code() == tonic::Code::NotFound => Ok(()),
            Err(s) => Err(coordinators_down(s)),
        }
    }

    async fn undo_create(
        &self,
        uid: &str,
        results: &[Result<(String, String, Enqueued), NodeError>],
    ) {
        for (_, base, _) in results.iter().flatten() {
            let _ = self.nodes.delete_index(base, uid).await;
        }
        let _ = self
            .admin_index(uid, |mut c, r| async move { c.delete_index(r).await })
            .await;
    }
}
