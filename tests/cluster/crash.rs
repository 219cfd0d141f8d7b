use miroir::pb::v1::*;

use crate::util::*;

/// kill -9 of the leader while writes stream in through every member: a new
/// leader takes over, writes resume, and every acknowledged write survives,
/// on every member, including the killed one once it is back.
#[tokio::test(flavor = "multi_thread")]
async fn leader_kill_loses_no_acknowledged_write() {
    let mut c = Cluster::start(3);
    let old = c.leader().await;
    let bg = BackgroundWriter::start((1..=3).map(|id| c.addr(id)).collect(), "k");
    bg.wait_for_more(30).await;
    c.kill(old);
    bg.wait_for_more(30).await;
    let acked = bg.stop().await;
    let new = c.leader().await;
    assert_ne!(new, old);
    for id in c.running() {
        assert_all_present(&c, id, &acked).await;
    }
    c.spawn(old);
    let mut w = Writer::new("after");
    w.write_acked(&c, 5).await;
    assert_all_present(&c, old, &acked).await;
    assert_all_present(&c, old, &w.acked).await;
}

/// Stopping all three members and starting them again restores the same state
/// (from snapshot plus log replay) and does not bootstrap a second cluster.
#[tokio::test(flavor = "multi_thread")]
async fn full_restart_restores_state_without_rebootstrap() {
    // Frequent snapshots, so that recovery uses a snapshot and a log tail.
    let mut c = Cluster::start_with(3, &["--snapshot-every", "10", "--keep-logs", "2"], None);
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    for (i, g) in [(0, 0), (1, 0), (2, 1), (3, 1)] {
        let req = AddNodeRequest {
            id: format!("meili-{i}"),
            address: format!("http://10.0.0.{i}:7700"),
            group: g,
        };
        a.add_node(c.req(req)).await.unwrap();
    }
    let req = CreateIndexRequest {
        uid: "movies".into(),
        primary_key: Some("id".into()),
        shards: 16,
        replication_factor: 2,
    };
    a.create_index(c.req(req)).await.unwrap();
    let mut w = Writer::new("r");
    w.write_acked(&c, 25).await;
    let before = observable_state(&c, leader).await;
    let cluster_id = c.status(leader).await.unwrap().cluster_id;
    let snapshotted = c
        .status(leader)
        .await
        .unwrap()
        .members
        .iter()
        .all(|m| m.snapshot_index.is_some());
    assert!(
        snapshotted,
        "expected every member to have taken a snapshot"
    );

    for id in 1..=3 {
        c.kill(id);
    }
    for id in 1..=3 {
        c.spawn(id);
    }
    let leader = c.leader().await;
    for id in 1..=3 {
        assert_eq!(
            observable_state(&c, id).await,
            before,
            "member {id} after restart"
        );
        assert_eq!(
            c.status(id).await.unwrap().cluster_id,
            cluster_id,
            "a second bootstrap happened"
        );
    }
    assert_all_present(&c, leader, &w.acked).await;
    assert_eq!(
        c.log_count("cluster initialized"),
        1,
        "the cluster was initialized more than once"
    );
}

/// The nodes' key given to the coordinators stays in their memory: after
/// commands, snapshots and a restart, it is in no file of any member's data
/// directory and in no log line.
#[tokio::test(flavor = "multi_thread")]
async fn node_key_is_never_written_down() {
    const SECRET: &str = "node-key-that-must-stay-in-memory";
    let args = [
        "--node-key",
        SECRET,
        "--snapshot-every",
        "5",
        "--keep-logs",
        "1",
    ];
    let mut c = Cluster::start_with(3, &args, None);
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    for i in 0..8 {
        let req = AddNodeRequest {
            id: format!("meili-{i}"),
            address: format!("http://10.0.0.{i}:7700"),
            group: i % 2,
        };
        a.add_node(c.req(req)).await.unwrap();
    }
    for id in 1..=3 {
        c.kill(id);
        c.spawn(id);
    }
    c.leader().await;
    for id in 1..=3 {
        c.kill(id);
    }
    let mut files = 0;
    let mut stack = vec![c.dir.path().to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path).unwrap();
            files += 1;
            assert!(
                !bytes.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()),
                "the node key is written in {}",
                path.display()
            );
        }
    }
    assert!(files > 6, "only {files} files looked at");
}
