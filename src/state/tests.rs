use super::commands::*;
use super::*;

fn add_node(id: &str, group: u32) -> Command {
    Command::AddNode(AddNode {
        id: NodeId(id.into()),
        address: format!("http://{id}:7700"),
        group: GroupId(group),
    })
}

fn create(uid: &str, shards: Option<u32>, rf: Option<u32>) -> Command {
    Command::CreateIndex(CreateIndex {
        uid: IndexUid(uid.into()),
        primary_key: None,
        shards,
        replication_factor: rf,
        created_at_ms: 1,
    })
}

/// Applies a command that must be refused and checks the state did not move.
fn refused(state: &mut ClusterState, cmd: Command) -> CommandError {
    let before = state.clone();
    let err = cmd.apply(state).unwrap_err();
    assert_eq!(*state, before, "a refused command changed the state");
    err
}

/// Two groups of three nodes and an index `m` of 8 shards, one copy per group.
pub(crate) fn cluster_with_index() -> (ClusterState, IndexUid) {
    let mut s = fleet(2, 3);
    create("m", Some(8), Some(1)).apply(&mut s).unwrap();
    (s, IndexUid("m".into()))
}

fn fleet(groups: u32, per_group: u32) -> ClusterState {
    let mut s = ClusterState::default();
    for g in 0..groups {
        for n in 0..per_group {
            add_node(&format!("g{g}n{n}"), g).apply(&mut s).unwrap();
        }
    }
    s
}

/// Each shard has RF owners in every group, read and write sets agree, and
/// every node holds some shard.
#[test]
fn create_index_places_rf_copies_per_group() {
    let mut s = fleet(2, 3);
    create("movies", Some(32), Some(2)).apply(&mut s).unwrap();
    let map = &s.shard_maps[&IndexUid("movies".into())];
    assert_eq!(map.shards.len(), 32);
    assert_eq!(map.epoch, Epoch(1));
    for a in &map.shards {
        assert_eq!(a.readers().count(), a.writers().count());
        assert_eq!(a.fence, Fence::Open);
        for g in 0..2 {
            let in_group = a
                .readers()
                .filter(|n| s.nodes[n].group == GroupId(g))
                .count();
            assert_eq!(in_group, 2);
        }
    }
    for n in s.nodes.keys() {
        assert!(map.uses(n), "{n} holds nothing");
    }
}

/// Defaults come from the settings at apply time.
#[test]
fn create_index_uses_default_settings() {
    let mut s = fleet(1, 2);
    Command::SetConfig(SetConfig {
        key: "default_shards".into(),
        value: "8".into(),
        expect_version: None,
        at_ms: 0,
    })
    .apply(&mut s)
    .unwrap();
    create("a", None, None).apply(&mut s).unwrap();
    assert_eq!(s.indexes[&IndexUid("a".into())].shards, 8);
    assert_eq!(s.indexes[&IndexUid("a".into())].replication_factor, 1);
}

/// Bad requests are refused with the right kind of error and change nothing.
#[test]
fn refused_commands_change_nothing() {
    let mut s = fleet(1, 2);
    create("movies", Some(4), None).apply(&mut s).unwrap();
    assert!(matches!(
        refused(&mut s, add_node("g0n0", 0)),
        CommandError::AlreadyExists(_)
    ));
    assert!(matches!(
        refused(&mut s, create("movies", None, None)),
        CommandError::AlreadyExists(_)
    ));
    assert!(matches!(
        refused(&mut s, create("m", Some(0), None)),
        CommandError::InvalidArgument(_)
    ));
    assert!(matches!(
        refused(&mut s, create("m", Some(100_000), None)),
        CommandError::InvalidArgument(_)
    ));
    assert!(matches!(
        refused(&mut s, create("bad uid", None, None)),
        CommandError::InvalidArgument(_)
    ));
    assert!(matches!(
        refused(&mut s, create("m", None, Some(3))),
        CommandError::FailedPrecondition(_)
    ));
    let drain_unknown = Command::SetNodeState(SetNodeState {
        id: NodeId("zz".into()),
        state: NodeState::Draining,
        at_ms: 0,
    });
    assert!(matches!(
        refused(&mut s, drain_unknown),
        CommandError::NotFound(_)
    ));
    let remove_active = Command::RemoveNode(RemoveNode {
        id: NodeId("g0n0".into()),
    });
    assert!(matches!(
        refused(&mut s, remove_active),
        CommandError::FailedPrecondition(_)
    ));
    let back_to_joining = Command::SetNodeState(SetNodeState {
        id: NodeId("g0n0".into()),
        state: NodeState::Joining,
        at_ms: 0,
    });
    assert!(matches!(
        refused(&mut s, back_to_joining),
        CommandError::InvalidArgument(_)
    ));
    let bad_cas = Command::SetConfig(SetConfig {
        key: "lease_ms".into(),
        value: "2000".into(),
        expect_version: Some(7),
        at_ms: 0,
    });
    assert!(matches!(
        refused(&mut s, bad_cas),
        CommandError::FailedPrecondition(_)
    ));
}

