//! Anti-entropy commands: starting a pass over one index (one pass at a time, cluster-wide),
//! starting a scheduled round over every index, and recording a pass's progress (a
//! compare-and-set on the workflow's step, as every workflow step is).

use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::IndexUid;
use crate::state::repair::pass::{AntiEntropyPass, Finding, PassCounts, PassMode};
use crate::state::workflows::{Phase, WorkflowId, WorkflowKind};
use crate::state::ClusterState;

/// Starts a pass over `index`: the given shards (none: every shard, or for a scheduled pass the
/// next `anti_entropy_shards_per_pass` of them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAntiEntropy {
    pub index: IndexUid,
    pub shards: Option<Vec<u32>>,
    pub mode: PassMode,
    pub scheduled: bool,
    pub at_ms: u64,
}

impl StartAntiEntropy {
    pub fn validate(&self) -> Result<(), CommandError> {
        IndexUid::parse(&self.index.0)?;
        if self.shards.as_ref().is_some_and(|s| s.is_empty()) {
            return Err(CommandError::invalid(
                "name at least one shard, or none for every shard",
            ));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let physical = state.index_mut(&self.index)?.physical();
        if let Some(w) = state
            .workflows
            .running()
            .find(|w| w.kind == WorkflowKind::AntiEntropy)
        {
            return Err(CommandError::exists(format!(
                "anti-entropy pass {} over `{}` is running; one pass runs at a time: wait for it (`miroir-ctl anti-entropy status`)",
                w.id, w.index
            )));
        }
        let total = state
            .shard_maps
            .get(&self.index)
            .map_or(0, |m| m.shards.len() as u32);
        let shards = match (&self.shards, self.scheduled) {
            (Some(list), _) => {
                if let Some(bad) = list.iter().find(|s| **s >= total) {
                    return Err(CommandError::invalid(format!(
                        "index `{}` has shards 0 to {}, not {bad}",
                        self.index,
                        total.saturating_sub(1)
                    )));
                }
                let mut list = list.clone();
                list.sort_unstable();
                list.dedup();
                list
            }
            (None, false) => (0..total).collect(),
            (None, true) => {
                let per_pass = state.settings.int("anti_entropy_shards_per_pass") as u32;
                state.anti_entropy.take_shards(&self.index, total, per_pass)
            }
        };
        if self.scheduled {
            state.anti_entropy.round.retain(|i| i != &self.index);
        }
        let w = state.workflows.start(
            WorkflowKind::AntiEntropy,
            self.index,
            physical,
            None,
            self.at_ms,
        );
        w.pass = Some(AntiEntropyPass {
            mode: self.mode,
            scheduled: self.scheduled,
            shards,
            next: 0,
            counts: PassCounts::default(),
            findings: vec![],
            findings_dropped: 0,
        });
        Ok(CommandResponse::Workflow(Box::new(w.clone())))
    }
}

/// The schedule is due: a round over every index starts now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartAntiEntropyRound {
    pub at_ms: u64,
}

impl StartAntiEntropyRound {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state.anti_entropy.last_round_ms = Some(self.at_ms);
        state.anti_entropy.round = state.indexes.keys().cloned().collect();
        Ok(CommandResponse::Done)
    }
}

/// Records a pass's progress within its phase: counts, findings, and the shard cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordPassProgress {
    pub id: WorkflowId,
    /// The workflow's step counter the proposer saw.
    pub step: u64,
    pub phase: Phase,
    /// The new cursor: shards before this position are done.
    pub next: usize,
    pub counts: PassCounts,
    pub findings: Vec<Finding>,
    pub at_ms: u64,
}

impl RecordPassProgress {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.findings.len() > 10_000 {
            return Err(CommandError::invalid(
                "at most 10000 findings in one progress record",
            ));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let id = self.id;
        let (next, counts, findings) = (self.next, self.counts, self.findings);
        let w = state
            .workflows
            .progress(id, self.step, self.phase, self.at_ms, |w| {
                let pass = w.pass.as_mut().ok_or_else(|| {
                    CommandError::precondition(format!("workflow {id} is not an anti-entropy pass"))
                })?;
                if next < pass.next || next > pass.shards.len() {
                    return Err(CommandError::invalid(format!(
                        "cursor {next} is outside {}..={} for workflow {id}",
                        pass.next,
                        pass.shards.len(),
                    )));
                }
                pass.next = next;
                pass.counts.add(&counts);
                pass.record(findings);
                Ok(())
            })?;
        Ok(CommandResponse::Workflow(Box::new(w.clone())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::commands::AdvanceWorkflow;
    use crate::state::tests::cluster_with_index;
    use crate::state::workflows::StepRef;
    use crate::state::Command;

    fn start(index: &IndexUid, shards: Option<Vec<u32>>, scheduled: bool) -> Command {
        Command::StartAntiEntropy(StartAntiEntropy {
            index: index.clone(),
            shards,
            mode: PassMode::Verify,
            scheduled,
            at_ms: 1,
        })
    }

    /// One pass at a time; shards out of range refused; progress moves the cursor forward
    /// only; a finished pass is recorded for its index.
    #[test]
    fn passes_run_one_at_a_time_and_record_how_they_went() {
        let (mut s, uid) = cluster_with_index();
        assert!(start(&uid, Some(vec![8]), false).apply(&mut s).is_err());
        let Ok(CommandResponse::Workflow(w)) =
            start(&uid, Some(vec![3, 1, 3]), false).apply(&mut s)
        else {
            panic!("started")
        };
        assert_eq!(w.pass.as_ref().unwrap().shards, vec![1, 3]);
        assert!(
            start(&uid, None, false).apply(&mut s).is_err(),
            "one at a time"
        );
        let progress = |next, step| {
            Command::RecordPassProgress(RecordPassProgress {
                id: w.id,
                step,
                phase: Phase::IndexCheck,
                next,
                counts: PassCounts {
                    mismatches: 1,
                    ..PassCounts::default()
                },
                findings: vec![],
                at_ms: 2,
            })
        };
        assert!(progress(3, 0).apply(&mut s).is_err(), "beyond the shards");
        progress(0, 0).apply(&mut s).unwrap();
        for (step, to) in [(1, Phase::Scan), (2, Phase::Done)] {
            let a = AdvanceWorkflow {
                step: StepRef { id: w.id, step, to },
                at_ms: 5,
                note: String::new(),
                deleted_documents: 0,
                swept_later: vec![],
                written_documents: 0,
            };
            Command::AdvanceWorkflow(a).apply(&mut s).unwrap();
        }
        let last = &s.anti_entropy.last[&uid];
        assert_eq!(
            (last.workflow, last.dirty_streak, last.counts.mismatches),
            (w.id, 1, 1)
        );
        assert!(
            start(&uid, None, false).apply(&mut s).is_ok(),
            "the next may start"
        );
    }

    /// A round lists every index; a scheduled pass takes its index off the round.
    #[test]
    fn rounds_go_through_every_index() {
        let (mut s, uid) = cluster_with_index();
        Command::StartAntiEntropyRound(StartAntiEntropyRound { at_ms: 7 })
            .apply(&mut s)
            .unwrap();
        assert_eq!(s.anti_entropy.round, vec![uid.clone()]);
        assert_eq!(s.anti_entropy.last_round_ms, Some(7));
        start(&uid, None, true).apply(&mut s).unwrap();
        assert!(s.anti_entropy.round.is_empty());
    }
}
