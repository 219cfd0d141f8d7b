//! The copy's catch-up rounds. Each round waits for the sources' queues, reads every moving
//! shard from a serving copy in version order from where the round starts (the first from the
//! beginning, unversioned documents too; each later one from before the last one's start by the
//! lease length and clock skew, so no write in flight at its start is missed), writes to each
//! new copy what it lacks, then applies the tombstones since then. Cursors are committed per
//! page, so a new leader goes on from there. When a round is small, the move cuts over.

use std::time::Duration;

use crate::fleet::{Cursor, VersionedPages};
use crate::state::commands::MoveAction;
use crate::state::migration::{CopyRound, ShardMove};
use crate::state::tombstones::Deleted;
use crate::state::workflows::{Phase, Workflow};
use crate::state::{ShardId, Version};
use crate::workflows::nodes::wait_queue;
use crate::workflows::repair::compare::{delete_absent_on_source, sync_page, Target};
use crate::workflows::throttle::Throttle;
use crate::workflows::Cluster;

use super::{move_step, Job};

/// Documents read from a source per request.
pub const PAGE: usize = 1_000;
/// A round that wrote at most this many documents is small: the delta pass under the fence
/// will have about as little to do.
pub const SMALL_ROUND: u64 = 1_000;
/// After this many rounds the move tries its cutover anyway (the fence budget decides).
pub const MAX_ROUNDS: u32 = 10;
/// A move waiting for an operator's cutover keeps its copy fresh with a round this often.
const WAITING_ROUND_GAP_MS: u64 = 5_000;
/// How long one step copies before the other workflows get a turn.
const STEP_BUDGET: Duration = Duration::from_secs(2);

/// Whether the last round lets the move cut over now.
pub fn ready_for_cutover(job: &Job, last: &CopyRound) -> bool {
    let caught_up = last.written <= SMALL_ROUND || last.number >= MAX_ROUNDS;
    let asked = !job.migration.options.manual_cutover || job.migration.cutover_requested;
    caught_up && asked
}

pub async fn step<C: Cluster>(c: &C, w: &Workflow, job: &Job) -> Result<(), String> {
    let Some(round) = job.im.round else {
        if let Some(last) = job.im.last_round {
            if ready_for_cutover(job, &last) {
                let mut a = crate::workflows::advance(w, Phase::Drain);
                a.note = format!(
                    "round {} wrote {} documents: the fence goes up",
                    last.number, last.written
                );
                return crate::workflows::commit(c, a).await;
            }
            let waiting = job.migration.options.manual_cutover && last.written <= SMALL_ROUND;
            let since = crate::workflows::now_ms().saturating_sub(last.started_at_ms);
            if waiting && since < WAITING_ROUND_GAP_MS {
                return Ok(());
            }
        }
        // Everything acknowledged before the round starts must be readable on the sources.
        for n in job.source_nodes() {
            wait_queue(c.nodes(), job.addr(&n)?).await?;
        }
        let started = Version::at_unix_ms(crate::workflows::now_ms());
        move_step(c, w, w.step, MoveAction::StartRound { started }).await?;
        return Ok(());
    };
    match job.im.moves.values().find(|m| !m.copied) {
        Some(m) => copy_group(c, w, job, m).await,
        None => end_round(c, w, job, &round).await,
    }
}

