use std::time::Duration;

use miroir::pb::v1::*;

use crate::util::*;

async fn add_nodes(c: &Cluster, via: u64, ids: &[&str]) {
    let mut a = c.admin(via).await;
    for id in ids {
        let req = AddNodeRequest {
            id: id.to_string(),
            address: format!("http://{id}.meili:7700"),
            group: 0,
        };
        a.add_node(c.req(req)).await.unwrap();
    }
}

async fn create(c: &Cluster, via: u64, uid: &str) {
    let mut a = c.admin(via).await;
    let req = CreateIndexRequest {
        uid: uid.into(),
        primary_key: None,
        shards: 4,
        replication_factor: 1,
    };
    a.create_index(c.req(req)).await.unwrap();
}

/// The next event that changes something; heartbeats (events that change
/// nothing) are skipped, but one must come every second or so.
async fn next_change(stream: &mut tonic::Streaming<ShardMapEvent>) -> ShardMapEvent {
    loop {
        let ev = tokio::time::timeout(Duration::from_secs(5), stream.message())
            .await
            .expect("a heartbeat at least every few seconds")
            .unwrap()
            .unwrap();
        if ev.full || !ev.changed.is_empty() || !ev.deleted.is_empty() || !ev.nodes.is_empty() {
            return ev;
        }
    }
}

/// A watch only stays open while its coordinator is in touch with a quorum:
/// once the other members are paused, the watch on the last one ends with
/// Unavailable, so that a router moves on instead of following a map that
/// no longer moves.
#[tokio::test(flavor = "multi_thread")]
async fn a_watch_ends_when_its_coordinator_loses_the_quorum() {
    let mut c = Cluster::start(3);
    let leader = c.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let mut r = c.router(follower).await;
    let req = c.req(WatchShardMapsRequest {
        router_id: "test".into(),
    });
    let mut stream = r.watch_shard_maps(req).await.unwrap().into_inner();
    assert!(stream.message().await.unwrap().unwrap().full);
    // Alive and current: heartbeats come while nothing changes.
    let beat = tokio::time::timeout(Duration::from_secs(5), stream.message())
        .await
        .expect("a heartbeat")
        .unwrap()
        .unwrap();
    assert!(!beat.full && beat.changed.is_empty() && beat.deleted.is_empty());
    for id in (1..=3).filter(|id| *id != follower) {
        c.pause(id);
    }
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(30), stream.message()).await {
            Ok(Ok(Some(_))) => continue,
            other => break other,
        }
    };
    let status = end.expect("the watch ends").expect_err("with an error");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    for id in (1..=3).filter(|id| *id != follower) {
        c.resume(id);
    }
}

/// The shard-map watch sends the whole state first, then only what changed:
/// new maps with higher epochs, deleted indexes, and the node list when it changes.
#[tokio::test(flavor = "multi_thread")]
async fn shard_map_watch_streams_changes() {
    let c = Cluster::start(3);
    let leader = c.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    add_nodes(&c, leader, &["n0", "n1"]).await;
    create(&c, leader, "a").await;

    let mut r = c.router(follower).await;
    let req = c.req(WatchShardMapsRequest {
        router_id: "test".into(),
    });
    let mut stream = r.watch_shard_maps(req).await.unwrap().into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert!(first.full);
    assert_eq!(
        first
            .changed
            .iter()
            .map(|m| m.index_uid.as_str())
            .collect::<Vec<_>>(),
        vec!["a"]
    );
    assert_eq!(first.nodes.len(), 2);
    let epoch_a = first.changed[0].epoch;

    create(&c, leader, "b").await;
    let ev = next_change(&mut stream).await;
    assert!(!ev.full);
    assert_eq!(ev.changed.len(), 1);
    assert_eq!(ev.changed[0].index_uid, "b");
    assert!(ev.changed[0].epoch > epoch_a, "epochs must grow");
    assert!(
        ev.nodes.is_empty(),
        "nodes resent without a topology change"
    );
    assert!(ev.applied_index > first.applied_index);

    let mut a = c.admin(leader).await;
    a.delete_index(c.req(IndexRef { uid: "a".into() }))
        .await
        .unwrap();
    // The deletion is a workflow: the index is fenced first (a newer map),
    // then forgotten.
    let ev = next_change(&mut stream).await;
    assert_eq!(ev.changed.len(), 1, "{ev:?}");
    assert!(ev.changed[0].shards.iter().all(|s| s.fence == "fenced"));
    let ev = loop {
        let ev = next_change(&mut stream).await;
        if !ev.deleted.is_empty() {
            break ev;
        }
    };
    assert_eq!(ev.deleted, vec!["a".to_string()]);
    assert!(ev.changed.is_empty());

    add_nodes(&c, leader, &["n2"]).await;
    let ev = next_change(&mut stream).await;
    assert_eq!(ev.nodes.len(), 3);
}

