//! Anti-entropy passes (DESIGN section 9): what a pass over one index holds while it runs (its
//! shards, how far it got, what it found and did), and what the coordinators keep between passes
//! (the schedule's last start, the round of indexes still to go, where each index's next pass
//! starts, how each index's last pass went).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, NodeId, WorkflowId};

/// Findings kept per pass (the newest beyond this are counted, not kept).
pub const KEEP_FINDINGS: usize = 500;

/// Whether a pass writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassMode {
    /// Reports what differs, writes nothing.
    Verify,
    /// Reports and repairs.
    Repair,
}

impl PassMode {
    pub fn as_str(self) -> &'static str {
        match self {
            PassMode::Verify => "verify",
            PassMode::Repair => "repair",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        match s {
            "verify" => Ok(PassMode::Verify),
            "repair" => Ok(PassMode::Repair),
            other => Err(CommandError::invalid(format!(
                "unknown pass mode `{other}`: use verify or repair"
            ))),
        }
    }
}

/// What a pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A copy lacks a document the others hold.
    Missing,
    /// A copy holds an older version (or, at the same version, other content).
    Stale,
    /// A copy holds a document a tombstone deleted.
    Deleted,
    /// A node holds documents of a shard it does not own.
    Stray,
    /// A node lacks the index.
    MissingIndex,
    /// A node's index settings differ from the others'.
    Settings,
}

impl FindingKind {
    pub const ALL: [FindingKind; 6] = [
        FindingKind::Missing,
        FindingKind::Stale,
        FindingKind::Deleted,
        FindingKind::Stray,
        FindingKind::MissingIndex,
        FindingKind::Settings,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Stale => "stale",
            FindingKind::Deleted => "deleted",
            FindingKind::Stray => "stray",
            FindingKind::MissingIndex => "missing_index",
            FindingKind::Settings => "settings",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        FindingKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CommandError::invalid(format!("unknown finding kind `{s}`")))
    }
}

/// One thing a pass found on one node, and whether it was repaired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub node: NodeId,
    pub shard: Option<u32>,
    /// The document's id (for document findings), or how many documents (strays).
    pub what: String,
    pub repaired: bool,
}

/// A pass's counts, for operators and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassCounts {
    pub shards_scanned: u64,
    pub documents_compared: u64,
    pub mismatches: u64,
    pub repaired: u64,
    pub strays_removed: u64,
    pub index_fixes: u64,
}

impl PassCounts {
    pub fn add(&mut self, o: &PassCounts) {
        self.shards_scanned += o.shards_scanned;
        self.documents_compared += o.documents_compared;
        self.mismatches += o.mismatches;
        self.repaired += o.repaired;
        self.strays_removed += o.strays_removed;
        self.index_fixes += o.index_fixes;
    }
}

/// What an anti-entropy workflow holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AntiEntropyPass {
    pub mode: PassMode,
    /// Started by the schedule (not by an operator).
    pub scheduled: bool,
    /// The shards it compares, in order.
    pub shards: Vec<u32>,
    /// Shards before this position are done (the committed cursor a new leader resumes from).
    pub next: usize,
    pub counts: PassCounts,
    pub findings: Vec<Finding>,
    /// Findings beyond [`KEEP_FINDINGS`], counted only.
    pub findings_dropped: u64,
}

impl AntiEntropyPass {
    pub fn record(&mut self, findings: Vec<Finding>) {
        for f in findings {
            match self.findings.len() < KEEP_FINDINGS {
                true => self.findings.push(f),
                false => self.findings_dropped += 1,
            }
        }
    }
}

/// How an index's last finished pass went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastPass {
    pub workflow: WorkflowId,
    pub finished_at_ms: u64,
    pub mode: PassMode,
    pub counts: PassCounts,
    /// Passes in a row that found mismatches, a verify and the repair right after it counting
    /// once (an alert at two: they persist).
    pub dirty_streak: u32,
}

/// What the coordinators keep between passes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AntiEntropyLog {
    /// When the schedule last started a round.
    pub last_round_ms: Option<u64>,
    /// Indexes the current round has still to pass over, in order.
    pub round: Vec<IndexUid>,
    /// Where each index's next scheduled pass starts (with `anti_entropy_shards_per_pass`).
    pub next_shard: BTreeMap<IndexUid, u32>,
    pub last: BTreeMap<IndexUid, LastPass>,
}