/// Copies the shards of `m`'s group (not copied yet this round, read from the same source,
/// written to the same new copies) together, from where their cursor got to, a page at a time:
/// one read per page for all of them, not one per shard.
async fn copy_group<C: Cluster>(
    c: &C,
    w: &Workflow,
    job: &Job,
    m: &ShardMove,
) -> Result<(), String> {
    let group = super::group_of(job, m, |o| !o.copied);
    let shards: Vec<ShardId> = group.iter().map(|g| g.shard).collect();
    let Some(pk) = job.primary_key.as_deref() else {
        // No document was ever placed: nothing to copy.
        let done = MoveAction::Progress {
            shards,
            cursor: None,
            copied: true,
            written: 0,
        };
        move_step(c, w, w.step, done).await?;
        return Ok(());
    };
    let source = job.sources.get(&m.shard.0).ok_or_else(|| {
        format!(
            "shard {} has no serving copy on a live node to copy from",
            m.shard.0
        )
    })?;
    let base = job.addr(source)?;
    let targets: Vec<Target<'_>> =
        m.to.iter()
            .map(|n| {
                Ok(Target {
                    nodes: c.nodes(),
                    base: job.addr(n)?,
                    index: &job.index,
                    primary_key: pk,
                })
            })
            .collect::<Result<_, String>>()?;
    // Shards that resume read from the lowest place any of them got to (reading again is harmless).
    let from = group
        .iter()
        .map(|g| g.cursor.unwrap_or_else(|| job.im.read_from(g.shard)))
        .min()
        .unwrap_or(Version::ZERO);
    let mut pages = VersionedPages::new(c.nodes(), base, &job.index, &shards, from, PAGE);
    let mut throttle = Throttle::new(job.migration.options.docs_per_s);
    let until = tokio::time::Instant::now() + STEP_BUDGET;
    let mut step = w.step;
    loop {
        let page = pages
            .next_page()
            .await
            .map_err(|e| format!("reading shards {} from {base}: {e}", names(&shards)))?;
        let Some(page) = page else {
            let done = MoveAction::Progress {
                shards,
                cursor: None,
                copied: true,
                written: 0,
            };
            move_step(c, w, step, done).await?;
            return Ok(());
        };
        let n = page.len() as u64;
        let mut written = 0;
        for t in &targets {
            written += sync_page(t, &shards, page.clone(), true).await?.written;
        }
        metrics::counter!("miroir_migration_documents_copied_total").increment(written);
        let cursor = match pages.cursor() {
            Cursor::From(v) => Some(v),
            _ => None,
        };
        let progress = MoveAction::Progress {
            shards: shards.clone(),
            cursor,
            copied: false,
            written,
        };
        step = move_step(c, w, step, progress).await?;
        throttle.pace(n).await;
        if tokio::time::Instant::now() >= until || !c.is_leader() {
            return Ok(());
        }
    }
}

fn names(shards: &[ShardId]) -> String {
    shards
        .iter()
        .map(|s| s.0.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// Ends a round: waits until the new copies processed what was written to them, applies the
/// tombstones since the round read from, and deletes what a delete by filter removed from the
/// source under content the new copy did not hold yet.
async fn end_round<C: Cluster>(
    c: &C,
    w: &Workflow,
    job: &Job,
    round: &CopyRound,
) -> Result<(), String> {
    if let Some(pk) = job.primary_key.as_deref() {
        let from = tombstones_from(job, round);
        apply_tombstones(c, job, pk, from).await?;
    }
    move_step(c, w, w.step, MoveAction::EndRound).await?;
    tracing::info!(workflow = %w.id, round = round.number, written = round.written, "copy round done");
    Ok(())
}

/// Where a round's tombstones start: the lowest version any shard read from, and not before
/// the first round's start (what was deleted before it was never on the sources when read).
fn tombstones_from(job: &Job, round: &CopyRound) -> Version {
    let lowest = job
        .im
        .moves
        .keys()
        .map(|s| job.im.read_from(ShardId(*s)))
        .min()
        .unwrap_or(round.from);
    lowest.max(job.im.first_started.unwrap_or(Version::ZERO))
}

/// Waits for the new copies' queues, applies every tombstone since `from` to them, and for
/// deletes by filter among those, deletes what the sources no longer hold; waits again.
pub async fn apply_tombstones<C: Cluster>(
    c: &C,
    job: &Job,
    pk: &str,
    from: Version,
) -> Result<u64, String> {
    let list = c.read(|s| s.tombstones.since(&job.uid, from, usize::MAX));
    let targets = job.targets();
    for n in targets.keys() {
        wait_queue(c.nodes(), job.addr(n)?).await?;
    }
    if list.is_empty() {
        return Ok(0);
    }
    let newest_filter = list
        .iter()
        .filter(|t| matches!(t.deleted, Deleted::Filter(_)))
        .map(|t| t.version)
        .max();
    let mut deleted = 0;
    for (n, shards) in &targets {
        let target = Target {
            nodes: c.nodes(),
            base: job.addr(n)?,
            index: &job.index,
            primary_key: pk,
        };
        deleted += target.apply_tombstones(shards, &list).await?.deleted_by_id;
        let Some(newest) = newest_filter else {
            continue;
        };
        for s in shards {
            if let Some(source) = job.sources.get(&s.0) {
                deleted += delete_absent_on_source(&target, *s, job.addr(source)?, newest).await?;
            }
        }
    }
    for n in targets.keys() {
        wait_queue(c.nodes(), job.addr(n)?).await?;
    }
    Ok(deleted)
}
