//! Anti-entropy and repair answers of the Admin service in domain types (as `miroir-ctl --json`
//! prints them), with their conversions from the generated messages.

use serde::Serialize;

use crate::pb::v1;
use crate::state::repair::pass::{PassCounts, PassMode};
use crate::state::workflows::{Workflow, WorkflowId};
use crate::state::{CommandError, IndexUid, NodeId, ShardId, Version};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AntiEntropyStatus {
    /// The cron expression (UTC), or `off`.
    pub schedule: String,
    pub next_round_ms: Option<u64>,
    pub auto_repair: bool,
    /// Indexes the current scheduled round has still to pass over.
    pub round: Vec<IndexUid>,
    pub running: Option<Workflow>,
    pub last: Vec<LastPassView>,
    pub behind: Vec<BehindView>,
    /// Copies behind for longer than `repair_behind_alert_s`.
    pub behind_too_long: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastPassView {
    pub index: IndexUid,
    pub workflow: WorkflowId,
    pub finished_at_ms: u64,
    pub mode: PassMode,
    pub counts: PassCounts,
    pub dirty_streak: u32,
}

/// A copy that missed writes, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BehindView {
    pub index: IndexUid,
    pub node: NodeId,
    pub shard: ShardId,
    pub since_version: Version,
    pub marked_at_ms: u64,
    pub reason: String,
    /// The repair workflow bringing it back, if one runs.
    pub repair: Option<WorkflowId>,
}

impl TryFrom<v1::AntiEntropyStatusResponse> for AntiEntropyStatus {
    type Error = CommandError;

    fn try_from(r: v1::AntiEntropyStatusResponse) -> Result<Self, CommandError> {
        let last = r
            .last
            .into_iter()
            .map(|l| {
                Ok(LastPassView {
                    index: IndexUid::parse(&l.index)?,
                    workflow: WorkflowId(l.workflow),
                    finished_at_ms: l.finished_at_ms,
                    mode: PassMode::parse(&l.mode)?,
                    counts: l.counts.unwrap_or_default().into(),
                    dirty_streak: l.dirty_streak,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        let behind = r
            .behind
            .into_iter()
            .map(|b| {
                Ok(BehindView {
                    index: IndexUid::parse(&b.index)?,
                    node: NodeId::parse(&b.node)?,
                    shard: ShardId(b.shard),
                    since_version: Version(b.since_version),
                    marked_at_ms: b.marked_at_ms,
                    reason: b.reason,
                    repair: b.repair.map(WorkflowId),
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(AntiEntropyStatus {
            schedule: r.schedule,
            next_round_ms: r.next_round_ms,
            auto_repair: r.auto_repair,
            round: r
                .round
                .iter()
                .map(|i| IndexUid::parse(i))
                .collect::<Result<_, _>>()?,
            running: r.running.map(Workflow::try_from).transpose()?,
            last,
            behind,
            behind_too_long: r.behind_too_long,
        })
    }
}
