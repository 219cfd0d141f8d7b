//! The typed commands of the Raft log. Every change to the replicated state is
//! one of these: checked without state before it is proposed, and checked
//! against the state again when it is applied, so that a refused command
//! changes nothing on any coordinator.

use serde::{Deserialize, Serialize};

use super::commands::{
    AddNode, AdvanceWorkflow, AllocateTaskIds, ChangeMigration, ClaimRouterId, CommitTasks,
    CreateIndex, DeleteIndex, DeleteTasks, DeleteWebhook, FenceIndex, InitCluster, MoveStep,
    PurgeTombstones, PutWebhook, RecordPassProgress, RecordRepairProgress, RecordTombstone,
    RecordWorkflowError, RemoveNode, SetConfig, SetCopyRole, SetNodeState, SetPrimaryKey,
    StartAntiEntropy, StartAntiEntropyRound, StartCopyRepair, StartIndexDeletion, StartIndexSwap,
    StartMigration, SweepDone, TakeWorkflowFinished,
};
use super::error::CommandError;
use super::ids::TaskUid;
use super::index::Index;
use super::node::Node;
use super::settings::Setting;
use super::shard_map::ShardMap;
use super::tasks::TaskRecord;
use super::ClusterState;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    InitCluster(InitCluster),
    SetConfig(SetConfig),
    AddNode(AddNode),
    SetNodeState(SetNodeState),
    RemoveNode(RemoveNode),
    CreateIndex(CreateIndex),
    SetPrimaryKey(SetPrimaryKey),
    DeleteIndex(DeleteIndex),
    FenceIndex(FenceIndex),
    AllocateTaskIds(AllocateTaskIds),
    CommitTasks(CommitTasks),
    DeleteTasks(DeleteTasks),
    PutWebhook(PutWebhook),
    DeleteWebhook(DeleteWebhook),
    ClaimRouterId(ClaimRouterId),
    StartIndexDeletion(StartIndexDeletion),
    StartIndexSwap(StartIndexSwap),
    AdvanceWorkflow(AdvanceWorkflow),
    RecordWorkflowError(RecordWorkflowError),
    SweepDone(SweepDone),
    RecordTombstone(RecordTombstone),
    PurgeTombstones(PurgeTombstones),
    SetCopyRole(SetCopyRole),
    TakeWorkflowFinished(TakeWorkflowFinished),
    StartCopyRepair(StartCopyRepair),
    RecordRepairProgress(RecordRepairProgress),
    StartAntiEntropy(StartAntiEntropy),
    StartAntiEntropyRound(StartAntiEntropyRound),
    RecordPassProgress(RecordPassProgress),
    StartMigration(StartMigration),
    ChangeMigration(ChangeMigration),
    MoveStep(MoveStep),
    /// Commands that arrived together, committed as one log entry and applied
    /// in order, each with its own result (group commit).
    Batch(Vec<Command>),
}

/// What a successfully applied command returns to its proposer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CommandResponse {
    Done,
    Setting {
        key: String,
        setting: Setting,
    },
    Node(Node),
    Index(Index),
    TaskBlock {
        first: TaskUid,
        count: u32,
    },
    Map(ShardMap),
    /// Leader-only replies that change no state (forwarded like commands):
    /// a router lease, and the routers that acknowledged an epoch.
    Lease {
        lease_ms: u64,
        epoch: u64,
        shard_policy: String,
        /// The leader's clock, ceiling and floor for the router's versions.
        leader_unix_ms: u64,
        version_ceiling: u64,
        version_floor: u64,
        max_clock_skew_ms: u64,
    },
    Routers(Vec<String>),
    Workflow(Box<super::workflows::Workflow>),
    Migration(Box<super::migration::Migration>),
    /// Task records committed, and the uids that reached a final status
    /// with this commit (their webhooks fire once, from the committer).
    Committed {
        count: u32,
        finished: Vec<TaskUid>,
    },
    /// Finished task records forgotten.
    TasksDeleted(u32),
    /// Expired tombstones dropped.
    TombstonesPurged(u64),
    /// Task records handed out (tasks workflows finished, for webhooks).
    Tasks(Vec<TaskRecord>),
    Batch(Vec<CommandResult>),
}

/// The result of one log entry, as the state machine reports it.
pub type CommandResult = Result<CommandResponse, CommandError>;

