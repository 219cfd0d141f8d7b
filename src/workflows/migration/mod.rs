//! Moving an index's shard copies for a migration (DESIGN section 9): add the new copies as
//! filling and wait until every router writes to them, copy in catch-up rounds until a round is
//! small, cut over under a fence with its budget (drain, delta pass, switch), drop the old
//! copies, and once no router can still write to them, delete the moved shards from them.
//!
//! - [`copy`]: the catch-up rounds.
//! - [`cutover`]: the fenced drain and delta pass, lifted and retried when over budget.
//! - [`cleanup`]: deleting moved shards from the copies that no longer hold them (the old
//!   copies after a switch, the new ones after an abort).

pub mod cleanup;
pub mod copy;
pub mod cutover;

use std::collections::BTreeMap;

use crate::state::commands::{read_margin, MoveAction, MoveStep};
use crate::state::migration::{IndexMove, Migration};
use crate::state::workflows::{Phase, Workflow};
use crate::state::{Command, NodeId, NodeState, Role, ShardId, Version};

use super::{Cluster, PausePoints};

/// What a move's step needs, read from the state once.
pub struct Job {
    pub uid: crate::state::IndexUid,
    /// The index's name on the nodes.
    pub index: String,
    pub primary_key: Option<String>,
    pub im: IndexMove,
    pub migration: Migration,
    /// Each node's address (the move's nodes and the shards' sources).
    pub address: BTreeMap<NodeId, String>,
    /// Per moving shard that is copied: a copy to read it from.
    pub sources: BTreeMap<u32, NodeId>,
    /// Nodes this migration takes out of the fleet (their cleanup may be skipped when down).
    pub leaving_fleet: Vec<NodeId>,
    pub margin: Version,
    pub fence_budget_ms: u64,
}

impl Job {
    pub fn addr(&self, n: &NodeId) -> Result<&str, String> {
        self.address
            .get(n)
            .map(String::as_str)
            .ok_or_else(|| format!("node {n} is no longer registered"))
    }

    /// The shards each new copy's node receives.
    pub fn targets(&self) -> BTreeMap<NodeId, Vec<ShardId>> {
        let mut by_node: BTreeMap<NodeId, Vec<ShardId>> = BTreeMap::new();
        for m in self.im.moves.values() {
            for n in &m.to {
                by_node.entry(n.clone()).or_default().push(m.shard);
            }
        }
        by_node
    }

    /// The shards each old copy's node gives up.
    pub fn sources_given_up(&self) -> BTreeMap<NodeId, Vec<ShardId>> {
        let mut by_node: BTreeMap<NodeId, Vec<ShardId>> = BTreeMap::new();
        for m in self.im.moves.values() {
            for n in &m.from {
                by_node.entry(n.clone()).or_default().push(m.shard);
            }
        }
        by_node
    }

    /// The nodes copies are read from.
    pub fn source_nodes(&self) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = self.sources.values().cloned().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The moves copied together with `m`: those `keep` selects that read from the same source and
/// write to the same new copies (`m` first).
pub fn group_of<'a>(
    job: &'a Job,
    m: &'a crate::state::migration::ShardMove,
    keep: impl Fn(&crate::state::migration::ShardMove) -> bool,
) -> Vec<&'a crate::state::migration::ShardMove> {
    let source = job.sources.get(&m.shard.0);
    let mut group = vec![m];
    group.extend(job.im.moves.values().filter(|o| {
        o.shard != m.shard && keep(o) && o.to == m.to && job.sources.get(&o.shard.0) == source
    }));
    group
}

/// The copy of `shard` to read from: one of the old copies if it serves on a live node, else
/// any copy routers read.
fn source_of(
    s: &crate::state::ClusterState,
    w: &Workflow,
    shard: ShardId,
    from: &[NodeId],
) -> Option<NodeId> {
    let a = s.shard_maps.get(&w.index)?.shards.get(shard.0 as usize)?;
    let live = |n: &NodeId| s.nodes.get(n).is_some_and(|n| n.state != NodeState::Failed);
    let readable: Vec<&NodeId> = a
        .copies
        .iter()
        .filter(|c| matches!(c.role, Role::Serving | Role::Leaving) && live(&c.node))
        .map(|c| &c.node)
        .collect();
    readable
        .iter()
        .find(|n| from.contains(n))
        .or_else(|| readable.first())
        .map(|n| (*n).clone())
}

