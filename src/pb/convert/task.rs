use crate::pb::v1;
use crate::state::repair::CopyMiss;
use crate::state::{
    CommandError, NodeId, NodeTask, ShardId, TaskKind, TaskRecord, TaskStatus, TaskUid, Version,
};

impl From<&TaskRecord> for v1::TaskRecord {
    fn from(t: &TaskRecord) -> Self {
        v1::TaskRecord {
            uid: t.uid.0,
            index_uid: t.index_uid.clone(),
            kind: t.kind.as_str().to_string(),
            status: t.status.as_str().to_string(),
            node_tasks: t
                .node_tasks
                .iter()
                .map(|n| v1::NodeTask {
                    node: n.node.0.clone(),
                    task_uid: n.task_uid,
                    status: n.status.as_str().to_string(),
                })
                .collect(),
            error: t.error.clone(),
            enqueued_at_ms: t.enqueued_at_ms,
            finished_at_ms: t.finished_at_ms,
            details: t.details.clone(),
            workflow: t.workflow.map(|w| w.0),
            custom_metadata: t.custom_metadata.clone(),
            misses: t
                .misses
                .iter()
                .map(|m| v1::CopyMiss {
                    node: m.node.0.clone(),
                    shards: m.shards.iter().map(|s| s.0).collect(),
                    version: m.version.0,
                })
                .collect(),
        }
    }
}

impl TryFrom<v1::TaskRecord> for TaskRecord {
    type Error = CommandError;

    fn try_from(t: v1::TaskRecord) -> Result<Self, CommandError> {
        let node_tasks = t
            .node_tasks
            .into_iter()
            .map(|n| {
                Ok(NodeTask {
                    node: NodeId::parse(&n.node)?,
                    task_uid: n.task_uid,
                    status: TaskStatus::parse(&n.status)?,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(TaskRecord {
            uid: TaskUid(t.uid),
            index_uid: t.index_uid,
            kind: TaskKind::parse(&t.kind)?,
            status: TaskStatus::parse(&t.status)?,
            node_tasks,
            error: t.error,
            enqueued_at_ms: t.enqueued_at_ms,
            finished_at_ms: t.finished_at_ms,
            details: t.details,
            workflow: t.workflow.map(crate::state::workflows::WorkflowId),
            custom_metadata: t.custom_metadata,
            misses: t
                .misses
                .into_iter()
                .map(|m| {
                    Ok(CopyMiss {
                        node: NodeId::parse(&m.node)?,
                        shards: m.shards.into_iter().map(ShardId).collect(),
                        version: Version(m.version),
                    })
                })
                .collect::<Result<_, CommandError>>()?,
        })
    }
}
