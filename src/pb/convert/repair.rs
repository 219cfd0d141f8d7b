//! Repairs and anti-entropy passes: what a `copy_repair` or `anti_entropy` workflow holds.

use crate::pb::v1;
use crate::state::repair::pass::{AntiEntropyPass, Finding, FindingKind, PassCounts, PassMode};
use crate::state::repair::{CopyRepair, ShardRepair};
use crate::state::{CommandError, NodeId, ShardId, Version};

impl From<&PassCounts> for v1::PassCounts {
    fn from(c: &PassCounts) -> Self {
        v1::PassCounts {
            shards_scanned: c.shards_scanned,
            documents_compared: c.documents_compared,
            mismatches: c.mismatches,
            repaired: c.repaired,
            strays_removed: c.strays_removed,
            index_fixes: c.index_fixes,
        }
    }
}

impl From<v1::PassCounts> for PassCounts {
    fn from(c: v1::PassCounts) -> Self {
        PassCounts {
            shards_scanned: c.shards_scanned,
            documents_compared: c.documents_compared,
            mismatches: c.mismatches,
            repaired: c.repaired,
            strays_removed: c.strays_removed,
            index_fixes: c.index_fixes,
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

impl From<&AntiEntropyPass> for v1::AntiEntropyPass {
    fn from(p: &AntiEntropyPass) -> Self {
        v1::AntiEntropyPass {
            mode: p.mode.as_str().into(),
            scheduled: p.scheduled,
            shards: p.shards.clone(),
            next: p.next as u64,
            counts: Some((&p.counts).into()),
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
        Ok(AntiEntropyPass {
            mode: PassMode::parse(&p.mode)?,
            scheduled: p.scheduled,
            shards: p.shards,
            next: p.next as usize,
            counts: p.counts.unwrap_or_default().into(),
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
