use crate::pb::v1;
use crate::state::repair::pass::AntiEntropyPass;
use crate::state::repair::CopyRepair;
use crate::state::workflows::{Event, Phase, Swap, Workflow, WorkflowId, WorkflowKind};
use crate::state::{CommandError, Epoch, IndexUid, NodeId, TaskUid};

impl From<&Workflow> for v1::Workflow {
    fn from(w: &Workflow) -> Self {
        v1::Workflow {
            id: w.id.0,
            kind: w.kind.as_str().into(),
            index_uid: w.index.0.clone(),
            phase: w.phase.as_str().into(),
            step: w.step,
            tasks: w.tasks.iter().map(|t| t.0).collect(),
            fence_epoch: w.fence_epoch.map(|e| e.0),
            swept_later: w.swept_later.iter().map(|n| n.0.clone()).collect(),
            deleted_documents: w.deleted_documents,
            created_at_ms: w.created_at_ms,
            updated_at_ms: w.updated_at_ms,
            history: w
                .history
                .iter()
                .map(|e| v1::WorkflowEvent {
                    at_ms: e.at_ms,
                    phase: e.phase.as_str().into(),
                    note: e.note.clone(),
                })
                .collect(),
            errors: w.errors.clone(),
            phases: w.kind.phases().iter().map(|p| p.as_str().into()).collect(),
            physical_index: w.physical().to_string(),
            swaps: w.swaps.iter().map(v1::IndexSwap::from).collect(),
            rename_by_update: w.rename_by_update,
            repair: w.repair.as_ref().map(v1::CopyRepair::from),
            pass: w.pass.as_ref().map(v1::AntiEntropyPass::from),
        }
    }
}

impl TryFrom<v1::Workflow> for Workflow {
    type Error = CommandError;

    fn try_from(w: v1::Workflow) -> Result<Self, CommandError> {
        let kind = WorkflowKind::parse(&w.kind)?;
        Ok(Workflow {
            id: WorkflowId(w.id),
            kind,
            index: IndexUid::parse(&w.index_uid)?,
            physical: w.physical_index,
            phase: Phase::parse(&w.phase)?,
            step: w.step,
            tasks: w.tasks.into_iter().map(TaskUid).collect(),
            fence_epoch: w.fence_epoch.map(Epoch),
            swept_later: w
                .swept_later
                .iter()
                .map(|n| NodeId::parse(n))
                .collect::<Result<_, _>>()?,
            deleted_documents: w.deleted_documents,
            created_at_ms: w.created_at_ms,
            updated_at_ms: w.updated_at_ms,
            history: w
                .history
                .into_iter()
                .map(|e| {
                    Ok(Event {
                        at_ms: e.at_ms,
                        phase: Phase::parse(&e.phase)?,
                        note: e.note,
                    })
                })
                .collect::<Result<_, CommandError>>()?,
            errors: w.errors,
            swaps: w.swaps.into_iter().map(Swap::from).collect(),
            moves: None,
            rename_by_update: w.rename_by_update,
            repair: w.repair.map(CopyRepair::try_from).transpose()?,
            pass: w.pass.map(AntiEntropyPass::try_from).transpose()?,
        })
    }
}

impl From<&Swap> for v1::IndexSwap {
    fn from(s: &Swap) -> Self {
        v1::IndexSwap {
            lhs: s.lhs.clone(),
            rhs: s.rhs.clone(),
            rename: s.rename,
        }
    }
}

impl From<v1::IndexSwap> for Swap {
    fn from(s: v1::IndexSwap) -> Self {
        Swap {
            lhs: s.lhs,
            rhs: s.rhs,
            rename: s.rename,
        }
    }
}
