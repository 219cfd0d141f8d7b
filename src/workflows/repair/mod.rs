//! Repairing one node's behind copies of an index (DESIGN section 9, hinted repair): catch up
//! each shard from a serving copy from the version it fell behind at (a copy behind for longer
//! than tombstones are kept is emptied and copied whole), apply the tombstones since then, wait
//! until the node has processed everything sent to it, re-check against a serving copy until
//! nothing differs, and return the copies to serving. No fence: a behind copy is written by the
//! routers but not read, so live writes go on reaching it meanwhile.
//!
//! - [`compare`]: bringing a copy up to date with a page read from another.
//! - [`schedule`]: starting a repair for every node that has behind copies and answers.

pub mod compare;
pub mod schedule;

use crate::fleet::{IndexChange, VersionedPages};
use crate::state::commands::RecordRepairProgress;
use crate::state::repair::{CopyRepair, ShardRepair};
use crate::state::workflows::{Phase, Workflow};
use crate::state::{Command, NodeId, ShardId, Version};

use super::nodes::{align_settings, wait_queue, QUEUE_WAIT};
use super::{Cluster, PausePoints};
use compare::{sync_page, Target};

/// Documents read from a source copy per request.
const PAGE: usize = 1_000;
/// Re-check rounds within one step before it gives up for this tick (each round that still
/// finds differences means a client rewrote a document under the repair).
const RECHECK_ROUNDS: usize = 5;

/// What a repair step needs, read from the state once.
struct Job {
    index: String,
    primary_key: Option<String>,
    target: String,
    /// Per shard: the copies to read from, and whether they serve (when none does, every other
    /// copy is read and merged by version).
    sources: Vec<(ShardId, Vec<String>, bool)>,
}

/// The copies of `shard` a repair of `target` reads from.
fn sources_of(
    s: &crate::state::ClusterState,
    w: &Workflow,
    shard: ShardId,
    target: &NodeId,
) -> (Vec<String>, bool) {
    let Some(a) = s
        .shard_maps
        .get(&w.index)
        .and_then(|m| m.shards.get(shard.0 as usize))
    else {
        return (vec![], true);
    };
    let node = |n: &NodeId| s.nodes.get(n);
    let serving: Vec<String> = a
        .copies
        .iter()
        .filter(|c| &c.node != target && c.role.is_read())
        .filter_map(|c| node(&c.node))
        .filter(|n| n.state.serves_reads())
        .map(|n| n.address.clone())
        .take(1)
        .collect();
    if !serving.is_empty() {
        return (serving, true);
    }
    let others = a
        .copies
        .iter()
        .filter(|c| &c.node != target)
        .filter_map(|c| node(&c.node))
        .filter(|n| n.state != crate::state::NodeState::Failed)
        .map(|n| n.address.clone())
        .collect();
    (others, false)
}

fn job<C: Cluster>(c: &C, w: &Workflow, r: &CopyRepair) -> Option<Job> {
    c.read(|s| {
        let index = s.indexes.get(&w.index)?;
        // A swap, rename or re-creation since the repair started gave the uid another index on
        // the nodes: this repair has nothing left to bring back (the records moved with it).
        if index.physical() != w.physical() {
            return None;
        }
        let target = s.nodes.get(&r.node)?.address.clone();
        let sources = r
            .shard_ids()
            .into_iter()
            .map(|sh| {
                let (from, serving) = sources_of(s, w, sh, &r.node);
                (sh, from, serving)
            })
            .collect();
        Some(Job {
            index: w.physical().to_string(),
            primary_key: index.primary_key.clone(),
            target,
            sources,
        })
    })
}

