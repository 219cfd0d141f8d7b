//! Which node answers for which shards of one search: one replica group
//! (taken in turn), one live replica per shard inside it, another group for
//! a shard the chosen group cannot serve, and the shards nobody can serve.

use std::collections::BTreeMap;

use crate::router::topology::Topology;
use crate::state::{GroupId, IndexUid, NodeId, ShardId};

/// The nodes to ask, each with the shards it answers for.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReadPlan {
    /// The index's name on the nodes (its shard map's physical index).
    pub physical: String,
    pub nodes: BTreeMap<NodeId, Vec<ShardId>>,
    /// Shards with no live replica anywhere.
    pub unavailable: Vec<ShardId>,
}

/// Plans a read of `index` (only of the shards in `only`, when given);
/// `turn` picks the group (round robin across calls) and spreads shards over
/// the replicas of a group. `avoid` lists nodes that failed during this
/// request, so a retry goes elsewhere.
pub fn plan_read(
    t: &Topology,
    index: &IndexUid,
    turn: usize,
    avoid: &[NodeId],
    only: Option<&[ShardId]>,
) -> Option<ReadPlan> {
    let map = t.maps.get(index)?;
    let live = |n: &NodeId| {
        !avoid.contains(n) && t.nodes.get(n).is_some_and(|node| node.state.serves_reads())
    };
    let group_of = |n: &NodeId| t.nodes.get(n).map(|node| node.group);
    let wanted = |s: ShardId| only.is_none_or(|o| o.contains(&s));
    let mut groups: Vec<GroupId> = map
        .shards
        .iter()
        .flat_map(|a| a.readers().filter_map(group_of))
        .collect();
    groups.sort();
    groups.dedup();
    let mut plan = ReadPlan {
        physical: map.physical().to_string(),
        ..ReadPlan::default()
    };
    if groups.is_empty() {
        plan.unavailable = map
            .shards
            .iter()
            .map(|a| a.shard)
            .filter(|s| wanted(*s))
            .collect();
        return Some(plan);
    }
    let chosen = groups[turn % groups.len()];
    for a in map.shards.iter().filter(|a| wanted(a.shard)) {
        let in_group: Vec<&NodeId> = a
            .readers()
            .filter(|n| group_of(n) == Some(chosen) && live(n))
            .collect();
        let candidates = if in_group.is_empty() {
            a.readers().filter(|n| live(n)).collect()
        } else {
            in_group
        };
        if candidates.is_empty() {
            plan.unavailable.push(a.shard);
            continue;
        }
        let pick = candidates[(a.shard.0 as usize + turn) % candidates.len()];
        plan.nodes.entry(pick.clone()).or_default().push(a.shard);
    }
    Some(plan)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Epoch, Node, NodeState, ShardMap};

    fn topology(groups: &[&[&str]], rf: usize, shards: u32) -> Topology {
        let mut t = Topology::default();
        let mut members = vec![];
        for (g, names) in groups.iter().enumerate() {
            let ids: Vec<NodeId> = names.iter().map(|n| NodeId(n.to_string())).collect();
            for id in &ids {
                let node = Node {
                    id: id.clone(),
                    address: format!("http://{id}"),
                    group: GroupId(g as u32),
                    state: NodeState::Active,
                };
                t.nodes.insert(id.clone(), node);
            }
            members.push(ids);
        }
        let assignments = crate::placement::assign(shards, &members, rf);
        let uid = IndexUid("i".into());
        t.maps.insert(
            uid.clone(),
            ShardMap {
                index: uid,
                epoch: Epoch(1),
                shards: assignments,
                physical: String::new(),
            },
        );
        t
    }

    fn all_shards(p: &ReadPlan) -> Vec<u32> {
        let mut v: Vec<u32> = p.nodes.values().flatten().map(|s| s.0).collect();
        v.sort();
        v
    }

    /// Every shard is asked exactly once, from one group, whatever RF is.
    #[test]
    fn each_shard_once_from_one_group() {
        let t = topology(&[&["a", "b", "c"], &["d", "e", "f"]], 2, 16);
        let uid = IndexUid("i".into());
        for turn in 0..4 {
            let p = plan_read(&t, &uid, turn, &[], None).unwrap();
            assert_eq!(all_shards(&p), (0..16).collect::<Vec<_>>());
            let groups: Vec<GroupId> = p.nodes.keys().map(|n| t.nodes[n].group).collect();
            assert!(
                groups.iter().all(|g| *g == groups[0]),
                "mixed groups {groups:?}"
            );
            assert!(p.unavailable.is_empty());
        }
        let g0 = plan_read(&t, &uid, 0, &[], None).unwrap();
        let g1 = plan_read(&t, &uid, 1, &[], None).unwrap();
        assert_ne!(
            t.nodes[g0.nodes.keys().next().unwrap()].group,
            t.nodes[g1.nodes.keys().next().unwrap()].group
        );
    }

    /// A draining node still answers for its shards: nothing has moved yet.
    #[test]
    fn a_draining_node_keeps_serving() {
        let mut t = topology(&[&["a", "b"]], 1, 8);
        let uid = IndexUid("i".into());
        t.nodes.get_mut(&NodeId("a".into())).unwrap().state = NodeState::Draining;
        let p = plan_read(&t, &uid, 0, &[], None).unwrap();
        assert!(p.nodes.contains_key(&NodeId("a".into())));
        assert_eq!(all_shards(&p), (0..8).collect::<Vec<_>>());
        assert!(p.unavailable.is_empty());
    }

    /// A failed node's shards go to its replica, then to the other group;
    /// with no replica left anywhere a shard is reported unavailable.
    #[test]
    fn falls_back_then_reports_unavailable() {
        let mut t = topology(&[&["a", "b"], &["c"]], 1, 8);
        let uid = IndexUid("i".into());
        t.nodes.get_mut(&NodeId("a".into())).unwrap().state = NodeState::Failed;
        let p = plan_read(&t, &uid, 0, &[], None).unwrap();
        assert!(!p.nodes.contains_key(&NodeId("a".into())));
        assert_eq!(all_shards(&p), (0..8).collect::<Vec<_>>());
        assert!(
            p.nodes.contains_key(&NodeId("c".into())),
            "no fallback to the other group"
        );
        let p = plan_read(&t, &uid, 0, &[NodeId("c".into())], None).unwrap();
        assert!(!p.unavailable.is_empty());
        assert_eq!(p.unavailable.len() + all_shards(&p).len(), 8);
        assert!(plan_read(&t, &IndexUid("nope".into()), 0, &[], None).is_none());
        let some = [ShardId(2), ShardId(5)];
        let p = plan_read(&t, &uid, 0, &[], Some(&some)).unwrap();
        assert_eq!(all_shards(&p), vec![2, 5]);
    }
}
