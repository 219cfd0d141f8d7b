//! The coordinator's application layer: proposes commands (forwarding them to
//! the leader when needed), serves linearizable reads, and changes membership.
//! The gRPC services are thin wrappers around this.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use openraft::error::RaftError;
use openraft::{BasicNode, ChangeMembers};
use serde::{Deserialize, Serialize};

use super::error::AppError;
use super::network::Peers;
use super::proposer::Proposer;
use super::store::{LogStore, SharedState};
use super::typ::{CoordinatorId, Raft};
use crate::pb::v1::{MemberInfoReply, RaftPayload, ReadIndexRequest, TimeoutNowRequest};
use crate::state::{ClusterState, Command, CommandResponse};

/// How long a request may wait for a leader before the caller is told to retry.
const LEADER_WAIT: Duration = Duration::from_secs(10);

/// Work only the leader may do; a follower forwards it over `RaftTransport/Forward`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum LeaderRequest {
    Command(Command),
    AddMember {
        id: CoordinatorId,
        address: String,
        learner_only: bool,
    },
    RemoveMember {
        id: CoordinatorId,
    },
    /// A router's lease on the epoch it has applied.
    GrantLease {
        router: String,
        /// The router process asking (see `LeaseRequest.instance`).
        instance: String,
        epoch: u64,
    },
    /// Waits until no router can still write under an epoch before `epoch`.
    AwaitRouters {
        epoch: u64,
        timeout_ms: Option<u64>,
    },
    TransferLeader {
        to: CoordinatorId,
    },
}

#[derive(Clone)]
pub struct App {
    pub id: CoordinatorId,
    pub raft: Raft,
    pub state: SharedState,
    pub peers: Peers,
    pub logs: LogStore,
    pub proposer: Proposer,
    /// Router leases, meaningful while this member leads.
    pub leases: std::sync::Arc<super::leases::LeaseTable>,
    /// Confirmation rounds shared by this member's shard-map watches.
    pub confirmations: std::sync::Arc<super::confirm::Rounds>,
    /// The Meilisearch nodes, as the leader's workflows reach them (with the nodes' key).
    pub nodes: crate::fleet::NodeClient,
    /// Test-only switches; all off in a real deployment.
    pub unsafe_switches: super::config::UnsafeSwitches,
}

impl App {
    /// Validates and commits a command, wherever the leader is.
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, AppError> {
        cmd.validate()?;
        let started = Instant::now();
        let res = self.on_leader(LeaderRequest::Command(cmd)).await;
        metrics::histogram!("miroir_coordinator_commit_seconds")
            .record(started.elapsed().as_secs_f64());
        res?.ok_or_else(|| AppError::Internal("a command produced no response".into()))
    }

    /// Runs `req` on the leader: here if this member leads, else forwarded.
    pub async fn on_leader(&self, req: LeaderRequest) -> Result<Option<CommandResponse>, AppError> {
        let deadline = Instant::now() + LEADER_WAIT;
        let mut backoff = Duration::from_millis(20);
        loop {
            let attempt = match self.execute_local(req.clone()).await {
                Err(AppError::NotLeader {
                    leader: Some((id, addr)),
                }) if id != self.id => self.forward(id, &addr, &req).await,
                other => other,
            };
            match attempt {
                Err(AppError::NotLeader { .. }) | Err(AppError::Unreachable(_))
                    if Instant::now() < deadline =>
                {
                    self.wait_for_leader(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_millis(500));
                }
                Err(AppError::NotLeader { .. }) => {
                    return Err(AppError::NoLeader(format!(
                        "no leader answered within {}s; check `miroir-ctl cluster status`",
                        LEADER_WAIT.as_secs()
                    )))
                }
                other => return other,
            }
        }
    }