/// Blocks of task uids taken at the same time through different members never
/// overlap, and later blocks start after earlier ones.
#[tokio::test(flavor = "multi_thread")]
async fn task_id_blocks_are_disjoint_and_increasing() {
    let c = Cluster::start(3);
    c.leader().await;
    let mut handles = vec![];
    for i in 0..30u64 {
        let mut r = c.router(1 + i % 3).await;
        let req = c.req(AllocateTaskIdsRequest {
            router_id: format!("r{}", i % 3),
            count: 10,
        });
        handles.push(tokio::spawn(async move {
            r.allocate_task_ids(req).await.unwrap().into_inner()
        }));
    }
    let mut blocks = vec![];
    for h in handles {
        blocks.push(h.await.unwrap());
    }
    blocks.sort_by_key(|b| b.first);
    for w in blocks.windows(2) {
        assert!(
            w[0].first + u64::from(w[0].count) <= w[1].first,
            "overlapping blocks {w:?}"
        );
    }
    let last = blocks.last().unwrap().first;
    let mut r = c.router(2).await;
    let next = r
        .allocate_task_ids(c.req(AllocateTaskIdsRequest {
            router_id: "late".into(),
            count: 1,
        }))
        .await
        .unwrap();
    assert!(next.into_inner().first >= last + 10);
}

fn task(uid: u64, index: &str, status: &str) -> TaskRecord {
    TaskRecord {
        uid,
        index_uid: index.into(),
        kind: "documentAdditionOrUpdate".into(),
        status: status.into(),
        node_tasks: vec![NodeTask {
            node: "n0".into(),
            task_uid: uid + 100,
            status: status.into(),
        }],
        details: "{}".into(),
        ..Default::default()
    }
}

