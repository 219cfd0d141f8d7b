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