fn job<C: Cluster>(c: &C, w: &Workflow) -> Option<Job> {
    c.read(|s| {
        let index = s.indexes.get(&w.index)?;
        let im = w.moves.clone()?;
        let migration = s.migrations.get(im.migration)?.clone();
        let address = s
            .nodes
            .values()
            .map(|n| (n.id.clone(), n.address.clone()))
            .collect();
        let sources = im
            .moves
            .values()
            .filter(|m| m.copies())
            .filter_map(|m| Some((m.shard.0, source_of(s, w, m.shard, &m.from)?)))
            .collect();
        let leaving_fleet = s
            .nodes
            .values()
            .filter(|n| {
                n.state == NodeState::Failed
                    || !crate::state::migration::layout::target_groups(s, Some(&migration.change))
                        .iter()
                        .any(|(_, nodes)| nodes.contains(&n.id))
            })
            .map(|n| n.id.clone())
            .collect();
        Some(Job {
            uid: w.index.clone(),
            index: w.physical().to_string(),
            primary_key: index.primary_key.clone(),
            im,
            migration,
            address,
            sources,
            leaving_fleet,
            margin: read_margin(s),
            fence_budget_ms: s.settings.duration_ms("fence_budget"),
        })
    })
}

/// Carries out `w`'s current step and commits it.
pub async fn step<C: Cluster>(c: &C, pauses: &PausePoints, w: &Workflow) -> Result<(), String> {
    let Some(to) = w.next_phase() else {
        return Ok(());
    };
    pauses.before(w.phase).await;
    let mut advance = super::advance(w, to);
    let Some(job) = job(c, w) else {
        // The index is gone (deleted, or handed to another uid): nothing is left to move.
        advance.note = "the index is gone; nothing to move".into();
        return super::commit(c, advance).await;
    };
    if job.index != w.physical() || w.moves.is_none() {
        advance.note = "the index is gone; nothing to move".into();
        return super::commit(c, advance).await;
    }
    advance.note = match w.phase {
        Phase::AddCopies => {
            prepare_targets(c, &job).await?;
            describe_plan(&job.im)
        }
        Phase::WaitDualWrite => {
            c.routers_past(job.im.epoch).await?;
            format!(
                "every router writes to the new copies (epoch {})",
                job.im.epoch
            )
        }
        Phase::Copy => return copy::step(c, w, &job).await,
        Phase::Drain => return cutover::drain(c, w, &job).await,
        Phase::DeltaPass => return cutover::delta(c, w, &job).await,
        Phase::AwaitRepair => match behind_targets(c, w) {
            0 => "the new copies serve".into(),
            // The repair scheduler brings them back; look again next tick.
            _ => return Ok(()),
        },
        Phase::Release => "the old copies leave the shard map".into(),
        Phase::Cleanup => cleanup::old_copies(c, w, &job).await?,
        Phase::Undo => cleanup::new_copies(c, w, &job).await?,
        _ => return Ok(()),
    };
    super::commit(c, advance).await
}

/// Creates the index on every node that receives copies, with Miroir's settings and the
/// index's own (read from a source), before any write reaches it: a node must never create it
/// by itself from a document write.
async fn prepare_targets<C: Cluster>(c: &C, job: &Job) -> Result<(), String> {
    let nodes = c.nodes();
    let source = job.source_nodes().into_iter().next();
    for n in job.targets().keys() {
        let base = job.addr(n)?;
        nodes
            .prepare_index(base, &job.index, job.primary_key.as_deref())
            .await
            .map_err(|e| format!("creating the index on {n}: {e}"))?;
        super::nodes::wait_queue(nodes, base).await?;
        if let Some(src) = &source {
            super::nodes::align_settings(nodes, &job.index, job.addr(src)?, base).await?;
        }
    }
    Ok(())
}

fn describe_plan(im: &IndexMove) -> String {
    let copied = im.moves.values().filter(|m| m.copies()).count();
    let dropped = im.moves.values().filter(|m| !m.copies()).count();
    let mut note = format!("{} shards move", im.moves.len());
    if copied > 0 {
        note += &format!(", {copied} to new copies");
    }
    if dropped > 0 {
        note += &format!(", {dropped} only drop copies");
    }
    note + "; new copies are written from the next epoch on"
}

/// New copies of the move that are still behind (configuration C waits for their repair).
fn behind_targets<C: Cluster>(c: &C, w: &Workflow) -> usize {
    c.read(|s| {
        let (Some(map), Some(im)) = (s.shard_maps.get(&w.index), w.moves.as_ref()) else {
            return 0;
        };
        im.moves
            .values()
            .flat_map(|m| m.to.iter().map(move |n| (m.shard, n)))
            .filter(|(sh, n)| {
                map.shards.get(sh.0 as usize).and_then(|a| a.role_of(n)) == Some(Role::Behind)
            })
            .count()
    })
}

/// Commits one of a move's steps within its phase; returns the next step number.
pub(crate) async fn move_step<C: Cluster>(
    c: &C,
    w: &Workflow,
    step: u64,
    action: MoveAction,
) -> Result<u64, String> {
    let cmd = Command::MoveStep(MoveStep {
        id: w.id,
        step,
        at_ms: super::now_ms(),
        action,
    });
    c.commit(cmd).await?;
    Ok(step + 1)
}
