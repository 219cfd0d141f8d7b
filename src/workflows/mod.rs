//! The phase machines the coordinator leader runs (DESIGN section 9): each
//! step's effect on the nodes is idempotent and is followed by one committed,
//! compare-and-set command, so a new leader redoes the current step and goes
//! on, and a deposed leader's late step is refused by the state machine.
//!
//! This part knows the coordinator only through [`Cluster`], so that the
//! coordinator starts it without the two importing each other.
//!
//! # Layout
//! - [`deletion`]: deleting an index (fence, wait for routers, delete on the
//!   nodes, forget).
//! - [`swap`]: swapping or renaming indexes (fence, wait for routers, flip).
//! - [`repair`]: bringing a node's behind copies of an index back to serving
//!   (catch up, wait for the node, re-check), and starting those repairs.
//! - [`anti_entropy`]: passes that compare every copy of an index's shards
//!   and fix what differs, and their schedule.
//! - [`migration`]: moving an index's shard copies for a migration (dual
//!   write, catch-up rounds, fenced cutover with its budget, cleanup, abort).
//! - [`nodes`]: what repairs and passes share about the nodes: queue waits,
//!   settings alignment.
//! - [`throttle`]: the documents-per-second pace of passes and repairs.
//! - [`sweep`]: changes owed to nodes that were down, made when they answer.
//! - [`pause`]: test-only pause points, one per phase.

pub mod anti_entropy;
pub mod deletion;
pub mod migration;
pub mod nodes;
pub mod pause;
pub mod repair;
pub mod swap;
pub mod sweep;
pub mod throttle;

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::fleet::NodeClient;
use crate::state::commands::AdvanceWorkflow;
use crate::state::workflows::{Phase, StepRef, Workflow, WorkflowId, WorkflowKind};
use crate::state::{ClusterState, Command, CommandResponse, Epoch};

pub use pause::PausePoints;

/// How often the leader looks at its workflows.
const TICK: Duration = Duration::from_millis(200);

/// What a workflow needs of the coordinator it runs in.
pub trait Cluster: Clone + Send + Sync + 'static {
    /// Whether this member leads now (by its own view; see [`Cluster::confirm_leader`]).
    fn is_leader(&self) -> bool;
    /// Reads this member's applied state.
    fn read<T>(&self, f: impl FnOnce(&ClusterState) -> T) -> T;
    /// Commits a command here, as leader (never forwarded).
    fn commit(&self, cmd: Command) -> impl Future<Output = Result<CommandResponse, String>> + Send;
    /// Confirms with a quorum that this member still leads: required before
    /// anything destructive on a node.
    fn confirm_leader(&self) -> impl Future<Output = Result<(), String>> + Send;
    /// Waits (a few seconds at most) until every router has acknowledged
    /// `epoch` or lost its lease.
    fn routers_past(&self, epoch: Epoch) -> impl Future<Output = Result<(), String>> + Send;
    fn nodes(&self) -> &NodeClient;
    /// TEST ONLY: repairs return copies to serving without copying anything
    /// (`--unsafe-serve-unrepaired`).
    fn serve_unrepaired(&self) -> bool {
        false
    }
    /// TEST ONLY: repairs write without re-checking (`--unsafe-skip-recheck`).
    fn skip_recheck(&self) -> bool {
        false
    }
    /// The longest a node call a router sent may still take to land: cleanup waits it out.
    fn node_call_deadline(&self) -> Duration {
        Duration::from_secs(10)
    }
    /// TEST ONLY: cutovers switch without the delta pass, new copies serving at once
    /// (`--unsafe-skip-delta-pass`).
    fn unsafe_skip_delta_pass(&self) -> bool {
        false
    }
    /// TEST ONLY: cutovers do not wait for the sources' queues (`--unsafe-skip-source-wait`).
    fn unsafe_skip_source_wait(&self) -> bool {
        false
    }
}

