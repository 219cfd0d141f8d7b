//! Inbound peer traffic: openraft RPCs, forwarded leader work, read index,
//! member info and leadership hand-over. Trusted peers only.

use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::{Request, Response, Status};

use crate::coordinator::app::{App, LeaderRequest};
use crate::pb::v1::raft_transport_server::RaftTransport;
use crate::pb::v1::{
    MemberInfoReply, MemberInfoRequest, RaftPayload, ReadIndexReply, ReadIndexRequest,
    TimeoutNowReply, TimeoutNowRequest,
};

pub struct RaftService {
    app: App,
}

impl RaftService {
    pub fn new(app: App) -> Self {
        RaftService { app }
    }
}

fn decode<T: DeserializeOwned>(req: Request<RaftPayload>) -> Result<T, Status> {
    serde_json::from_slice(&req.into_inner().json)
        .map_err(|e| Status::invalid_argument(format!("undecodable peer message: {e}")))
}

fn encode<T: Serialize>(v: &T) -> Result<Response<RaftPayload>, Status> {
    serde_json::to_vec(v)
        .map(|json| Response::new(RaftPayload { json }))
        .map_err(|e| Status::internal(e.to_string()))
}

#[tonic::async_trait]
impl RaftTransport for RaftService {
    async fn append_entries(
        &self,
        req: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let res = self.app.raft.append_entries(decode(req)?).await;
        encode(&res)
    }

    async fn vote(&self, req: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let res = self.app.raft.vote(decode(req)?).await;
        encode(&res)
    }

    async fn install_snapshot(
        &self,
        req: Request<RaftPayload>,
    ) -> Result<Response<RaftPayload>, Status> {
        let res = self.app.raft.install_snapshot(decode(req)?).await;
        encode(&res)
    }

    async fn forward(&self, req: Request<RaftPayload>) -> Result<Response<RaftPayload>, Status> {
        let leader_req: LeaderRequest = decode(req)?;
        // No second hop: if leadership moved, the caller learns it and retries.
        let res = self.app.execute_local(leader_req).await;
        encode(&res)
    }

    async fn read_index(
        &self,
        _: Request<ReadIndexRequest>,
    ) -> Result<Response<ReadIndexReply>, Status> {
        let (read, _) = self
            .app
            .raft
            .get_read_log_id()
            .await
            .map_err(|e| Status::unavailable(format!("cannot confirm leadership: {e}")))?;
        Ok(Response::new(ReadIndexReply {
            read_index: read.map_or(0, |l| l.index),
        }))
    }

    async fn member_info(
        &self,
        _: Request<MemberInfoRequest>,
    ) -> Result<Response<MemberInfoReply>, Status> {
        Ok(Response::new(self.app.member_info().await))
    }

    async fn timeout_now(
        &self,
        _: Request<TimeoutNowRequest>,
    ) -> Result<Response<TimeoutNowReply>, Status> {
        self.app
            .raft
            .trigger()
            .elect()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        Ok(Response::new(TimeoutNowReply {}))
    }
}
