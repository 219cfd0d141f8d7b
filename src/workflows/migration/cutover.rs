//! Cutover (the runbook's drain and delta pass): with the moving shards fenced, wait until every
//! router has finished their writes in flight (or lost its lease), wait until the sources have
//! processed everything, copy what changed since the last round began, apply the tombstones,
//! wait until the new copies have processed it, and switch. All of it within the fence budget:
//! over it, the fence is lifted and the move copies another round before it tries again.

use std::time::Duration;

use crate::fleet::VersionedPages;
use crate::state::commands::MoveAction;
use crate::state::workflows::{Phase, Workflow};
use crate::state::{ShardId, Version};
use crate::workflows::nodes::wait_queue;
use crate::workflows::repair::compare::{sync_page, Target};
use crate::workflows::Cluster;

use super::copy::{apply_tombstones, PAGE};
use super::{move_step, Job};

/// How much of the fence budget is left.
fn left(job: &Job) -> Duration {
    let fenced_at = job.im.fenced_at_ms.unwrap_or_else(crate::workflows::now_ms);
    let held = crate::workflows::now_ms().saturating_sub(fenced_at);
    Duration::from_millis(job.fence_budget_ms.saturating_sub(held))
}

fn held_ms(job: &Job) -> u64 {
    let fenced_at = job.im.fenced_at_ms.unwrap_or_else(crate::workflows::now_ms);
    crate::workflows::now_ms().saturating_sub(fenced_at)
}

/// Lifts the fence: the writes waiting in the routers go through, and another round follows.
async fn lift<C: Cluster>(c: &C, w: &Workflow, job: &Job, reason: String) -> Result<(), String> {
    tracing::warn!(workflow = %w.id, index = %job.uid, %reason, "fence lifted; cutover retried after another round");
    metrics::counter!("miroir_migration_fence_lifted_total").increment(1);
    metrics::histogram!("miroir_migration_fence_seconds").record(held_ms(job) as f64 / 1000.0);
    move_step(c, w, w.step, MoveAction::LiftFence { reason }).await?;
    Ok(())
}

/// The drain: every router acknowledges the fenced epoch (having finished the writes it had
/// checked under older ones) or loses its lease.
pub async fn drain<C: Cluster>(c: &C, w: &Workflow, job: &Job) -> Result<(), String> {
    let budget = left(job);
    match tokio::time::timeout(budget, c.routers_past(job.im.epoch)).await {
        Ok(Ok(())) => {
            let mut a = crate::workflows::advance(w, Phase::DeltaPass);
            a.note = format!(
                "writes in flight drained {} ms into the fence",
                held_ms(job)
            );
            metrics::histogram!("miroir_migration_drain_seconds")
                .record(held_ms(job) as f64 / 1000.0);
            crate::workflows::commit(c, a).await
        }
        Ok(Err(e)) => lift(c, w, job, format!("routers did not drain: {e}")).await,
        Err(_) => {
            let reason = format!(
                "routers did not drain within the fence budget ({} ms)",
                job.fence_budget_ms
            );
            lift(c, w, job, reason).await
        }
    }
}

/// The delta pass, then the switch.
pub async fn delta<C: Cluster>(c: &C, w: &Workflow, job: &Job) -> Result<(), String> {
    let budget = left(job);
    match tokio::time::timeout(budget, delta_pass(c, job)).await {
        Ok(Ok(written)) => {
            let held = held_ms(job);
            let mut a = crate::workflows::advance(w, Phase::AwaitRepair);
            a.written_documents = written;
            a.note = match job.migration.options.delta_pass {
                true => format!(
                    "delta pass wrote {written} documents; the new copies serve (writes held {held} ms)"
                ),
                false => format!(
                    "no delta pass (migration_delta_pass off): the new copies start behind and are repaired before the old ones go (writes held {held} ms)"
                ),
            };
            crate::workflows::commit(c, a).await?;
            metrics::histogram!("miroir_migration_fence_seconds").record(held as f64 / 1000.0);
            metrics::counter!("miroir_migration_delta_documents_total").increment(written);
            Ok(())
        }
        Ok(Err(e)) => lift(c, w, job, format!("the delta pass failed: {e}")).await,
        Err(_) => {
            let reason = format!(
                "the delta pass did not finish within the fence budget ({} ms)",
                job.fence_budget_ms
            );
            lift(c, w, job, reason).await
        }
    }
}

/// Waits for the sources, copies what changed since the last round began, and applies the
/// tombstones since then; returns the documents written.
async fn delta_pass<C: Cluster>(c: &C, job: &Job) -> Result<u64, String> {
    let nodes = c.nodes();
    if c.unsafe_skip_source_wait() {
        tracing::warn!(index = %job.uid, "UNSAFE: not waiting for the sources' queues at cutover");
    } else {
        for n in job.source_nodes() {
            wait_queue(nodes, job.addr(&n)?).await?;
        }
    }
    let Some(pk) = job.primary_key.as_deref() else {
        return Ok(0);
    };
    if !job.migration.options.delta_pass {
        return Ok(0);
    }
    if c.unsafe_skip_delta_pass() {
        tracing::warn!(index = %job.uid, "UNSAFE: delta pass skipped; the new copies serve as they are");
        return Ok(0);
    }
    let mut written = 0;
    let mut lowest = None::<Version>;
    let mut done: Vec<ShardId> = vec![];
    for m in job.im.moves.values().filter(|m| m.copies()) {
        if done.contains(&m.shard) {
            continue;
        }
        // The shards that share a source and new copies are read together.
        let group = super::group_of(job, m, |o| o.copies() && !done.contains(&o.shard));
        let shards: Vec<ShardId> = group.iter().map(|g| g.shard).collect();
        let from = group
            .iter()
            .map(|g| job.im.delta_from(g.shard, job.margin))
            .min()
            .unwrap_or(Version::ZERO);
        lowest = Some(lowest.map_or(from, |l| l.min(from)));
        written += copy_since(c, job, pk, &shards, &m.to, from).await?;
        done.extend(shards);
    }
    if let Some(from) = lowest {
        let from = from.max(job.im.first_started.unwrap_or(Version::ZERO));
        apply_tombstones(c, job, pk, from).await?;
    }
    Ok(written)
}

/// Writes to the new copies of `shards` (one source) what the source changed since `from`.
async fn copy_since<C: Cluster>(
    c: &C,
    job: &Job,
    pk: &str,
    shards: &[ShardId],
    to: &[crate::state::NodeId],
    from: Version,
) -> Result<u64, String> {
    let Some(source) = shards.first().and_then(|s| job.sources.get(&s.0)) else {
        return Err("a moving shard has no serving copy to read".into());
    };
    let base = job.addr(source)?;
    let mut pages = VersionedPages::new(c.nodes(), base, &job.index, shards, from, PAGE);
    let mut written = 0;
    while let Some(page) = pages
        .next_page()
        .await
        .map_err(|e| format!("reading moving shards from {base}: {e}"))?
    {
        for n in to {
            let target = Target {
                nodes: c.nodes(),
                base: job.addr(n)?,
                index: &job.index,
                primary_key: pk,
            };
            written += sync_page(&target, shards, page.clone(), true)
                .await?
                .written;
        }
    }
    Ok(written)
}
