//! Scheduled anti-entropy: when the cron schedule (`anti_entropy_schedule`) is due, a round
//! starts over every index, and the round's passes then run one after the other, each over the
//! next `anti_entropy_shards_per_pass` shards of its index, repairing if
//! `anti_entropy_auto_repair` is on.

use crate::state::commands::{StartAntiEntropy, StartAntiEntropyRound};
use crate::state::repair::pass::PassMode;
use crate::state::workflows::WorkflowKind;
use crate::state::{Command, IndexUid};

use super::super::{now_ms, Cluster};

/// The leader's view of the schedule.
pub struct Scheduler {
    /// When this member first looked: a cluster that never ran a round counts from here, so a
    /// fresh cluster does not start one at once.
    first_seen_ms: u64,
}

impl Default for Scheduler {
    fn default() -> Self {
        Scheduler {
            first_seen_ms: now_ms(),
        }
    }
}

/// What the schedule asks for now.
#[derive(Debug, PartialEq, Eq)]
enum Due {
    Nothing,
    Round,
    Pass(IndexUid, PassMode),
}

impl Scheduler {
    pub async fn once<C: Cluster>(&mut self, c: &C) {
        let now = now_ms();
        let due = c.read(|s| {
            let log = &s.anti_entropy;
            let running = s
                .workflows
                .running()
                .any(|w| w.kind == WorkflowKind::AntiEntropy);
            let mode = match s.settings.on("anti_entropy_auto_repair") {
                true => PassMode::Repair,
                false => PassMode::Verify,
            };
            match (log.round.first(), running) {
                (Some(_), true) => Due::Nothing,
                (Some(i), false) => Due::Pass(i.clone(), mode),
                (None, _) => {
                    let last = log.last_round_ms.unwrap_or(self.first_seen_ms);
                    match s.settings.schedule().due(last, now) {
                        true => Due::Round,
                        false => Due::Nothing,
                    }
                }
            }
        });
        let cmd = match due {
            Due::Nothing => return,
            Due::Round => Command::StartAntiEntropyRound(StartAntiEntropyRound { at_ms: now }),
            Due::Pass(index, mode) => Command::StartAntiEntropy(StartAntiEntropy {
                index,
                shards: None,
                mode,
                scheduled: true,
                at_ms: now,
            }),
        };
        if let Err(e) = c.commit(cmd).await {
            tracing::debug!(error = %e, "scheduled anti-entropy not started");
        }
    }
}
