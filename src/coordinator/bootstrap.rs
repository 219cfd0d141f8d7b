//! First start: exactly one member initializes the cluster, and the first
//! leader names it.

use std::collections::BTreeMap;
use std::time::Duration;

use openraft::BasicNode;
use xxhash_rust::xxh3::xxh3_64;

use super::app::App;
use super::typ::CoordinatorId;
use crate::pb::v1::MemberInfoRequest;
use crate::state::commands::InitCluster;
use crate::state::Command;

/// Initializes Raft if this member has never had state, is the lowest id of
/// the initial peers, and no reachable peer already has state (which would
/// mean this member lost its disk and must rejoin, not start a new history).
pub async fn maybe_initialize(app: &App, peers: &BTreeMap<CoordinatorId, String>, had_state: bool) {
    if had_state {
        tracing::info!("existing Raft state found: rejoining the cluster");
        return;
    }
    if peers.keys().next() != Some(&app.id) {
        tracing::info!("waiting for the lowest-id peer to initialize the cluster");
        return;
    }
    for (&id, addr) in peers.iter().filter(|(id, _)| **id != app.id) {
        let Ok(mut client) = app.peers.client(id, addr) else {
            continue;
        };
        let mut req = tonic::Request::new(MemberInfoRequest {});
        req.set_timeout(Duration::from_secs(1));
        app.peers.dialer().auth.apply(&mut req);
        if let Ok(info) = client.member_info(req).await {
            if info.into_inner().initialized {
                tracing::warn!(
                    peer = id,
                    "a peer already has cluster state: not initializing, waiting to be caught up"
                );
                return;
            }
        }
    }
    let members: BTreeMap<CoordinatorId, BasicNode> = peers
        .iter()
        .map(|(id, a)| (*id, BasicNode::new(a.clone())))
        .collect();
    match app.raft.initialize(members).await {
        Ok(()) => tracing::info!(voters = ?peers.keys().collect::<Vec<_>>(), "cluster initialized"),
        Err(e) => tracing::info!(error = %e, "not initializing"),
    }
}

/// While this member leads a cluster that has no id yet, commits one.
pub async fn name_cluster_when_leader(app: App, shutdown: tokio_util::sync::CancellationToken) {
    let mut metrics = app.raft.metrics();
    loop {
        let leads = metrics.borrow_and_update().current_leader == Some(app.id);
        if leads && app.state.read(|s| s.cluster_id.is_none()) {
            let cluster_id = new_cluster_id(app.id);
            match app
                .propose(Command::InitCluster(InitCluster {
                    cluster_id: cluster_id.clone(),
                }))
                .await
            {
                Ok(_) => tracing::info!(%cluster_id, "cluster named"),
                Err(e) => tracing::debug!(error = %e, "cluster not named by this member"),
            }
        }
        tokio::select! {
            r = metrics.changed() => if r.is_err() { return },
            _ = shutdown.cancelled() => return,
        }
    }
}

fn new_cluster_id(me: CoordinatorId) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let seed = format!("{nanos}-{}-{me}", std::process::id());
    format!("{:016x}", xxh3_64(seed.as_bytes()))
}
