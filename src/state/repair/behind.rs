//! Copies that missed writes (DESIGN section 6, replica roles): why each one is *behind*, since
//! which version, and the two moves that change it (marked behind, returned to serving), so that
//! a copy's role and its record always change together, under a new epoch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::ids::{IndexUid, NodeId, ShardId, TaskUid};
use crate::state::shard_map::Role;
use crate::state::version::Version;
use crate::state::ClusterState;

/// Why a copy fell behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A router could not get this task's write onto the copy.
    MissedWrite { task: Option<TaskUid> },
    /// Its node was marked failed.
    NodeFailed,
    /// Filled by a migration without a delta pass: repaired before it serves.
    MovedWithoutDelta,
}

impl Reason {
    pub fn describe(&self) -> String {
        match self {
            Reason::MissedWrite { task: Some(t) } => format!("missed the write of task {t}"),
            Reason::MissedWrite { task: None } => "missed a write".into(),
            Reason::NodeFailed => "its node was marked failed".into(),
            Reason::MovedWithoutDelta => "moved by a migration without a delta pass".into(),
        }
    }
}

/// One behind copy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Behind {
    /// The oldest version the copy may lack: a repair reads from here.
    pub since: Version,
    /// When it was first marked (for the alert on copies behind too long).
    pub marked_at_ms: u64,
    /// The first reason it was marked for.
    pub reason: Reason,
    /// Times it was marked; a repair returns it to serving only if no new mark came in while
    /// it ran (that write may be missing still).
    pub marks: u64,
}

/// Every behind copy, by index, node and shard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BehindCopies {
    by_index: BTreeMap<IndexUid, BTreeMap<NodeId, BTreeMap<u32, Behind>>>,
}

/// A behind copy as listed for operators and the repair scheduler.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BehindCopy {
    pub index: IndexUid,
    pub node: NodeId,
    pub shard: ShardId,
    pub behind: Behind,
}

impl BehindCopies {
    pub fn get(&self, index: &IndexUid, node: &NodeId, shard: ShardId) -> Option<&Behind> {
        self.by_index.get(index)?.get(node)?.get(&shard.0)
    }

    pub fn all(&self) -> impl Iterator<Item = BehindCopy> + '_ {
        self.by_index.iter().flat_map(|(index, nodes)| {
            nodes.iter().flat_map(move |(node, shards)| {
                shards.iter().map(move |(s, b)| BehindCopy {
                    index: index.clone(),
                    node: node.clone(),
                    shard: ShardId(*s),
                    behind: b.clone(),
                })
            })
        })
    }

    /// An index's behind shards on one node.
    pub fn on(&self, index: &IndexUid, node: &NodeId) -> BTreeMap<u32, Behind> {
        self.by_index
            .get(index)
            .and_then(|n| n.get(node))
            .cloned()
            .unwrap_or_default()
    }

    pub fn count(&self) -> usize {
        self.by_index
            .values()
            .flat_map(|n| n.values())
            .map(|s| s.len())
            .sum()
    }

    pub(crate) fn remove(&mut self, index: &IndexUid, node: &NodeId, shard: u32) {
        if let Some(nodes) = self.by_index.get_mut(index) {
            if let Some(shards) = nodes.get_mut(node) {
                shards.remove(&shard);
                if shards.is_empty() {
                    nodes.remove(node);
                }
            }
            if nodes.is_empty() {
                self.by_index.remove(index);
            }
        }
    }

    /// Forgets a node's records (the node is gone).
    pub fn forget_node(&mut self, node: &NodeId) {
        for nodes in self.by_index.values_mut() {
            nodes.remove(node);
        }
        self.by_index.retain(|_, nodes| !nodes.is_empty());
    }

    /// Forgets an index's records (the index is gone).
    pub fn forget(&mut self, index: &IndexUid) {
        self.by_index.remove(index);
    }

    /// Moves records to new uids, as a rename or swap hands a physical index to another uid.
    pub fn rename(&mut self, moves: &[(IndexUid, IndexUid)]) {
        crate::state::ids::move_keys(&mut self.by_index, moves);
    }
}

/// Marks `node`'s copies of `shards` of `index` behind since `since`: serving copies stop being
/// read and counted; copies already behind keep the older of the two versions; filling and
/// leaving copies belong to a move, which catches them up or removes them. One new epoch for the
/// index if any role changed. Returns the shards whose role changed.
pub fn mark_behind(
    state: &mut ClusterState,
    index: &IndexUid,
    node: &NodeId,
    shards: &[ShardId],
    since: Version,
    reason: Reason,
    at_ms: u64,
) -> Vec<ShardId> {
    let Some(map) = state.shard_maps.get_mut(index) else {
        return vec![];
    };
    let mut changed = vec![];
    let mut filling = vec![];
    for s in shards {
        let Some(copy) = map
            .shards
            .get_mut(s.0 as usize)
            .and_then(|a| a.copies.iter_mut().find(|c| &c.node == node))
        else {
            continue;
        };
        // Filling copies are left to their move, which rereads the shard from
        // the missed version before they serve; leaving ones are being dropped.
        if matches!(copy.role, Role::Filling | Role::Leaving) {
            if copy.role == Role::Filling {
                filling.push(*s);
            }
            continue;
        }
        if copy.role != Role::Behind {
            copy.role = Role::Behind;
            changed.push(*s);
        }
        let records = state
            .behind
            .by_index
            .entry(index.clone())
            .or_default()
            .entry(node.clone())
            .or_default();
        let b = records.entry(s.0).or_insert_with(|| Behind {
            since,
            marked_at_ms: at_ms,
            reason: reason.clone(),
            marks: 0,
        });
        b.since = b.since.min(since);
        b.marks += 1;
    }
    if !changed.is_empty() {
        state.last_epoch.0 += 1;
        map.epoch = state.last_epoch;
    }
    if !filling.is_empty() {
        state.workflows.filling_missed(index, &filling, since);
    }
    changed
}

