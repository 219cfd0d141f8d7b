//! Cluster status, shared by the Admin service's replies.

use std::time::Duration;

use crate::coordinator::app::App;
use crate::pb::v1::{ClusterStatusResponse, Member, MemberInfoReply, MemberInfoRequest};

/// Asks every member for its own view (in parallel, 1 s each) and combines
/// them with this member's membership and, when it leads, replication state.
pub async fn cluster_status(app: &App) -> ClusterStatusResponse {
    let metrics = app.raft.metrics().borrow().clone();
    let membership = metrics.membership_config.membership().clone();
    let voters: Vec<u64> = membership.voter_ids().collect();
    let replication = metrics.replication.clone().unwrap_or_default();
    let members = membership.nodes().map(|(id, node)| {
        let (id, addr) = (*id, node.addr.clone());
        let role = if voters.contains(&id) {
            "voter"
        } else {
            "learner"
        };
        let matched = replication.get(&id).cloned().flatten().map(|l| l.index);
        async move {
            let info = if id == app.id {
                Some(app.member_info().await)
            } else {
                remote_info(app, id, &addr).await
            };
            member(id, addr, role, matched, info)
        }
    });
    let members = futures::future::join_all(members).await;
    let leader = members.iter().find(|m| m.state == "leader");
    ClusterStatusResponse {
        cluster_id: app.state.read(|s| s.cluster_id.clone()).unwrap_or_default(),
        leader_id: leader.map(|m| m.id).or(metrics.current_leader),
        term: members
            .iter()
            .map(|m| m.term)
            .max()
            .unwrap_or(metrics.current_term),
        commit_index: leader.and_then(|m| m.committed_index),
        members,
    }
}

async fn remote_info(app: &App, id: u64, addr: &str) -> Option<MemberInfoReply> {
    let mut client = app.peers.client(id, addr).ok()?;
    let mut req = tonic::Request::new(MemberInfoRequest {});
    req.set_timeout(Duration::from_secs(1));
    app.peers.dialer().auth.apply(&mut req);
    client.member_info(req).await.ok().map(|r| r.into_inner())
}

fn member(
    id: u64,
    address: String,
    role: &str,
    matched: Option<u64>,
    info: Option<MemberInfoReply>,
) -> Member {
    let reachable = info.is_some();
    let info = info.unwrap_or_default();
    Member {
        id,
        address,
        role: role.to_string(),
        reachable,
        state: if reachable {
            info.state
        } else {
            "unreachable".to_string()
        },
        term: info.term,
        last_log_index: info.last_log_index,
        applied_index: info.applied_index,
        snapshot_index: info.snapshot_index,
        purged_index: info.purged_index,
        matched_index: matched,
        committed_index: info.committed_index,
    }
}
