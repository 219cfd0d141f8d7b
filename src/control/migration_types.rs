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

/// What a migration would move (`SimulateMigration`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanView {
    pub description: String,
    pub indexes: Vec<IndexPlanView>,
    pub documents: u64,
    pub bytes: u64,
    pub stored_documents: u64,
    pub stored_documents_during: u64,
    pub copies: u64,
    pub copies_during: u64,
    pub docs_per_s: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexPlanView {
    pub index: IndexUid,
    pub shards_moving: u32,
    pub documents: u64,
    pub bytes: u64,
    /// `shard: from -> to`.
    pub moves: Vec<String>,
}

impl PlanView {
    /// Documents stored while it runs over documents stored now.
    pub fn storage_amplification(&self) -> f64 {
        self.stored_documents_during as f64 / self.stored_documents.max(1) as f64
    }

    /// Copies a write reaches while it runs over copies now.
    pub fn write_amplification(&self) -> f64 {
        self.copies_during as f64 / self.copies.max(1) as f64
    }

    /// The copy's time at the throttle, in seconds (None: no throttle).
    pub fn estimated_s(&self) -> Option<u64> {
        (self.docs_per_s > 0).then(|| self.documents.div_ceil(self.docs_per_s))
    }
}

impl TryFrom<v1::MigrationPlan> for PlanView {
    type Error = CommandError;

    fn try_from(p: v1::MigrationPlan) -> Result<Self, CommandError> {
        let indexes = p
            .indexes
            .into_iter()
            .map(|i| {
                Ok(IndexPlanView {
                    index: IndexUid::parse(&i.index_uid)?,
                    shards_moving: i.shards_moving,
                    documents: i.documents,
                    bytes: i.bytes,
                    moves: i.moves,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(PlanView {
            description: p.description,
            indexes,
            documents: p.documents,
            bytes: p.bytes,
            stored_documents: p.stored_documents,
            stored_documents_during: p.stored_documents_during,
            copies: p.copies,
            copies_during: p.copies_during,
            docs_per_s: p.docs_per_s,
        })
    }
}
