//! Outbound peer traffic: openraft's RPCs to other coordinators over gRPC,
//! one reused channel per peer, failures classified at the transport.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use openraft::error::{InstallSnapshotError, NetworkError, RemoteError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::Channel;

use crate::control::Dialer;
use crate::coordinator::typ::{CoordinatorId, RaftError, RpcError, TypeConfig};
use crate::pb::v1::raft_transport_client::RaftTransportClient;
use crate::pb::v1::RaftPayload;

/// One channel per peer id, replaced when the peer's address changes.
#[derive(Clone, Default)]
pub struct Peers {
    dialer: Dialer,
    channels: Arc<Mutex<HashMap<CoordinatorId, (String, Channel)>>>,
}

impl Peers {
    pub fn new(dialer: Dialer) -> Self {
        Peers {
            dialer,
            channels: Arc::default(),
        }
    }

    pub fn dialer(&self) -> &Dialer {
        &self.dialer
    }

    pub fn client(
        &self,
        id: CoordinatorId,
        addr: &str,
    ) -> Result<RaftTransportClient<Channel>, tonic::Status> {
        let mut map = self.channels.lock().expect("peer map poisoned");
        if let Some((a, ch)) = map.get(&id) {
            if a == addr {
                return Ok(transport_client(ch.clone()));
            }
        }
        let ch = self.dialer.channel(addr).map_err(|e| {
            tonic::Status::invalid_argument(format!("bad peer address {addr}: {e}"))
        })?;
        map.insert(id, (addr.to_string(), ch.clone()));
        Ok(transport_client(ch))
    }
}

fn transport_client(ch: Channel) -> RaftTransportClient<Channel> {
    RaftTransportClient::new(ch)
        .max_decoding_message_size(crate::coordinator::MAX_MESSAGE)
        .max_encoding_message_size(crate::coordinator::MAX_MESSAGE)
}

impl RaftNetworkFactory<TypeConfig> for Peers {
    type Network = PeerClient;

    async fn new_client(&mut self, target: CoordinatorId, node: &BasicNode) -> PeerClient {
        PeerClient {
            target,
            addr: node.addr.clone(),
            peers: self.clone(),
        }
    }
}

pub struct PeerClient {
    target: CoordinatorId,
    addr: String,
    peers: Peers,
}

#[derive(Clone, Copy)]
enum Rpc {
    Append,
    Vote,
    Snapshot,
}

impl PeerClient {
    async fn call<Req, Resp, E>(
        &self,
        rpc: Rpc,
        req: Req,
        ttl: Duration,
    ) -> Result<Resp, RpcError<E>>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
        E: std::error::Error + DeserializeOwned,
    {
        let json =
            serde_json::to_vec(&req).map_err(|e| RpcError::Network(NetworkError::new(&e)))?;
        let mut client = self
            .peers
            .client(self.target, &self.addr)
            .map_err(|e| RpcError::Unreachable(Unreachable::new(&e)))?;
        let mut request = tonic::Request::new(RaftPayload { json });
        request.set_timeout(ttl);
        self.peers.dialer.auth.apply(&mut request);
        let reply = match rpc {
            Rpc::Append => client.append_entries(request).await,
            Rpc::Vote => client.vote(request).await,
            Rpc::Snapshot => client.install_snapshot(request).await,
        };
        let payload = reply.map_err(|status| classify(&status))?.into_inner();
        let res: Result<Resp, RaftError<E>> = serde_json::from_slice(&payload.json)
            .map_err(|e| RpcError::Network(NetworkError::new(&e)))?;
        res.map_err(|e| RpcError::RemoteError(RemoteError::new(self.target, e)))
    }
}

/// A peer that cannot be reached is `Unreachable` (openraft backs off);
/// anything else is a `Network` error.
fn classify<E: std::error::Error>(status: &tonic::Status) -> RpcError<E> {
    match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            RpcError::Unreachable(Unreachable::new(status))
        }
        _ => RpcError::Network(NetworkError::new(status)),
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<CoordinatorId>, RpcError> {
        self.call(Rpc::Append, rpc, option.hard_ttl()).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<InstallSnapshotResponse<CoordinatorId>, RpcError<InstallSnapshotError>> {
        self.call(Rpc::Snapshot, rpc, option.hard_ttl()).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<CoordinatorId>,
        option: RPCOption,
    ) -> Result<VoteResponse<CoordinatorId>, RpcError> {
        self.call(Rpc::Vote, rpc, option.hard_ttl()).await
    }
}