/// Carries out `w`'s current step and commits it.
pub async fn step<C: Cluster>(c: &C, pauses: &PausePoints, w: &Workflow) -> Result<(), String> {
    let Some(to) = w.next_phase() else {
        return Ok(());
    };
    let Some(r) = &w.repair else {
        return Err(format!("workflow {} is a repair without a plan", w.id));
    };
    pauses.before(w.phase).await;
    let mut advance = super::advance(w, to);
    // The index or the node is gone: nothing to bring back.
    let Some(job) = job(c, w, r) else {
        advance.note = "the index or the node is gone; nothing to repair".into();
        return super::commit(c, advance).await;
    };
    let nodes = c.nodes();
    let skip = c.serve_unrepaired();
    advance.note = match (w.phase, job.primary_key.as_deref()) {
        (_, None) => "the index has no documents yet".into(),
        (_, Some(_)) if skip => {
            tracing::warn!(workflow = %w.id, "UNSAFE: returning copies to serving unrepaired");
            "UNSAFE: skipped (--unsafe-serve-unrepaired)".into()
        }
        (Phase::CatchUp, Some(pk)) => {
            let target = Target {
                nodes,
                base: &job.target,
                index: &job.index,
                primary_key: pk,
            };
            match r.shards.iter().find(|(_, p)| !p.caught_up) {
                Some((s, plan)) => return catch_up(c, w, &job, &target, ShardId(*s), plan).await,
                None => {
                    let settings = settings(&job, &target).await?;
                    tombstones(c, w, r, &job, &target).await? + &settings
                }
            }
        }
        (Phase::WaitNode, Some(_)) => {
            wait_queue(nodes, &job.target).await?;
            format!("node {} has processed everything sent to it", r.node)
        }
        (Phase::Recheck, Some(_)) if c.skip_recheck() => {
            tracing::warn!(workflow = %w.id, "UNSAFE: repair not re-checked");
            "UNSAFE: not re-checked (--unsafe-skip-recheck)".into()
        }
        (Phase::Recheck, Some(pk)) => {
            let target = Target {
                nodes,
                base: &job.target,
                index: &job.index,
                primary_key: pk,
            };
            recheck(&job, r, &target).await?
        }
        _ => return Ok(()),
    };
    super::commit(c, advance).await
}

/// One shard's catch-up: from where it got to, a page at a time, each page's progress committed.
async fn catch_up<C: Cluster>(
    c: &C,
    w: &Workflow,
    job: &Job,
    target: &Target<'_>,
    shard: ShardId,
    plan: &ShardRepair,
) -> Result<(), String> {
    let nodes = c.nodes();
    let (_, sources, serving) = job
        .sources
        .iter()
        .find(|(s, _, _)| *s == shard)
        .cloned()
        .unwrap_or((shard, vec![], true));
    if sources.is_empty() {
        return Err(format!(
            "shard {} has no other copy on a live node to repair from",
            shard.0
        ));
    }
    if plan.cursor.is_none() {
        // Everything acknowledged before now must be readable on the sources.
        for s in &sources {
            wait_queue(nodes, s).await?;
        }
        if plan.rebuild {
            // Emptying a copy is destructive: only a leader that still leads does it, and only
            // while the repair is where it was when this step began.
            c.confirm_leader().await?;
            let unchanged = c.read(|s| s.workflows.get(w.id).is_some_and(|now| now.step == w.step));
            if !unchanged {
                return Err("the repair moved on under another leader".into());
            }
            let filter = serde_json::json!({"filter": crate::fleet::shard_filter(&[shard])});
            let t = nodes
                .apply(
                    target.base,
                    target.index,
                    &IndexChange::DeleteByFilter(filter),
                )
                .await
                .map_err(|e| format!("emptying shard {} on {}: {e}", shard.0, target.base))?;
            nodes
                .wait_for_task(target.base, t.task_uid, QUEUE_WAIT)
                .await
                .map_err(|e| e.to_string())?;
        }
    }
    // With one serving source the cursor resumes; a merge of several restarts from the plan.
    let resume = serving && sources.len() == 1;
    let from = match resume {
        true => plan.cursor.unwrap_or(plan.from),
        false => plan.from,
    };
    let mut step = w.step;
    let mut last = Some(from);
    let mut unreported = 0;
    for base in &sources {
        let mut pages = VersionedPages::new(nodes, base, target.index, &[shard], from, PAGE);
        while let Some(page) = pages
            .next_page()
            .await
            .map_err(|e| format!("reading shard {} from {base}: {e}", shard.0))?
        {
            unreported += sync_page(target, &[shard], page, serving).await?.written;
            if resume {
                if let crate::fleet::Cursor::From(v) = pages.cursor() {
                    last = Some(v);
                }
                step = progress(c, w, step, shard, last, false, unreported).await?;
                unreported = 0;
            }
        }
    }
    progress(c, w, step, shard, last, true, unreported).await?;
    Ok(())
}

