//! The fleet layout a migration leads to, and the moves that take an index's shard map there.
//! One rule for both: the groups and nodes placement counts ([`target_groups`]), passed to
//! `placement::assign`; an index created while a migration runs is placed on that layout too.

use std::collections::{BTreeMap, BTreeSet};

use crate::placement;
use crate::state::error::CommandError;
use crate::state::ids::{GroupId, IndexUid, NodeId, ShardId};
use crate::state::node::{GroupState, NodeState};
use crate::state::shard_map::ShardMap;
use crate::state::ClusterState;

use super::{Change, ShardMove};

/// The groups placement uses and, for each, the nodes that hold its shards once `change` (the
/// running migration's, or one being planned) is done.
pub fn target_groups(state: &ClusterState, change: Option<&Change>) -> Vec<(GroupId, Vec<NodeId>)> {
    let added = |g: GroupId| matches!(change, Some(Change::AddGroup { group }) if *group == g);
    let removed = |g: GroupId| matches!(change, Some(Change::RemoveGroup { group }) if *group == g);
    state
        .groups
        .values()
        .filter(|g| (g.state == GroupState::Active && !removed(g.id)) || added(g.id))
        .map(|g| {
            let nodes = state
                .nodes
                .values()
                .filter(|n| n.group == g.id)
                .filter(|n| {
                    let drained =
                        matches!(change, Some(Change::DrainNode { node }) if *node == n.id);
                    let incoming = change.and_then(Change::incoming) == Some(&n.id);
                    (n.state == NodeState::Active && !drained)
                        || incoming
                        || (added(g.id) && n.state == NodeState::Joining)
                })
                .map(|n| n.id.clone())
                .collect();
            (g.id, nodes)
        })
        .collect()
}

/// The nodes of each target group, checked to hold `rf` copies of every shard.
pub fn members(
    state: &ClusterState,
    change: Option<&Change>,
    rf: u32,
) -> Result<Vec<Vec<NodeId>>, CommandError> {
    let groups = target_groups(state, change);
    if groups.is_empty() {
        return Err(CommandError::precondition(
            "no active replica group: add Meilisearch nodes with `miroir-ctl nodes add` first",
        ));
    }
    groups
        .into_iter()
        .map(|(g, nodes)| match nodes.len() < rf as usize {
            true => Err(CommandError::precondition(format!(
                "replica group {g} would have {} node(s), fewer than the replication factor {rf}: add nodes to it first",
                nodes.len()
            ))),
            false => Ok(nodes),
        })
        .collect()
}

/// The moves that take `map` to the placement of `members`: per shard, the copies it gains and
/// the ones it loses (only shards whose owners change).
pub fn plan(map: &ShardMap, members: &[Vec<NodeId>], rf: u32) -> BTreeMap<u32, ShardMove> {
    let target = placement::assign(map.shards.len() as u32, members, rf as usize);
    map.shards
        .iter()
        .zip(target)
        .filter_map(|(now, then)| {
            let held: BTreeSet<&NodeId> = now.writers().collect();
            let wanted: BTreeSet<&NodeId> = then.writers().collect();
            let to: Vec<NodeId> = wanted.difference(&held).map(|n| (*n).clone()).collect();
            let from: Vec<NodeId> = held.difference(&wanted).map(|n| (*n).clone()).collect();
            (!to.is_empty() || !from.is_empty()).then(|| {
                let m = ShardMove {
                    shard: now.shard,
                    to,
                    from,
                    cursor: None,
                    copied: false,
                    missed_since: None,
                    read_from: None,
                };
                (now.shard.0, m)
            })
        })
        .collect()
}

/// A copy a new copy of `shard` can be filled from: read by routers, on a node that is not
/// failed, and not one of the copies being filled. None when the shard has no such copy.
pub fn source_of(state: &ClusterState, index: &IndexUid, shard: ShardId) -> Option<NodeId> {
    let a = state.shard_maps.get(index)?.shards.get(shard.0 as usize)?;
    a.copies
        .iter()
        .filter(|c| c.role.is_read())
        .filter(|c| {
            state
                .nodes
                .get(&c.node)
                .is_some_and(|n| n.state != NodeState::Failed)
        })
        .map(|c| c.node.clone())
        .next()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::commands::{AddNode, CreateIndex};
    use crate::state::Command;

    fn fleet(per_group: &[u32]) -> ClusterState {
        let mut s = ClusterState::default();
        for (g, n) in per_group.iter().enumerate() {
            for i in 0..*n {
                Command::AddNode(AddNode {
                    id: NodeId(format!("g{g}n{i}")),
                    address: format!("http://g{g}n{i}:7700"),
                    group: GroupId(g as u32),
                })
                .apply(&mut s)
                .unwrap();
            }
        }
        Command::CreateIndex(CreateIndex {
            uid: IndexUid("m".into()),
            primary_key: None,
            shards: Some(64),
            replication_factor: Some(1),
            created_at_ms: 1,
        })
        .apply(&mut s)
        .unwrap();
        s
    }

    /// A join moves only the shards the new node now owns, each from one old owner; a drain
    /// moves exactly the drained node's shards.
    #[test]
    fn only_shards_whose_owner_changes_move() {
        let mut s = fleet(&[3]);
        Command::AddNode(AddNode {
            id: NodeId("new".into()),
            address: "http://new:7700".into(),
            group: GroupId(0),
        })
        .apply(&mut s)
        .unwrap();
        let join = Change::JoinNode {
            node: NodeId("new".into()),
        };
        let map = &s.shard_maps[&IndexUid("m".into())];
        let moves = plan(map, &members(&s, Some(&join), 1).unwrap(), 1);
        assert!(
            !moves.is_empty() && moves.len() < 32,
            "about a quarter of 64 moves"
        );
        for m in moves.values() {
            assert_eq!(m.to, vec![NodeId("new".into())]);
            assert_eq!(m.from.len(), 1);
        }
        let drain = Change::DrainNode {
            node: NodeId("g0n1".into()),
        };
        let moves = plan(map, &members(&s, Some(&drain), 1).unwrap(), 1);
        let held = map
            .shards
            .iter()
            .filter(|a| a.holds(&NodeId("g0n1".into())))
            .count();
        assert_eq!(moves.len(), held);
        assert!(moves
            .values()
            .all(|m| m.from == vec![NodeId("g0n1".into())]));
    }

    /// Removing a group drops its copies and copies nothing; a layout too small is refused.
    #[test]
    fn group_removal_and_small_groups() {
        let s = fleet(&[2, 2]);
        let map = &s.shard_maps[&IndexUid("m".into())];
        let remove = Change::RemoveGroup { group: GroupId(1) };
        let moves = plan(map, &members(&s, Some(&remove), 1).unwrap(), 1);
        assert_eq!(moves.len(), 64);
        assert!(moves.values().all(|m| m.to.is_empty() && m.from.len() == 1));
        assert!(members(&s, Some(&remove), 3).is_err());
    }
}