/// An index needs an active group to live on.
#[test]
fn create_index_without_nodes_is_refused() {
    let mut s = ClusterState::default();
    assert!(matches!(
        refused(&mut s, create("m", None, None)),
        CommandError::FailedPrecondition(_)
    ));
}

/// A primary key is set once; setting the same key again is accepted.
#[test]
fn primary_key_is_set_once() {
    let mut s = fleet(1, 1);
    create("m", Some(1), None).apply(&mut s).unwrap();
    let set = |pk: &str| {
        Command::SetPrimaryKey(SetPrimaryKey {
            uid: IndexUid("m".into()),
            primary_key: pk.into(),
        })
    };
    set("id").apply(&mut s).unwrap();
    set("id").apply(&mut s).unwrap();
    assert!(matches!(
        refused(&mut s, set("other")),
        CommandError::FailedPrecondition(_)
    ));
    assert!(matches!(
        refused(&mut s, set("_miroir_shard")),
        CommandError::InvalidArgument(_)
    ));
}

/// A node that holds shards cannot be removed even when drained; a node that
/// holds none can, and an emptied group disappears with it.
#[test]
fn remove_node_rules() {
    let mut s = fleet(1, 1);
    add_node("spare", 5).apply(&mut s).unwrap();
    create("m", Some(2), None).apply(&mut s).unwrap();
    // Groups are all active here because both existed before the index.
    let drain = |id: &str| {
        Command::SetNodeState(SetNodeState {
            id: NodeId(id.into()),
            state: NodeState::Draining,
            at_ms: 0,
        })
    };
    drain("g0n0").apply(&mut s).unwrap();
    let rm = |id: &str| {
        Command::RemoveNode(RemoveNode {
            id: NodeId(id.into()),
        })
    };
    assert!(matches!(
        refused(&mut s, rm("g0n0")),
        CommandError::FailedPrecondition(_)
    ));
    Command::DeleteIndex(DeleteIndex {
        uid: IndexUid("m".into()),
    })
    .apply(&mut s)
    .unwrap();
    rm("g0n0").apply(&mut s).unwrap();
    assert!(!s.groups.contains_key(&GroupId(0)));
}

/// Nodes added once data exists wait in `joining` (a migration fills them).
#[test]
fn late_nodes_join() {
    let mut s = fleet(1, 1);
    create("m", Some(2), None).apply(&mut s).unwrap();
    add_node("late", 0).apply(&mut s).unwrap();
    assert_eq!(s.nodes[&NodeId("late".into())].state, NodeState::Joining);
    add_node("g9", 9).apply(&mut s).unwrap();
    assert_eq!(s.groups[&GroupId(9)].state, GroupState::Initializing);
}

/// Epochs never repeat across indexes.
#[test]
fn epochs_increase() {
    let mut s = fleet(1, 1);
    create("a", Some(1), None).apply(&mut s).unwrap();
    create("b", Some(1), None).apply(&mut s).unwrap();
    let ea = s.shard_maps[&IndexUid("a".into())].epoch;
    let eb = s.shard_maps[&IndexUid("b".into())].epoch;
    assert!(eb > ea);
}

/// The whole state survives a JSON round trip (snapshots rely on it).
#[test]
fn state_round_trips_through_json() {
    let mut s = fleet(2, 2);
    create("a", Some(4), Some(2)).apply(&mut s).unwrap();
    Command::AllocateTaskIds(AllocateTaskIds {
        router: "r1".into(),
        count: 5,
    })
    .apply(&mut s)
    .unwrap();
    let json = serde_json::to_vec(&s).unwrap();
    let back: ClusterState = serde_json::from_slice(&json).unwrap();
    assert_eq!(s, back);
}

/// A batch applies its commands in order, each with its own result, and
/// settings changed in one batch still get distinct versions.
#[test]
fn batch_applies_in_order_with_distinct_versions() {
    let mut s = fleet(1, 1);
    let set = |v: &str, e: Option<u64>| {
        Command::SetConfig(SetConfig {
            key: "user.k".into(),
            value: v.into(),
            expect_version: e,
            at_ms: 0,
        })
    };
    let batch = Command::Batch(vec![
        set("a", Some(0)),
        set("b", Some(0)),
        set("c", None),
        add_node("g0n0", 0),
    ]);
    let CommandResponse::Batch(results) = batch.apply(&mut s).unwrap() else {
        panic!("not a batch response")
    };
    assert!(results[0].is_ok());
    assert!(
        matches!(results[1], Err(CommandError::FailedPrecondition(_))),
        "a stale CAS inside a batch passed"
    );
    assert!(results[2].is_ok());
    assert!(matches!(results[3], Err(CommandError::AlreadyExists(_))));
    let a = match &results[0] {
        Ok(CommandResponse::Setting { setting, .. }) => setting.version,
        _ => unreachable!(),
    };
    let c = match &results[2] {
        Ok(CommandResponse::Setting { setting, .. }) => setting.version,
        _ => unreachable!(),
    };
    assert!(c > a);
    assert_eq!(s.settings.get("user.k").unwrap().value, "c");
    assert!(Command::Batch(vec![Command::Batch(vec![])])
        .validate()
        .is_err());
}
