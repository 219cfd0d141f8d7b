//! Anti-entropy passes (DESIGN section 9): one index at a time, first its presence and settings
//! on every node and the strays ([`index_check`]), then its shards one per step, each compared
//! across every copy in every group ([`scan`]), with the shard cursor, counts and findings
//! committed after each (a new leader resumes from the cursor). A `verify` pass reports; a
//! `repair` pass also fixes. [`schedule`] starts the rounds the cron schedule asks for.

pub mod index_check;
pub mod scan;
pub mod schedule;

use crate::state::commands::RecordPassProgress;
use crate::state::repair::pass::{AntiEntropyPass, Finding, PassCounts, PassMode};
use crate::state::workflows::{Phase, Workflow};
use crate::state::{ClusterState, Command, NodeState, ShardId};

use super::{Cluster, PausePoints};
use index_check::{IndexCheck, NodeRef};
use scan::{CopyRef, ShardScan};

/// Carries out `w`'s current step and commits it.
pub async fn step<C: Cluster>(c: &C, pauses: &PausePoints, w: &Workflow) -> Result<(), String> {
    let Some(to) = w.next_phase() else {
        return Ok(());
    };
    let Some(pass) = &w.pass else {
        return Err(format!("workflow {} is a pass without a plan", w.id));
    };
    pauses.before(w.phase).await;
    let mut advance = super::advance(w, to);
    // TEST ONLY: with repairs that copy nothing, passes write nothing either.
    let mode = match c.serve_unrepaired() {
        true => PassMode::Verify,
        false => pass.mode,
    };
    // Gone, or the uid names another index on the nodes since (a swap, a rename, a
    // re-creation): the pass has nothing left to compare.
    let known = c.read(|s| {
        s.indexes
            .get(&w.index)
            .filter(|i| i.physical() == w.physical())
            .map(|i| i.primary_key.clone())
    });
    let Some(primary_key) = known else {
        advance.note = "the index is gone or names another index now; nothing to compare".into();
        return super::commit(c, advance).await;
    };
    let (docs_per_s, concurrency) = c.read(|s| {
        (
            s.settings.int("anti_entropy_docs_per_s"),
            s.settings.int("anti_entropy_read_concurrency") as usize,
        )
    });
    match w.phase {
        Phase::IndexCheck => {
            let check = IndexCheck {
                nodes: c.nodes(),
                index: w.physical(),
                primary_key: primary_key.as_deref(),
                on: c.read(|s| nodes_of(s, w)),
                mode,
            };
            let (counts, findings) = check.run(|| c.confirm_leader()).await?;
            let step = progress(c, w, w.step, pass.next, counts, findings).await?;
            advance.step.step = step;
            advance.note = format!(
                "index presence, settings and strays checked on {} nodes",
                check.on.len()
            );
        }
        Phase::Scan => {
            let Some(pk) = primary_key.as_deref() else {
                advance.note = "the index has no documents yet".into();
                return super::commit(c, advance).await;
            };
            if let Some(shard) = pass.shards.get(pass.next) {
                let shard = ShardId(*shard);
                let scan = ShardScan {
                    nodes: c.nodes(),
                    index: w.physical(),
                    primary_key: pk,
                    shard,
                    copies: c.read(|s| copies_of(s, w, shard)),
                    tombstones: &c.read(|s| {
                        s.tombstones
                            .since(&w.index, crate::state::Version::ZERO, usize::MAX)
                    }),
                    docs_per_s,
                    concurrency,
                    mode,
                    pauses,
                    recheck: !c.skip_recheck(),
                };
                let out = scan.run().await?;
                if out.counts.mismatches > 0 {
                    tracing::warn!(index = %w.index, shard = shard.0, mismatches = out.counts.mismatches, mode = pass.mode.as_str(), "anti-entropy found copies that differ");
                }
                progress(c, w, w.step, pass.next + 1, out.counts, out.findings).await?;
                return Ok(());
            }
            advance.note = summary(pass);
            let took = super::now_ms().saturating_sub(w.created_at_ms);
            metrics::histogram!("miroir_anti_entropy_pass_duration_seconds")
                .record(took as f64 / 1000.0);
        }
        _ => return Ok(()),
    }
    super::commit(c, advance).await
}

/// Commits a pass's progress; returns the workflow's next step.
async fn progress<C: Cluster>(
    c: &C,
    w: &Workflow,
    step: u64,
    next: usize,
    counts: PassCounts,
    findings: Vec<Finding>,
) -> Result<u64, String> {
    let cmd = Command::RecordPassProgress(RecordPassProgress {
        id: w.id,
        step,
        phase: w.phase,
        next,
        counts,
        findings,
        at_ms: super::now_ms(),
    });
    c.commit(cmd).await?;
    metrics::counter!("miroir_anti_entropy_shards_scanned_total").increment(counts.shards_scanned);
    metrics::counter!("miroir_anti_entropy_mismatches_total").increment(counts.mismatches);
    metrics::counter!("miroir_anti_entropy_documents_repaired_total").increment(counts.repaired);
    metrics::counter!("miroir_anti_entropy_strays_removed_total").increment(counts.strays_removed);
    Ok(step + 1)
}

fn summary(p: &AntiEntropyPass) -> String {
    let c = &p.counts;
    format!(
        "{} pass over {} shards: {} documents compared, {} mismatches, {} repaired, {} strays removed, {} index fixes",
        p.mode.as_str(),
        c.shards_scanned,
        c.documents_compared,
        c.mismatches,
        c.repaired,
        c.strays_removed,
        c.index_fixes
    )
}

/// The nodes holding copies of the index (failed ones left out), with the shards each owns.
fn nodes_of(s: &ClusterState, w: &Workflow) -> Vec<NodeRef> {
    let Some(map) = s.shard_maps.get(&w.index) else {
        return vec![];
    };
    s.nodes
        .values()
        .filter(|n| n.state != NodeState::Failed && map.uses(&n.id))
        .map(|n| NodeRef {
            node: n.id.clone(),
            base: n.address.clone(),
            owns: map
                .shards
                .iter()
                .filter(|a| a.holds(&n.id))
                .map(|a| a.shard)
                .collect(),
            serving: n.state.serves_reads()
                && map
                    .shards
                    .iter()
                    .filter_map(|a| a.role_of(&n.id))
                    .all(|r| r.is_read()),
        })
        .collect()
}

/// Every copy of a shard on a node that is not failed.
fn copies_of(s: &ClusterState, w: &Workflow, shard: ShardId) -> Vec<CopyRef> {
    let Some(a) = s
        .shard_maps
        .get(&w.index)
        .and_then(|m| m.shards.get(shard.0 as usize))
    else {
        return vec![];
    };
    a.copies
        .iter()
        .filter_map(|c| {
            let n = s.nodes.get(&c.node)?;
            (n.state != NodeState::Failed).then(|| CopyRef {
                node: c.node.clone(),
                base: n.address.clone(),
                serving: c.role.is_read() && n.state.serves_reads(),
            })
        })
        .collect()
}
