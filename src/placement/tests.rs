use super::*;

fn ids(names: &[&str]) -> Vec<NodeId> {
    names.iter().map(|n| NodeId(n.to_string())).collect()
}

/// An integer key and its decimal string form are one id, so one shard.
#[test]
fn integer_and_string_forms_share_a_shard() {
    for i in [0i128, 7, 42, -3, 1_000_000_007] {
        let s = i.to_string();
        assert_eq!(
            shard_for_key(&PrimaryKeyValue::Integer(i), 64),
            shard_for_key(&PrimaryKeyValue::String(&s), 64)
        );
    }
}

/// Golden vectors: the raw hash, the shard of a few keys, and the owners of a
/// few shards. If this test fails, placement changed and documents would move.
#[test]
fn golden_vectors() {
    assert_eq!(xxh3_64(b""), 0x2d06800538d394c2);
    assert_eq!(xxh3_64(b"42"), GOLDEN_HASH_42);
    let shards: Vec<u32> = ["1", "42", "doc-17", "ünïcödé", "movie:2001"]
        .iter()
        .map(|k| shard_for_key(&PrimaryKeyValue::String(k), 64).0)
        .collect();
    assert_eq!(shards, GOLDEN_SHARDS_S64);
    let nodes = ids(&["meili-a", "meili-b", "meili-c", "meili-d"]);
    let owners_of: Vec<Vec<String>> = (0..4)
        .map(|s| {
            owners(ShardId(s), &nodes, 2)
                .into_iter()
                .map(|n| n.0)
                .collect()
        })
        .collect();
    let expected: Vec<Vec<String>> = GOLDEN_OWNERS_RF2
        .iter()
        .map(|o| o.iter().map(|s| s.to_string()).collect())
        .collect();
    assert_eq!(owners_of, expected);
}

// Cross-checked against the Python `xxhash` package (xxh3_64_intdigest).
const GOLDEN_HASH_42: u64 = 0x1217cb28c0ef2191;
const GOLDEN_SHARDS_S64: [u32; 5] = [24, 17, 51, 49, 51];
const GOLDEN_OWNERS_RF2: [[&str; 2]; 4] = [
    ["meili-d", "meili-b"],
    ["meili-c", "meili-b"],
    ["meili-d", "meili-c"],
    ["meili-c", "meili-b"],
];

/// Owners are RF distinct nodes of the group, whatever order the group is given in.
#[test]
fn owners_are_distinct_and_order_independent() {
    let mut nodes = ids(&["n1", "n2", "n3", "n4", "n5"]);
    let a = owners(ShardId(9), &nodes, 3);
    nodes.reverse();
    let b = owners(ShardId(9), &nodes, 3);
    assert_eq!(a, b);
    let mut dedup = a.clone();
    dedup.sort();
    dedup.dedup();
    assert_eq!(dedup.len(), 3);
    assert_eq!(owners(ShardId(1), &nodes, 9).len(), 5);
}

/// Adding a node to a group of n moves about 1/(n+1) of the shards, and every
/// moved shard moves to the new node.
#[test]
fn adding_a_node_moves_only_its_share() {
    let before = ids(&["n1", "n2", "n3", "n4"]);
    let mut after = before.clone();
    after.push(NodeId("n5".into()));
    let s = 4096u32;
    let mut moved = 0;
    for shard in 0..s {
        let o1 = owners(ShardId(shard), &before, 1);
        let o2 = owners(ShardId(shard), &after, 1);
        if o1 != o2 {
            moved += 1;
            assert_eq!(o2[0].0, "n5");
        }
    }
    let share = f64::from(moved) / f64::from(s);
    assert!((0.15..0.25).contains(&share), "moved share {share}");
}

/// Keys spread evenly over shards.
#[test]
fn keys_spread_over_shards() {
    let mut counts = [0u32; 16];
    for i in 0..16_000i128 {
        counts[shard_for_key(&PrimaryKeyValue::Integer(i), 16).0 as usize] += 1;
    }
    assert!(
        counts.iter().all(|&c| (800..1200).contains(&c)),
        "{counts:?}"
    );
}

/// `assign` gives every shard `rf` owners in each group (the group's rendezvous owners), reads
/// and writes on the same copies, and no fence.
#[test]
fn assign_places_rf_copies_per_group() {
    let group = |g: u32| -> Vec<NodeId> { (0..4).map(|i| NodeId(format!("g{g}-n{i}"))).collect() };
    let groups = vec![group(0), group(1)];
    let map = assign(16, &groups, 2);
    assert_eq!(map.len(), 16);
    for (s, a) in map.iter().enumerate() {
        assert_eq!(a.shard, ShardId(s as u32));
        assert!(a
            .copies
            .iter()
            .all(|c| c.role == crate::state::Role::Serving));
        assert_eq!(a.fence, crate::state::Fence::Open);
        let mut expected = owners(ShardId(s as u32), &groups[0], 2);
        expected.extend(owners(ShardId(s as u32), &groups[1], 2));
        assert_eq!(a.writers().cloned().collect::<Vec<_>>(), expected);
    }
}