impl Command {
    /// The checks that need no state; run before proposing.
    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Command::InitCluster(c) => c.validate(),
            Command::SetConfig(c) => c.validate(),
            Command::AddNode(c) => c.validate(),
            Command::SetNodeState(c) => c.validate(),
            Command::RemoveNode(c) => c.validate(),
            Command::CreateIndex(c) => c.validate(),
            Command::SetPrimaryKey(c) => c.validate(),
            Command::DeleteIndex(c) => c.validate(),
            Command::FenceIndex(c) => c.validate(),
            Command::AllocateTaskIds(c) => c.validate(),
            Command::CommitTasks(c) => c.validate(),
            Command::DeleteTasks(c) => c.validate(),
            Command::PutWebhook(c) => c.validate(),
            Command::DeleteWebhook(c) => c.validate(),
            Command::ClaimRouterId(c) => c.validate(),
            Command::StartIndexDeletion(c) => c.validate(),
            Command::StartIndexSwap(c) => c.validate(),
            Command::AdvanceWorkflow(c) => c.validate(),
            Command::RecordWorkflowError(c) => c.validate(),
            Command::SweepDone(c) => c.validate(),
            Command::RecordTombstone(c) => c.validate(),
            Command::PurgeTombstones(c) => c.validate(),
            Command::SetCopyRole(c) => c.validate(),
            Command::TakeWorkflowFinished(c) => c.validate(),
            Command::StartCopyRepair(c) => c.validate(),
            Command::RecordRepairProgress(c) => c.validate(),
            Command::StartAntiEntropy(c) => c.validate(),
            Command::StartAntiEntropyRound(c) => c.validate(),
            Command::RecordPassProgress(c) => c.validate(),
            Command::StartMigration(c) => c.validate(),
            Command::ChangeMigration(c) => c.validate(),
            Command::MoveStep(c) => c.validate(),
            Command::Batch(cmds) => cmds.iter().try_for_each(|c| match c {
                Command::Batch(_) => Err(CommandError::invalid("batches do not nest")),
                c => c.validate(),
            }),
        }
    }

    /// Validates against `state` and, only if every check passes, changes it.
    /// Commands take their inputs from their own fields and the state, never
    /// from the clock, so that replaying the log gives the same state.
    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        self.validate()?;
        match self {
            Command::InitCluster(c) => c.apply(state),
            Command::SetConfig(c) => c.apply(state),
            Command::AddNode(c) => c.apply(state),
            Command::SetNodeState(c) => c.apply(state),
            Command::RemoveNode(c) => c.apply(state),
            Command::CreateIndex(c) => c.apply(state),
            Command::SetPrimaryKey(c) => c.apply(state),
            Command::DeleteIndex(c) => c.apply(state),
            Command::FenceIndex(c) => c.apply(state),
            Command::AllocateTaskIds(c) => c.apply(state),
            Command::CommitTasks(c) => c.apply(state),
            Command::DeleteTasks(c) => c.apply(state),
            Command::PutWebhook(c) => c.apply(state),
            Command::DeleteWebhook(c) => c.apply(state),
            Command::ClaimRouterId(c) => c.apply(state),
            Command::StartIndexDeletion(c) => c.apply(state),
            Command::StartIndexSwap(c) => c.apply(state),
            Command::AdvanceWorkflow(c) => c.apply(state),
            Command::RecordWorkflowError(c) => c.apply(state),
            Command::SweepDone(c) => c.apply(state),
            Command::RecordTombstone(c) => c.apply(state),
            Command::PurgeTombstones(c) => c.apply(state),
            Command::SetCopyRole(c) => c.apply(state),
            Command::TakeWorkflowFinished(c) => c.apply(state),
            Command::StartCopyRepair(c) => c.apply(state),
            Command::RecordRepairProgress(c) => c.apply(state),
            Command::StartAntiEntropy(c) => c.apply(state),
            Command::StartAntiEntropyRound(c) => c.apply(state),
            Command::RecordPassProgress(c) => c.apply(state),
            Command::StartMigration(c) => c.apply(state),
            Command::ChangeMigration(c) => c.apply(state),
            Command::MoveStep(c) => c.apply(state),
            Command::Batch(cmds) => Ok(CommandResponse::Batch(
                cmds.into_iter().map(|c| c.apply(state)).collect(),
            )),
        }
    }
}
