//! One file per family of commands; each command struct has its stateless
//! `validate` and its `apply` side by side.

mod anti_entropy;
mod cluster;
mod indexes;
mod migrations;
mod moves;
mod nodes;
mod repair;
mod roles;
mod routers;
mod swaps;
mod tasks;
mod tombstones;
mod webhooks;
mod workflows;

pub use anti_entropy::{RecordPassProgress, StartAntiEntropy, StartAntiEntropyRound};
pub use cluster::{InitCluster, SetConfig};
pub use indexes::{CreateIndex, DeleteIndex, FenceIndex, SetPrimaryKey};
pub use migrations::{preview, ChangeMigration, MigrationAction, StartMigration};
pub use moves::{MoveAction, MoveStep};
pub use nodes::{AddNode, RemoveNode, SetNodeState};
pub use repair::{read_margin, RecordRepairProgress, StartCopyRepair};
pub use roles::SetCopyRole;
pub use routers::ClaimRouterId;
pub use swaps::{check_flip, StartIndexSwap};
pub use tasks::{AllocateTaskIds, CommitTasks, DeleteTasks};
pub use tombstones::{purge_due, PurgeTombstones, RecordTombstone};
pub use webhooks::{DeleteWebhook, PutWebhook, TakeWorkflowFinished};
pub use workflows::{AdvanceWorkflow, RecordWorkflowError, StartIndexDeletion, SweepDone};