/// Runs the leader's workflows until shutdown; does nothing on followers.
pub async fn run<C: Cluster>(cluster: C, pauses: PausePoints, shutdown: CancellationToken) {
    // The last error recorded per workflow, so a step retried every tick
    // does not write the same error to the log again and again.
    let mut last_error: BTreeMap<WorkflowId, String> = BTreeMap::new();
    let mut schedule = anti_entropy::schedule::Scheduler::default();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(TICK) => {}
            _ = shutdown.cancelled() => return,
        }
        if !cluster.is_leader() {
            continue;
        }
        // A workflow whose indexes an older one is still changing waits
        // for it: a swap and a deletion of one uid never interleave.
        let ready: Vec<Workflow> = cluster.read(|s| {
            s.workflows
                .running()
                .filter(|w| s.workflows.waits_for(w).is_none())
                .filter(|w| {
                    // A paused or stuck migration's moves take no step.
                    w.moves.as_ref().is_none_or(|m| {
                        s.migrations
                            .get(m.migration)
                            .is_none_or(|mig| mig.status.runs())
                    })
                })
                .cloned()
                .collect()
        });
        for w in ready {
            run_steps(&cluster, &pauses, w, &mut last_error).await;
        }
        sweep::once(&cluster).await;
        repair::schedule::once(&cluster).await;
        schedule.once(&cluster).await;
        purge_tombstones(&cluster).await;
    }
}

/// How long one workflow takes steps back to back before the others get a
/// turn (it always takes at least one).
const TURN: Duration = Duration::from_secs(2);

/// Carries out `w`'s steps one after the other, without waiting for the next
/// tick (a fence is up only as long as its workflow needs), until it is
/// done, a step fails (recorded once, retried next tick), or its turn
/// ([`TURN`]) ends.
async fn run_steps<C: Cluster>(
    cluster: &C,
    pauses: &PausePoints,
    mut w: Workflow,
    last_error: &mut BTreeMap<WorkflowId, String>,
) {
    let turn_ends = tokio::time::Instant::now() + TURN;
    loop {
        let outcome = match w.kind {
            WorkflowKind::IndexDeletion => deletion::step(cluster, pauses, &w).await,
            WorkflowKind::IndexSwap => swap::step(cluster, pauses, &w).await,
            WorkflowKind::CopyRepair => repair::step(cluster, pauses, &w).await,
            WorkflowKind::AntiEntropy => anti_entropy::step(cluster, pauses, &w).await,
            WorkflowKind::ShardMove => migration::step(cluster, pauses, &w).await,
        };
        if let Err(e) = outcome {
            tracing::warn!(workflow = %w.id, phase = w.phase.as_str(), error = %e, "workflow step failed; retrying");
            if last_error.get(&w.id) != Some(&e) {
                last_error.insert(w.id, e.clone());
                let cmd =
                    Command::RecordWorkflowError(crate::state::commands::RecordWorkflowError {
                        id: w.id,
                        at_ms: now_ms(),
                        error: e,
                    });
                let _ = cluster.commit(cmd).await;
            }
            return;
        }
        match cluster.read(|s| s.workflows.get(w.id).cloned()) {
            Some(next)
                if !next.is_done()
                    && next.step > w.step
                    && cluster.is_leader()
                    && tokio::time::Instant::now() < turn_ends =>
            {
                w = next
            }
            _ => return,
        }
    }
}

/// The move of `w` to phase `to`, to be filled in by the step.
fn advance(w: &Workflow, to: Phase) -> AdvanceWorkflow {
    AdvanceWorkflow {
        step: StepRef {
            id: w.id,
            step: w.step,
            to,
        },
        at_ms: 0,
        note: String::new(),
        deleted_documents: 0,
        swept_later: vec![],
        written_documents: 0,
    }
}

/// Commits a step, stamped now.
async fn commit<C: Cluster>(c: &C, mut advance: AdvanceWorkflow) -> Result<(), String> {
    advance.at_ms = now_ms();
    c.commit(Command::AdvanceWorkflow(advance))
        .await
        .map(|_| ())
}

/// The `WaitRouters` step every fenced workflow shares: no router may still
/// write under an epoch older than the fence's.
async fn wait_for_routers<C: Cluster>(c: &C, w: &Workflow) -> Result<String, String> {
    let epoch = w.fence_epoch.unwrap_or_default();
    c.routers_past(epoch).await?;
    Ok(format!("every router is past epoch {epoch}"))
}

/// Drops expired tombstones when some are due (checked every tick, which is
/// a read; committed only when something expired).
async fn purge_tombstones<C: Cluster>(cluster: &C) {
    let at_ms = now_ms();
    if cluster.read(|s| crate::state::commands::purge_due(s, at_ms)) {
        let cmd = Command::PurgeTombstones(crate::state::commands::PurgeTombstones { at_ms });
        if let Ok(CommandResponse::TombstonesPurged(n)) = cluster.commit(cmd).await {
            tracing::info!(purged = n, "expired tombstones purged");
        }
    }
}

pub(crate) fn now_ms() -> u64 {
    (crate::meili::stamp::now_nanos() / 1_000_000) as u64
}