/// Marks a copy a migration filled without a delta pass behind since `since` (it may lack what
/// was written after that round read the source), so the repair brings it to serving.
pub fn mark_moved_behind(
    state: &mut ClusterState,
    index: &IndexUid,
    node: &NodeId,
    shard: ShardId,
    since: Version,
    at_ms: u64,
) {
    let Some(copy) = state
        .shard_maps
        .get_mut(index)
        .and_then(|m| m.shards.get_mut(shard.0 as usize))
        .and_then(|a| a.copies.iter_mut().find(|c| &c.node == node))
    else {
        return;
    };
    copy.role = Role::Behind;
    let b = state
        .behind
        .by_index
        .entry(index.clone())
        .or_default()
        .entry(node.clone())
        .or_default()
        .entry(shard.0)
        .or_insert_with(|| Behind {
            since,
            marked_at_ms: at_ms,
            reason: Reason::MovedWithoutDelta,
            marks: 0,
        });
    b.since = b.since.min(since);
    b.marks += 1;
}

/// Every copy a node holds, of every index, marked behind since `since`.
pub fn mark_node_behind(
    state: &mut ClusterState,
    node: &NodeId,
    since: Version,
    reason: Reason,
    at_ms: u64,
) {
    let held: Vec<(IndexUid, Vec<ShardId>)> = state
        .shard_maps
        .values()
        .map(|m| {
            let shards = m
                .shards
                .iter()
                .filter(|a| a.holds(node))
                .map(|a| a.shard)
                .collect();
            (m.index.clone(), shards)
        })
        .collect();
    for (index, shards) in held {
        mark_behind(state, &index, node, &shards, since, reason.clone(), at_ms);
    }
}

/// Returns repaired copies to serving: each shard whose record was marked exactly `marks` times
/// (none came in while the repair ran). Returns the shards that went back; the rest stay behind
/// for the next repair.
pub fn mark_serving(
    state: &mut ClusterState,
    index: &IndexUid,
    node: &NodeId,
    marks: &BTreeMap<u32, u64>,
) -> Vec<ShardId> {
    let mut back = vec![];
    for (s, seen) in marks {
        let current = state.behind.get(index, node, ShardId(*s)).map(|b| b.marks);
        if current != Some(*seen) {
            continue;
        }
        let Some(copy) = state
            .shard_maps
            .get_mut(index)
            .and_then(|m| m.shards.get_mut(*s as usize))
            .and_then(|a| a.copies.iter_mut().find(|c| &c.node == node))
        else {
            continue;
        };
        if copy.role == Role::Behind {
            copy.role = Role::Serving;
            back.push(ShardId(*s));
        }
        state.behind.remove(index, node, *s);
    }
    if !back.is_empty() {
        state.last_epoch.0 += 1;
        if let Some(m) = state.shard_maps.get_mut(index) {
            m.epoch = state.last_epoch;
        }
    }
    back
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::shard_map::{ShardAssignment, ShardMap};
    use crate::state::Epoch;

    fn state() -> ClusterState {
        let mut s = ClusterState::default();
        let uid = IndexUid("m".into());
        let owners = |a: &str, b: &str| vec![NodeId(a.into()), NodeId(b.into())];
        s.shard_maps.insert(
            uid.clone(),
            ShardMap {
                index: uid,
                epoch: Epoch(1),
                shards: vec![
                    ShardAssignment::serving(ShardId(0), owners("a", "b")),
                    ShardAssignment::serving(ShardId(1), owners("b", "c")),
                ],
                physical: String::new(),
            },
        );
        s.last_epoch = Epoch(1);
        s
    }

    /// A miss turns a serving copy behind under a new epoch; a second miss keeps the older
    /// version and counts; the copy serves again only when no mark came in during the repair.
    #[test]
    fn behind_and_back() {
        let mut s = state();
        let (m, b) = (IndexUid("m".into()), NodeId("b".into()));
        let miss = |t| Reason::MissedWrite {
            task: Some(TaskUid(t)),
        };
        let both = [ShardId(0), ShardId(1)];
        assert_eq!(
            mark_behind(&mut s, &m, &b, &both, Version(10), miss(1), 5).len(),
            2
        );
        assert_eq!(s.last_epoch, Epoch(2));
        assert_eq!(s.shard_maps[&m].shards[0].role_of(&b), Some(Role::Behind));
        assert!(mark_behind(&mut s, &m, &b, &both[..1], Version(7), miss(2), 6).is_empty());
        assert_eq!(s.last_epoch, Epoch(2), "no role changed: no new epoch");
        let rec = s.behind.get(&m, &b, ShardId(0)).unwrap().clone();
        assert_eq!((rec.since, rec.marks, rec.reason), (Version(7), 2, miss(1)));
        let seen: BTreeMap<u32, u64> = [(0, 1), (1, 1)].into();
        assert_eq!(mark_serving(&mut s, &m, &b, &seen), vec![ShardId(1)]);
        assert_eq!(s.shard_maps[&m].shards[0].role_of(&b), Some(Role::Behind));
        assert_eq!(s.shard_maps[&m].shards[1].role_of(&b), Some(Role::Serving));
        assert_eq!(s.behind.count(), 1);
        mark_node_behind(
            &mut s,
            &NodeId("a".into()),
            Version(3),
            Reason::NodeFailed,
            9,
        );
        assert_eq!(s.behind.count(), 2);
        assert!(mark_behind(
            &mut s,
            &m,
            &NodeId("z".into()),
            &both,
            Version(1),
            miss(3),
            1
        )
        .is_empty());
    }
}
