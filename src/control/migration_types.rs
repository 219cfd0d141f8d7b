//! Migrations as the Admin service answers about them, in domain types (as `miroir-ctl --json`
//! prints them), with their conversion from the generated messages.

use serde::Serialize;

use crate::pb::v1;
use crate::state::workflows::{Phase, WorkflowId};
use crate::state::{CommandError, IndexUid, MigrationId, NodeId};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MigrationView {
    pub id: MigrationId,
    /// join_node, drain_node, add_group, remove_group or replace_node.
    pub kind: String,
    pub description: String,
    /// running, paused, stuck, done or aborted.
    pub status: String,
    pub stuck_reason: Option<String>,
    pub manual_cutover: bool,
    pub cutover_requested: bool,
    pub delta_pass: bool,
    pub docs_per_s: u64,
    pub forced: bool,
    pub warnings: Vec<String>,
    pub created_at_ms: u64,
    pub finished_at_ms: Option<u64>,
    pub moves: Vec<MoveView>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MoveView {
    pub workflow: WorkflowId,
    pub index: IndexUid,
    pub phase: Phase,
    pub shards: u32,
    pub shards_copied: u32,
    pub copied: u64,
    pub delta_documents: u64,
    pub round: u32,
    pub round_written: u64,
    pub cutover_attempts: u32,
    pub fence_ms: Vec<u64>,
    pub aborted: bool,
    pub last_error: Option<String>,
    pub to_nodes: Vec<NodeId>,
    pub from_nodes: Vec<NodeId>,
}

impl MigrationView {
    pub fn is_finished(&self) -> bool {
        matches!(self.status.as_str(), "done" | "aborted")
    }
}

fn some(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl TryFrom<v1::Migration> for MigrationView {
    type Error = CommandError;

    fn try_from(m: v1::Migration) -> Result<Self, CommandError> {
        let moves = m
            .moves
            .into_iter()
            .map(|v| {
                Ok(MoveView {
                    workflow: WorkflowId(v.workflow),
                    index: IndexUid::parse(&v.index_uid)?,
                    phase: Phase::parse(&v.phase)?,
                    shards: v.shards,
                    shards_copied: v.shards_copied,
                    copied: v.copied,
                    delta_documents: v.delta_documents,
                    round: v.round,
                    round_written: v.round_written,
                    cutover_attempts: v.cutover_attempts,
                    fence_ms: v.fence_ms,
                    aborted: v.aborted,
                    last_error: some(v.last_error),
                    to_nodes: v.to_nodes.into_iter().map(NodeId).collect(),
                    from_nodes: v.from_nodes.into_iter().map(NodeId).collect(),
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(MigrationView {
            id: MigrationId(m.id),
            kind: m.kind,
            description: m.description,
            status: m.status,
            stuck_reason: some(m.stuck_reason),
            manual_cutover: m.manual_cutover,
            cutover_requested: m.cutover_requested,
            delta_pass: m.delta_pass,
            docs_per_s: m.docs_per_s,
            forced: m.forced,
            warnings: m.warnings,
            created_at_ms: m.created_at_ms,
            finished_at_ms: m.finished_at_ms,
            moves,
        })
    }
}