async fn progress<C: Cluster>(
    c: &C,
    w: &Workflow,
    step: u64,
    shard: ShardId,
    cursor: Option<Version>,
    caught_up: bool,
    written: u64,
) -> Result<u64, String> {
    let cmd = Command::RecordRepairProgress(RecordRepairProgress {
        id: w.id,
        step,
        phase: w.phase,
        shard,
        cursor,
        caught_up,
        written,
        deleted: 0,
        at_ms: super::now_ms(),
    });
    c.commit(cmd).await?;
    metrics::counter!("miroir_repair_documents_written_total").increment(written);
    Ok(step + 1)
}

/// Brings the copy's index settings in line with a serving copy's (it may have missed a
/// settings change too); says what it sent.
async fn settings(job: &Job, target: &Target<'_>) -> Result<String, String> {
    let Some(source) = job
        .sources
        .iter()
        .find(|(_, s, serving)| *serving && !s.is_empty())
    else {
        return Ok(String::new());
    };
    let sent = align_settings(target.nodes, target.index, &source.1[0], target.base).await?;
    Ok(match sent.is_empty() {
        true => String::new(),
        false => format!("; settings aligned: {}", sent.join(", ")),
    })
}

/// Applies to the copy every tombstone since the oldest version the repair reads from.
async fn tombstones<C: Cluster>(
    c: &C,
    w: &Workflow,
    r: &CopyRepair,
    job: &Job,
    target: &Target<'_>,
) -> Result<String, String> {
    let list = c.read(|s| s.tombstones.since(&w.index, r.from(), usize::MAX));
    let applied = target.apply_tombstones(&r.shard_ids(), &list).await?;
    let by_source = deleted_on_source(job, target, &list).await?;
    Ok(format!(
        "{} shards caught up ({} documents written); {} tombstones applied",
        r.shards.len(),
        r.written,
        list.len()
    ) + &match applied.deleted_by_id + by_source {
        0 => String::new(),
        n => format!(", {n} documents deleted"),
    })
}

/// Deletes by filter are judged on content: one that matched a document's newer content on the
/// serving copy does not match the older content the copy being repaired still holds. So when
/// such deletes ran since the copy fell behind, every document the copy holds at a version not
/// newer than the newest of them, and that the serving copy no longer has, is deleted here too
/// (the serving copy holds every acknowledged write; one still in its queue is put back by the
/// re-check). Returns how many.
async fn deleted_on_source(
    job: &Job,
    target: &Target<'_>,
    list: &[crate::state::tombstones::Tombstone],
) -> Result<u64, String> {
    use crate::state::tombstones::Deleted;
    let Some(newest) = list
        .iter()
        .filter(|t| matches!(t.deleted, Deleted::Filter(_)))
        .map(|t| t.version)
        .max()
    else {
        return Ok(0);
    };
    let mut gone = 0;
    for (shard, sources, serving) in &job.sources {
        let (true, Some(source)) = (*serving, sources.first()) else {
            continue;
        };
        gone += compare::delete_absent_on_source(target, *shard, source, newest).await?;
    }
    Ok(gone)
}

/// Compares every shard with its sources again, from the version the repair read from, and
/// writes what a concurrent write undid, until a round finds nothing to write.
async fn recheck(job: &Job, r: &CopyRepair, target: &Target<'_>) -> Result<String, String> {
    for round in 1..=RECHECK_ROUNDS {
        let mut written = 0;
        for (shard, sources, serving) in &job.sources {
            let from = r.shards.get(&shard.0).map_or(Version::ZERO, |p| p.from);
            for base in sources {
                wait_queue(target.nodes, base).await?;
                let mut pages =
                    VersionedPages::new(target.nodes, base, target.index, &[*shard], from, PAGE);
                while let Some(page) = pages
                    .next_page()
                    .await
                    .map_err(|e| format!("re-reading shard {} from {base}: {e}", shard.0))?
                {
                    written += sync_page(target, &[*shard], page, *serving).await?.written;
                }
            }
        }
        if written == 0 {
            return Ok(format!(
                "re-check round {round} found nothing to write; the copies serve again"
            ));
        }
        tracing::info!(
            round,
            written,
            "repair re-check rewrote documents a client write undid"
        );
        wait_queue(target.nodes, target.base).await?;
    }
    Err(format!(
        "the copies still differed after {RECHECK_ROUNDS} re-check rounds (clients rewriting the same documents); retrying"
    ))
}
