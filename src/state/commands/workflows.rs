//! The steps of workflows, each a compare-and-set on the workflow's step.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::commands::{DeleteIndex, FenceIndex};
use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, NodeId, TaskUid};
use crate::state::task_kind::TaskKind;
use crate::state::tasks::{TaskRecord, TaskStatus};
use crate::state::workflows::{Phase, StepRef, WorkflowId, WorkflowKind};
use crate::state::ClusterState;

/// Starts deleting an index (or joins the deletion already under way), and
/// records the client's task that follows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartIndexDeletion {
    pub uid: IndexUid,
    /// A task uid the proposing router holds, to record as the client's task.
    pub task: Option<TaskUid>,
    pub at_ms: u64,
}

impl StartIndexDeletion {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.uid.0).map(|_| ())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let physical = state.index_mut(&self.uid)?.physical();
        if let Some(t) = self.task {
            if t.0 >= state.tasks.next_uid || state.tasks.records.contains_key(&t) {
                return Err(CommandError::precondition(format!(
                    "task uid {t} is not a free uid of this router: allocate a block first"
                )));
            }
        }
        let kind = WorkflowKind::IndexDeletion;
        let id = match state.workflows.running_on(kind, &self.uid) {
            Some(w) => w.id,
            None => {
                state
                    .workflows
                    .start(kind, self.uid.clone(), physical, None, self.at_ms)
                    .id
            }
        };
        if let Some(t) = self.task {
            state.workflows.follow(id, t);
            let record = TaskRecord {
                uid: t,
                index_uid: self.uid.0.clone(),
                kind: TaskKind::IndexDeletion,
                status: TaskStatus::Enqueued,
                node_tasks: vec![],
                error: None,
                enqueued_at_ms: self.at_ms,
                finished_at_ms: None,
                details: json!({"deletedDocuments": null}).to_string(),
                workflow: Some(id),
                custom_metadata: None,
                misses: vec![],
            };
            state.tasks.records.insert(t, record);
        }
        let w = state.workflows.get(id).expect("just started").clone();
        Ok(CommandResponse::Workflow(Box::new(w)))
    }
}

/// Moves a workflow to its next phase, with that phase's effect on the state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvanceWorkflow {
    pub step: StepRef,
    pub at_ms: u64,
    pub note: String,
    /// Entering `Forget`: documents the nodes deleted, counted once.
    pub deleted_documents: u64,
    /// Entering `Forget`: nodes that were down, to be swept when back.
    pub swept_later: Vec<NodeId>,
    /// Documents the step wrote (a move's delta pass, entering the switch).
    #[serde(default)]
    pub written_documents: u64,
}

impl AdvanceWorkflow {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let w = state.workflows.check(&self.step)?.clone();
        let mut fence_epoch = None;
        let mut physical = None;
        let mut served = vec![];
        match (w.kind, self.step.to) {
            // Every index the workflow changes is fenced under new epochs;
            // routers are then waited for past the newest. An index already
            // gone (forgotten by hand, or not there for a swap) needs none.
            (WorkflowKind::IndexDeletion | WorkflowKind::IndexSwap, Phase::WaitRouters) => {
                let mut fenced = false;
                for uid in w.indexes() {
                    if state.indexes.contains_key(&uid) {
                        FenceIndex { uid }.apply(state)?;
                        fenced = true;
                    }
                }
                fence_epoch = Some(match fenced {
                    true => state.last_epoch,
                    false => state.next_epoch(),
                });
                // Fixed when the fence goes up: a swap that ran before this
                // deletion may have handed the uid another physical index.
                if let Some(i) = state.indexes.get(&w.index) {
                    physical = Some(i.physical());
                }
            }
            (WorkflowKind::IndexDeletion, Phase::Forget) => {
                for n in &self.swept_later {
                    state.sweeps.add(n.clone(), w.physical());
                }
            }
            (WorkflowKind::IndexDeletion, Phase::Done) => {
                if state.indexes.contains_key(&w.index) {
                    DeleteIndex {
                        uid: w.index.clone(),
                    }
                    .apply(state)?;
                }
                for t in &w.tasks {
                    if let Some(r) = state.tasks.records.get_mut(t) {
                        r.status = TaskStatus::Succeeded;
                        r.finished_at_ms = Some(self.at_ms);
                        r.details = json!({"deletedDocuments": w.deleted_documents}).to_string();
                        // Routers fire webhooks; one of them takes these.
                        if !state.webhooks.is_empty() {
                            state.webhook_outbox.insert(*t);
                        }
                    }
                }
            }
            (WorkflowKind::IndexSwap, Phase::Done) => super::swaps::flip(state, &w, self.at_ms),
            (WorkflowKind::AntiEntropy, Phase::Done) => {
                let same = state
                    .indexes
                    .get(&w.index)
                    .is_some_and(|i| i.physical() == w.physical());
                if let (Some(p), true) = (&w.pass, same) {
                    state.anti_entropy.finished(&w.index, w.id, self.at_ms, p);
                }
            }
            (WorkflowKind::CopyRepair, Phase::Done) => {
                // Only while the uid still names the index the repair brought back.
                let same = state
                    .indexes
                    .get(&w.index)
                    .is_some_and(|i| i.physical() == w.physical());
                if let (Some(r), true) = (&w.repair, same) {
                    served = crate::state::repair::behind::mark_serving(
                        state,
                        &w.index,
                        &r.node,
                        &r.marks(),
                    );
                }
            }
            _ => {}
        }
        if w.kind == WorkflowKind::ShardMove {
            super::moves::enter(state, &w, self.step.to, self.at_ms, self.written_documents)?;
        }
        let moved = state.workflows.advance(&self.step, self.at_ms, self.note);
        if let Some(e) = fence_epoch {
            moved.fence_epoch = Some(e);
        }
        if let Some(p) = physical {
            moved.physical = p;
        }
        if let Some(r) = moved.repair.as_mut() {
            r.served = served;
        }
        if self.step.to == Phase::Forget {
            moved.deleted_documents = self.deleted_documents;
            moved.swept_later = self.swept_later;
        }
        let moved = moved.clone();
        if let (Some(im), Phase::Done) = (&w.moves, self.step.to) {
            super::migrations::move_done(state, im.migration, self.at_ms);
        }
        Ok(CommandResponse::Workflow(Box::new(moved)))
    }
}

/// Records an error a workflow met while retrying its step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordWorkflowError {
    pub id: WorkflowId,
    pub at_ms: u64,
    pub error: String,
}

impl RecordWorkflowError {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state
            .workflows
            .record_error(self.id, self.at_ms, self.error)?;
        Ok(CommandResponse::Done)
    }
}

/// A change owed to a node that was down has been made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SweepDone {
    pub node: NodeId,
    pub index: String,
}

impl SweepDone {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state.sweeps.done(&self.node, &self.index);
        Ok(CommandResponse::Done)
    }
}