    async fn wait_for_leader(&self, at_most: Duration) {
        let _ = self
            .raft
            .wait(Some(at_most))
            .metrics(|m| m.current_leader.is_some(), "a leader")
            .await;
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    async fn forward(
        &self,
        leader: CoordinatorId,
        addr: &str,
        req: &LeaderRequest,
    ) -> Result<Option<CommandResponse>, AppError> {
        let json = serde_json::to_vec(req).map_err(|e| AppError::Internal(e.to_string()))?;
        let mut client = self
            .peers
            .client(leader, addr)
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        let mut request = tonic::Request::new(RaftPayload { json });
        request.set_timeout(LEADER_WAIT);
        self.peers.dialer().auth.apply(&mut request);
        let reply = client.forward(request).await.map_err(|s| {
            if undelivered(&s) {
                AppError::Unreachable(format!("leader {leader} at {addr}: {}", s.message()))
            } else {
                AppError::Indeterminate(format!(
                    "leader {leader} did not answer ({}): the request may or may not have been applied; read the state before retrying",
                    s.message()
                ))
            }
        })?;
        serde_json::from_slice::<Result<Option<CommandResponse>, AppError>>(
            &reply.into_inner().json,
        )
        .map_err(|e| AppError::Internal(format!("undecodable reply from leader: {e}")))?
    }

    /// Carries out a leader-only request here, or says who the leader is.
    pub async fn execute_local(
        &self,
        req: LeaderRequest,
    ) -> Result<Option<CommandResponse>, AppError> {
        match req {
            LeaderRequest::Command(cmd) => self.proposer.propose(cmd).await.map(Some),
            LeaderRequest::AddMember {
                id,
                address,
                learner_only,
            } => self
                .add_member(id, address, learner_only)
                .await
                .map(|_| None),
            LeaderRequest::RemoveMember { id } => self.remove_member(id).await.map(|_| None),
            LeaderRequest::TransferLeader { to } => self.transfer_leader(to).await.map(|_| None),
            LeaderRequest::GrantLease {
                router,
                instance,
                epoch,
            } => self.grant_lease(&router, &instance, epoch).await.map(Some),
            LeaderRequest::AwaitRouters { epoch, timeout_ms } => self
                .await_routers(epoch, timeout_ms.map(Duration::from_millis))
                .await
                .map(Some),
        }
    }

    fn membership(&self) -> (BTreeSet<CoordinatorId>, BTreeMap<CoordinatorId, BasicNode>) {
        let m = self.raft.metrics().borrow().membership_config.clone();
        let voters = m.membership().voter_ids().collect();
        let nodes = m
            .membership()
            .nodes()
            .map(|(id, n)| (*id, n.clone()))
            .collect();
        (voters, nodes)
    }

    async fn add_member(
        &self,
        id: CoordinatorId,
        address: String,
        learner_only: bool,
    ) -> Result<(), AppError> {
        self.ensure_leader()?;
        let (voters, nodes) = self.membership();
        match nodes.get(&id) {
            Some(n) if n.addr != address => {
                // Same member, new address (a pod that came back elsewhere).
                let set = BTreeMap::from([(id, BasicNode::new(address.clone()))]);
                self.raft
                    .change_membership(ChangeMembers::SetNodes(set), true)
                    .await
                    .map_err(AppError::from_write_error)?;
            }
            Some(_) => {}
            None => {
                self.raft
                    .add_learner(id, BasicNode::new(address), true)
                    .await
                    .map_err(AppError::from_write_error)?;
            }
        }
        if !learner_only && !voters.contains(&id) {
            self.raft
                .change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])), true)
                .await
                .map_err(AppError::from_write_error)?;
        }
        Ok(())
    }

    async fn remove_member(&self, id: CoordinatorId) -> Result<(), AppError> {
        self.ensure_leader()?;
        let (voters, nodes) = self.membership();
        if !nodes.contains_key(&id) {
            return Err(AppError::Command(crate::state::CommandError::not_found(
                format!(
                    "coordinator {id} is not a member; `miroir-ctl cluster members` lists them"
                ),
            )));
        }
        if voters.contains(&id) {
            if voters.len() == 1 {
                return Err(AppError::Command(crate::state::CommandError::precondition(
                    "cannot remove the last voter: the cluster would have no quorum",
                )));
            }
            self.raft
                .change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])), false)
                .await
                .map_err(AppError::from_write_error)?;
        } else {
            self.raft
                .change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])), false)
                .await
                .map_err(AppError::from_write_error)?;
        }
        Ok(())
    }

    /// Waits until `to` has every entry, then tells it to start an election,
    /// which it wins because its log is as long as ours.
    async fn transfer_leader(&self, to: CoordinatorId) -> Result<(), AppError> {
        self.ensure_leader()?;
        if to == self.id {
            return Ok(());
        }
        let (voters, nodes) = self.membership();
        if !voters.contains(&to) {
            return Err(AppError::Command(crate::state::CommandError::precondition(
                format!("coordinator {to} is not a voter: only a voter can lead"),
            )));
        }
        let addr = nodes[&to].addr.clone();
        let last = self.raft.metrics().borrow().last_log_index;
        self.raft
            .wait(Some(Duration::from_secs(5)))
            .metrics(
                |m| {
                    m.replication
                        .as_ref()
                        .and_then(|r| r.get(&to).cloned().flatten())
                        .map(|l| l.index)
                        >= last
                },
                "target caught up",
            )
            .await
            .map_err(|_| {
                AppError::Unreachable(format!("coordinator {to} did not catch up within 5s"))
            })?;
        let mut client = self
            .peers
            .client(to, &addr)
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        let mut request = tonic::Request::new(TimeoutNowRequest {});
        self.peers.dialer().auth.apply(&mut request);
        client
            .timeout_now(request)
            .await
            .map_err(|s| AppError::Unreachable(format!("coordinator {to}: {}", s.message())))?;
        self.raft
            .wait(Some(Duration::from_secs(5)))
            .metrics(|m| m.current_leader == Some(to), "new leader")
            .await
            .map_err(|_| {
                AppError::Unreachable(format!("coordinator {to} did not take over within 5s"))
            })?;
        Ok(())
    }

    pub(crate) fn ensure_leader(&self) -> Result<(), AppError> {
        let m = self.raft.metrics().borrow().clone();
        if m.current_leader == Some(self.id) {
            return Ok(());
        }
        let leader = m.current_leader.and_then(|l| {
            m.membership_config
                .membership()
                .get_node(&l)
                .map(|n| (l, n.addr.clone()))
        });
        Err(AppError::NotLeader { leader })
    }

    /// Returns once this member has applied everything committed before the
    /// call (Raft's ReadIndex: confirmed by the leader with a quorum).
    pub async fn read_barrier(&self) -> Result<(), AppError> {
        let deadline = Instant::now() + LEADER_WAIT;
        loop {
            let index = match self.raft.get_read_log_id().await {
                Ok((read, _)) => Ok(read.map_or(0, |l| l.index)),
                Err(RaftError::APIError(openraft::error::CheckIsLeaderError::ForwardToLeader(
                    f,
                ))) => match (f.leader_id, f.leader_node) {
                    (Some(id), Some(node)) if id != self.id => {
                        self.remote_read_index(id, &node.addr).await
                    }
                    _ => Err(AppError::NotLeader { leader: None }),
                },
                Err(RaftError::APIError(e)) => Err(AppError::Unreachable(e.to_string())),
                Err(RaftError::Fatal(e)) => Err(AppError::Unavailable(e.to_string())),
            };
            match index {
                Ok(i) => {
                    let remaining = deadline.saturating_duration_since(Instant::now());
                    return self
                        .raft
                        .wait(Some(remaining.max(Duration::from_millis(100))))
                        .applied_index_at_least(Some(i), "read index")
                        .await
                        .map(|_| ())
                        .map_err(|e| AppError::Unavailable(format!("could not catch up for a read: {e}")));
                }
                Err(e) if Instant::now() >= deadline => {
                    return Err(AppError::NoLeader(format!(
                        "no leader confirmed a read within {}s ({e}); check `miroir-ctl cluster status`",
                        LEADER_WAIT.as_secs()
                    )))
                }
                Err(_) => self.wait_for_leader(Duration::from_millis(200)).await,
            }
        }
    }

    async fn remote_read_index(&self, leader: CoordinatorId, addr: &str) -> Result<u64, AppError> {
        let mut client = self
            .peers
            .client(leader, addr)
            .map_err(|e| AppError::Unreachable(e.to_string()))?;
        let mut request = tonic::Request::new(ReadIndexRequest {});
        request.set_timeout(Duration::from_secs(3));
        self.peers.dialer().auth.apply(&mut request);
        client
            .read_index(request)
            .await
            .map(|r| r.into_inner().read_index)
            .map_err(|s| AppError::Unreachable(s.message().to_string()))
    }

    /// A linearizable read of the replicated state.
    pub async fn read<T>(&self, f: impl FnOnce(&ClusterState) -> T) -> Result<T, AppError> {
        if !self.unsafe_switches.local_reads {
            self.read_barrier().await?;
        }
        Ok(self.state.read(f))
    }

    /// This member's own view, for status and bootstrap probes.
    pub async fn member_info(&self) -> MemberInfoReply {
        let m = self.raft.metrics().borrow().clone();
        let committed = self
            .raft
            .with_raft_state(|st| st.committed)
            .await
            .ok()
            .flatten();
        MemberInfoReply {
            id: self.id,
            initialized: self.logs.has_state().unwrap_or(true),
            state: server_state_name(m.state).to_string(),
            term: m.current_term,
            leader_id: m.current_leader,
            last_log_index: m.last_log_index,
            applied_index: m.last_applied.map(|l| l.index),
            snapshot_index: m.snapshot.map(|l| l.index),
            purged_index: m.purged.map(|l| l.index),
            cluster_id: self
                .state
                .read(|s| s.cluster_id.clone())
                .unwrap_or_default(),
            committed_index: committed.map(|l| l.index),
        }
    }
}

/// Whether a failed call certainly never reached the peer (so a retry
/// cannot apply a command twice): only a refused or failed connection.
fn undelivered(s: &tonic::Status) -> bool {
    s.code() == tonic::Code::Unavailable && s.message().contains("connect")
}

pub fn server_state_name(s: openraft::ServerState) -> &'static str {
    match s {
        openraft::ServerState::Leader => "leader",
        openraft::ServerState::Follower => "follower",
        openraft::ServerState::Candidate => "candidate",
        openraft::ServerState::Learner => "learner",
        openraft::ServerState::Shutdown => "shutdown",
    }
}
