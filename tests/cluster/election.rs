use miroir::pb::v1::*;

use crate::util::*;

/// Three fresh members elect exactly one leader, and all agree on it.
#[tokio::test(flavor = "multi_thread")]
async fn three_members_elect_one_leader() {
    let c = Cluster::start(3);
    let leader = c.leader().await;
    for id in 1..=3 {
        let s = c.status(id).await.unwrap();
        let leaders: Vec<u64> = s
            .members
            .iter()
            .filter(|m| m.state == "leader")
            .map(|m| m.id)
            .collect();
        assert_eq!(leaders, vec![leader], "member {id} sees {leaders:?}");
        assert_eq!(s.members.iter().filter(|m| m.role == "voter").count(), 3);
    }
    // The first leader names the cluster, once.
    let id = eventually("a cluster id", || async {
        let s = c.status(leader).await?;
        (!s.cluster_id.is_empty()).then_some(s.cluster_id)
    })
    .await;
    for m in 1..=3 {
        let s = eventually("the id everywhere", || async {
            c.status(m).await.filter(|s| !s.cluster_id.is_empty())
        })
        .await;
        assert_eq!(s.cluster_id, id);
    }
}

/// A write sent to a follower is forwarded, committed, and visible on every member.
#[tokio::test(flavor = "multi_thread")]
async fn write_to_follower_commits_everywhere() {
    let c = Cluster::start(3);
    let leader = c.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let mut admin = c.admin(follower).await;
    let req = AddNodeRequest {
        id: "meili-0".into(),
        address: "http://127.0.0.1:7700".into(),
        group: 0,
    };
    let node = admin
        .add_node(c.req(req))
        .await
        .expect("write through a follower")
        .into_inner();
    assert_eq!(node.state, "active");
    for id in 1..=3 {
        let mut a = c.admin(id).await;
        let nodes = a
            .list_nodes(c.req(ListNodesRequest {}))
            .await
            .unwrap()
            .into_inner()
            .nodes;
        assert_eq!(
            nodes.iter().map(|n| n.id.as_str()).collect::<Vec<_>>(),
            vec!["meili-0"],
            "member {id}"
        );
    }
    // The replicated entry is applied on every member, not just read through the leader.
    let commit = c.status(leader).await.unwrap().commit_index.unwrap();
    for id in 1..=3 {
        c.wait_applied(id, commit).await;
    }
}

/// Each member exports its Raft progress as Prometheus metrics, and exactly
/// one member reports itself leader.
#[tokio::test(flavor = "multi_thread")]
async fn members_export_prometheus_metrics() {
    let c = Cluster::start(3);
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    let req = SetConfigRequest {
        key: "user.m".into(),
        value: "1".into(),
        expect_version: None,
    };
    a.set_config(c.req(req)).await.unwrap();
    let value = |text: &str, name: &str| -> Option<f64> {
        text.lines()
            .find(|l| l.starts_with(name) && l[name.len()..].starts_with(' '))?
            .rsplit(' ')
            .next()?
            .parse()
            .ok()
    };
    let mut leaders = 0.0;
    for id in 1..=3 {
        let text = eventually("metrics with an applied entry", || async {
            scrape(&c, id)
                .filter(|t| value(t, "miroir_coordinator_applied_index").unwrap_or(0.0) > 0.0)
        })
        .await;
        for name in [
            "miroir_coordinator_term",
            "miroir_coordinator_last_log_index",
            "miroir_coordinator_snapshot_index",
            "miroir_coordinator_apply_seconds_count",
        ] {
            assert!(value(&text, name).is_some(), "member {id} lacks {name}");
        }
        leaders += value(&text, "miroir_coordinator_is_leader").unwrap();
    }
    assert_eq!(leaders, 1.0);
    let text = scrape(&c, leader).unwrap();
    assert!(value(&text, "miroir_coordinator_commit_seconds_count").unwrap() >= 1.0);
    assert!(value(&text, "miroir_coordinator_batch_commands_count").unwrap() >= 1.0);
}