impl AntiEntropyLog {
    /// The shards a scheduled pass over an index of `total` shards takes: `per_pass` of them (0:
    /// all) from where the last one stopped, wrapping around; moves the index's cursor on.
    pub fn take_shards(&mut self, index: &IndexUid, total: u32, per_pass: u32) -> Vec<u32> {
        if per_pass == 0 || per_pass >= total {
            self.next_shard.remove(index);
            return (0..total).collect();
        }
        let start = self.next_shard.get(index).copied().unwrap_or(0) % total;
        self.next_shard
            .insert(index.clone(), (start + per_pass) % total);
        (0..per_pass).map(|i| (start + i) % total).collect()
    }

    /// Records a finished pass.
    pub fn finished(
        &mut self,
        index: &IndexUid,
        workflow: WorkflowId,
        at_ms: u64,
        pass: &AntiEntropyPass,
    ) {
        let prev = self.last.get(index);
        let streak = prev.map_or(0, |l| l.dirty_streak);
        let dirty = pass.counts.mismatches > 0 || pass.counts.index_fixes > 0;
        // A repair right after a verify that found the same is one episode, not two.
        let same_episode = prev.is_some_and(|l| l.mode == PassMode::Verify && l.dirty_streak > 0)
            && pass.mode == PassMode::Repair;
        self.last.insert(
            index.clone(),
            LastPass {
                workflow,
                finished_at_ms: at_ms,
                mode: pass.mode,
                counts: pass.counts,
                dirty_streak: match (dirty, same_episode) {
                    (false, _) => 0,
                    (true, true) => streak,
                    (true, false) => streak + 1,
                },
            },
        );
    }

    pub fn forget(&mut self, index: &IndexUid) {
        self.round.retain(|i| i != index);
        self.next_shard.remove(index);
        self.last.remove(index);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scheduled passes take the next shards in turn, wrapping around.
    #[test]
    fn shards_per_pass_rotate() {
        let mut log = AntiEntropyLog::default();
        let i = IndexUid("m".into());
        assert_eq!(log.take_shards(&i, 5, 2), vec![0, 1]);
        assert_eq!(log.take_shards(&i, 5, 2), vec![2, 3]);
        assert_eq!(log.take_shards(&i, 5, 2), vec![4, 0]);
        assert_eq!(log.take_shards(&i, 5, 0), vec![0, 1, 2, 3, 4]);
    }

    /// Two passes in a row with mismatches make a streak of two (a repair right after the
    /// verify that found them does not); a clean pass ends it.
    #[test]
    fn dirty_streaks() {
        let mut log = AntiEntropyLog::default();
        let i = IndexUid("m".into());
        let mut pass = AntiEntropyPass {
            mode: PassMode::Repair,
            scheduled: true,
            shards: vec![0],
            next: 1,
            counts: PassCounts {
                mismatches: 3,
                ..PassCounts::default()
            },
            findings: vec![],
            findings_dropped: 0,
        };
        log.finished(&i, WorkflowId(1), 1, &pass);
        log.finished(&i, WorkflowId(2), 2, &pass);
        assert_eq!(log.last[&i].dirty_streak, 2);
        let verify = AntiEntropyPass {
            mode: PassMode::Verify,
            ..pass.clone()
        };
        log.last.clear();
        log.finished(&i, WorkflowId(3), 3, &verify);
        log.finished(&i, WorkflowId(4), 4, &pass);
        assert_eq!(log.last[&i].dirty_streak, 1, "verify then run: one episode");
        log.finished(&i, WorkflowId(5), 5, &verify);
        assert_eq!(log.last[&i].dirty_streak, 2, "still there after the run");
        pass.counts.mismatches = 0;
        log.finished(&i, WorkflowId(3), 3, &pass);
        assert_eq!(log.last[&i].dirty_streak, 0);
        let many: Vec<Finding> = (0..KEEP_FINDINGS + 3)
            .map(|n| Finding {
                kind: FindingKind::Missing,
                node: NodeId("a".into()),
                shard: Some(0),
                what: n.to_string(),
                repaired: false,
            })
            .collect();
        pass.record(many);
        assert_eq!(
            (pass.findings.len(), pass.findings_dropped),
            (KEEP_FINDINGS, 3)
        );
    }
}