/// Task records committed in one batch read back from any member, filter by
/// index and status, page newest first, and never move back from a final status.
#[tokio::test(flavor = "multi_thread")]
async fn task_records_round_trip() {
    let c = Cluster::start(3);
    c.leader().await;
    let mut r = c.router(3).await;
    let block = r
        .allocate_task_ids(c.req(AllocateTaskIdsRequest {
            router_id: "r".into(),
            count: 6,
        }))
        .await
        .unwrap()
        .into_inner();
    let f = block.first;
    let tasks = vec![
        task(f, "movies", "succeeded"),
        task(f + 1, "movies", "enqueued"),
        task(f + 2, "books", "failed"),
        task(f + 3, "movies", "succeeded"),
        task(f + 4, "books", "succeeded"),
    ];
    let n = r
        .commit_tasks(c.req(CommitTasksRequest { tasks }))
        .await
        .unwrap()
        .into_inner()
        .committed;
    assert_eq!(n, 5);

    let mut r1 = c.router(1).await;
    let t = r1
        .get_task(c.req(GetTaskRequest { uid: f + 2 }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (
            t.index_uid.as_str(),
            t.status.as_str(),
            t.node_tasks[0].task_uid
        ),
        ("books", "failed", f + 102)
    );

    let list = |from, limit, index: &[&str], status: &[&str]| ListTasksRequest {
        from,
        limit,
        index_uids: index.iter().map(|s| s.to_string()).collect(),
        statuses: status.iter().map(|s| s.to_string()).collect(),
    };
    let page = r1
        .list_tasks(c.req(list(0, 2, &["movies"], &["succeeded"])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.tasks.iter().map(|t| t.uid).collect::<Vec<_>>(),
        vec![f + 3, f]
    );
    assert_eq!(page.total, 2);
    assert_eq!(page.next, None);
    let page = r1
        .list_tasks(c.req(list(0, 2, &[], &[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        page.tasks.iter().map(|t| t.uid).collect::<Vec<_>>(),
        vec![f + 4, f + 3]
    );
    assert_eq!(page.next, Some(f + 2));
    let page = r1
        .list_tasks(c.req(list(f + 2, 10, &[], &[])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.tasks.len(), 3);

    let reopen = r1
        .commit_tasks(c.req(CommitTasksRequest {
            tasks: vec![task(f, "movies", "enqueued")],
        }))
        .await;
    assert_eq!(reopen.unwrap_err().code(), tonic::Code::FailedPrecondition);
    let finish = r1
        .commit_tasks(c.req(CommitTasksRequest {
            tasks: vec![task(f + 1, "movies", "succeeded")],
        }))
        .await;
    assert!(finish.is_ok());
}

/// Asks `via` for a lease under router id `router` for process `instance`.
async fn lease(c: &Cluster, via: u64, router: &str, instance: &str) -> Result<(), tonic::Code> {
    let req = LeaseRequest {
        router_id: router.into(),
        epoch: 0,
        instance: instance.into(),
    };
    let mut r = c.router(via).await;
    r.acquire_lease(c.req(req))
        .await
        .map(|_| ())
        .map_err(|s| s.code())
}

/// Hands leadership from `from` to another member; the new leader.
async fn move_leadership(c: &Cluster, from: u64) -> u64 {
    let next = (1..=3).find(|id| *id != from).unwrap();
    let mut a = c.admin(from).await;
    a.transfer_leader(c.req(TransferLeaderRequest { to: next }))
        .await
        .unwrap();
    assert_eq!(c.leader().await, next);
    next
}

/// Two processes under one router id, with a leader change between their
/// requests: what the second one is told by the new leader.
async fn second_process_after_a_leader_change(extra: &[&str]) -> Result<(), tonic::Code> {
    let c = Cluster::start_with(3, extra, None);
    let first = c.leader().await;
    lease(&c, first, "dup", "process-a").await.unwrap();
    let next = move_leadership(&c, first).await;
    let second = lease(&c, next, "dup", "process-b").await;
    // The process that holds the id keeps it under the new leader.
    lease(&c, next, "dup", "process-a").await.unwrap();
    second
}

/// A router id names one router: a second process asking for a lease under a
/// live router's id is refused, also by a leader elected since the first
/// process got its lease; with the check switched off, it is not.
#[tokio::test(flavor = "multi_thread")]
async fn a_live_router_id_is_refused_to_a_second_process_by_any_leader() {
    assert_eq!(
        second_process_after_a_leader_change(&[]).await,
        Err(tonic::Code::AlreadyExists)
    );
    assert_eq!(
        second_process_after_a_leader_change(&["--unsafe-shared-router-ids"]).await,
        Ok(())
    );
}

/// Once the process holding an id stops renewing, its lease runs out and
/// another process (a restarted router) gets the id.
#[tokio::test(flavor = "multi_thread")]
async fn a_router_id_is_free_again_once_its_lease_ran_out() {
    let c = Cluster::start(3);
    let leader = c.leader().await;
    lease(&c, leader, "restarted", "before").await.unwrap();
    assert_eq!(
        lease(&c, leader, "restarted", "after").await,
        Err(tonic::Code::AlreadyExists)
    );
    eventually("the old lease to run out", || async {
        lease(&c, leader, "restarted", "after").await.ok()
    })
    .await;
    assert_eq!(
        lease(&c, leader, "restarted", "before").await,
        Err(tonic::Code::AlreadyExists),
        "the old process must not take its id back while the new one holds it"
    );
}

async fn set_lease_ms(c: &Cluster, via: u64, ms: u64) {
    let req = SetConfigRequest {
        key: "lease_ms".into(),
        value: ms.to_string(),
        expect_version: None,
    };
    c.admin(via).await.set_config(c.req(req)).await.unwrap();
}

/// Lowering `lease_ms` does not shorten what a new leader owes to leases
/// granted under the old value: with a 30 s lease granted, then `lease_ms`
/// lowered to 1 s and leadership moved, the new leader still counts the
/// grant as possibly live after 2 s (it would not, were 1 s all it owed).
#[tokio::test(flavor = "multi_thread")]
async fn lowering_the_lease_does_not_shorten_what_a_new_leader_owes() {
    let c = Cluster::start(3);
    let first = c.leader().await;
    set_lease_ms(&c, first, 30_000).await;
    lease(&c, first, "long", "process").await.unwrap();
    set_lease_ms(&c, first, 1_000).await;
    let next = move_leadership(&c, first).await;
    let wait = AwaitRoutersRequest {
        epoch: 1,
        timeout_ms: 2_000,
    };
    let r = c.router(next).await.await_routers(c.req(wait)).await;
    let status = r.expect_err("the 30 s lease was forgotten");
    assert_eq!(status.code(), tonic::Code::Unavailable, "{status:?}");
    assert!(status.message().contains("previous leader"), "{status:?}");
}
