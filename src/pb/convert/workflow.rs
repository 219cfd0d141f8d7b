use crate::pb::v1;
use crate::state::repair::pass::{AntiEntropyPass, Finding, FindingKind, PassCounts, PassMode};
use crate::state::repair::{CopyRepair, ShardRepair};
use crate::state::workflows::{Event, Phase, Swap, Workflow, WorkflowId, WorkflowKind};
use crate::state::{CommandError, Epoch, IndexUid, NodeId, ShardId, TaskUid, Version};

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

impl From<&CopyRepair> for v1::CopyRepair {
    fn from(r: &CopyRepair) -> Self {
        v1::CopyRepair {
            node: r.node.0.clone(),
            shards: r
                .shards
                .iter()
                .map(|(s, p)| v1::ShardRepair {
                    shard: *s,
                    marks: p.marks,
                    from_version: p.from.0,
                    cursor: p.cursor.map(|c| c.0),
                    caught_up: p.caught_up,
                    rebuild: p.rebuild,
                })
                .collect(),
            written: r.written,
            deleted: r.deleted,
            served: r.served.iter().map(|s| s.0).collect(),
        }
    }
}

impl TryFrom<v1::CopyRepair> for CopyRepair {
    type Error = CommandError;

    fn try_from(r: v1::CopyRepair) -> Result<Self, CommandError> {
        Ok(CopyRepair {
            node: NodeId::parse(&r.node)?,
            shards: r
                .shards
                .into_iter()
                .map(|p| {
                    let plan = ShardRepair {
                        marks: p.marks,
                        from: Version(p.from_version),
                        cursor: p.cursor.map(Version),
                        caught_up: p.caught_up,
                        rebuild: p.rebuild,
                    };
                    (p.shard, plan)
                })
                .collect(),
            written: r.written,
            deleted: r.deleted,
            served: r.served.into_iter().map(ShardId).collect(),
        })
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

impl From<&AntiEntropyPass> for v1::AntiEntropyPass {
    fn from(p: &AntiEntropyPass) -> Self {
        let c = &p.counts;
        v1::AntiEntropyPass {
            mode: p.mode.as_str().into(),
            scheduled: p.scheduled,
            shards: p.shards.clone(),
            next: p.next as u64,
            counts: Some(v1::PassCounts {
                shards_scanned: c.shards_scanned,
                documents_compared: c.documents_compared,
                mismatches: c.mismatches,
                repaired: c.repaired,
                strays_removed: c.strays_removed,
                index_fixes: c.index_fixes,
            }),
            findings: p
                .findings
                .iter()
                .map(|f| v1::Finding {
                    kind: f.kind.as_str().into(),
                    node: f.node.0.clone(),
                    shard: f.shard,
                    what: f.what.clone(),
                    repaired: f.repaired,
                })
                .collect(),
            findings_dropped: p.findings_dropped,
        }
    }
}

impl TryFrom<v1::AntiEntropyPass> for AntiEntropyPass {
    type Error = CommandError;

    fn try_from(p: v1::AntiEntropyPass) -> Result<Self, CommandError> {
        let c = p.counts.unwrap_or_default();
        Ok(AntiEntropyPass {
            mode: PassMode::parse(&p.mode)?,
            scheduled: p.scheduled,
            shards: p.shards,
            next: p.next as usize,
            counts: PassCounts {
                shards_scanned: c.shards_scanned,
                documents_compared: c.documents_compared,
                mismatches: c.mismatches,
                repaired: c.repaired,
                strays_removed: c.strays_removed,
                index_fixes: c.index_fixes,
            },
            findings: p
                .findings
                .into_iter()
                .map(|f| {
                    Ok(Finding {
                        kind: FindingKind::parse(&f.kind)?,
                        node: NodeId::parse(&f.node)?,
                        shard: f.shard,
                        what: f.what,
                        repaired: f.repaired,
                    })
                })
                .collect::<Result<_, CommandError>>()?,
            findings_dropped: p.findings_dropped,
        })
    }
}
