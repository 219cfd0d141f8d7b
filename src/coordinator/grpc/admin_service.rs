//! The operator's gRPC API. Writes become Raft commands; reads are linearizable.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use tonic::{Request, Response, Status};

use super::status::cluster_status;
use crate::coordinator::app::{App, LeaderRequest};
use crate::coordinator::error::AppError;
use crate::pb::v1::admin_server::Admin;
use crate::pb::v1::*;
use crate::state::commands::{
    AddNode, CreateIndex, RemoveNode, SetConfig, SetNodeState, SetPrimaryKey, StartIndexDeletion,
};
use crate::state::settings::Settings;
use crate::state::{Command, CommandError, CommandResponse, GroupId, IndexUid, NodeId, NodeState};

pub struct AdminService {
    app: App,
}

impl AdminService {
    pub fn new(app: App) -> Self {
        AdminService { app }
    }

    async fn node_command(&self, cmd: Command) -> Result<Response<Node>, Status> {
        match self.app.propose(cmd).await? {
            CommandResponse::Node(n) => Ok(Response::new((&n).into())),
            other => Err(unexpected(other)),
        }
    }

    async fn set_state(
        &self,
        req: Request<NodeRef>,
        state: NodeState,
    ) -> Result<Response<Node>, Status> {
        let id = NodeId::parse(&req.into_inner().id).map_err(AppError::from)?;
        self.node_command(Command::SetNodeState(SetNodeState {
            id,
            state,
            at_ms: now_ms(),
        }))
        .await
    }

    async fn index_command(&self, cmd: Command) -> Result<Response<Index>, Status> {
        match self.app.propose(cmd).await? {
            CommandResponse::Index(i) => Ok(Response::new((&i).into())),
            other => Err(unexpected(other)),
        }
    }

    async fn membership(
        &self,
        req: LeaderRequest,
    ) -> Result<Response<ClusterStatusResponse>, Status> {
        self.app.on_leader(req).await?;
        Ok(Response::new(cluster_status(&self.app).await))
    }
}

fn unexpected(r: CommandResponse) -> Status {
    Status::internal(format!("unexpected command response {r:?}"))
}

fn index_uid(s: &str) -> Result<IndexUid, Status> {
    IndexUid::parse(s).map_err(|e| AppError::from(e).into())
}

fn coordinator_id(id: u64) -> Result<u64, Status> {
    if id == 0 {
        return Err(Status::invalid_argument("coordinator ids start at 1"));
    }
    Ok(id)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn non_zero(v: u32) -> Option<u32> {
    (v != 0).then_some(v)
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn cluster_status(
        &self,
        _: Request<ClusterStatusRequest>,
    ) -> Result<Response<ClusterStatusResponse>, Status> {
        Ok(Response::new(cluster_status(&self.app).await))
    }

    async fn add_member(
        &self,
        req: Request<AddMemberRequest>,
    ) -> Result<Response<ClusterStatusResponse>, Status> {
        let r = req.into_inner();
        if r.address.trim().is_empty() {
            return Err(Status::invalid_argument(
                "give the new member's gRPC address (host:port)",
            ));
        }
        let id = coordinator_id(r.id)?;
        self.membership(LeaderRequest::AddMember {
            id,
            address: r.address,
            learner_only: r.learner_only,
        })
        .await
    }

    async fn remove_member(
        &self,
        req: Request<RemoveMemberRequest>,
    ) -> Result<Response<ClusterStatusResponse>, Status> {
        let id = coordinator_id(req.into_inner().id)?;
        self.membership(LeaderRequest::RemoveMember { id }).await
    }

    async fn transfer_leader(
        &self,
        req: Request<TransferLeaderRequest>,
    ) -> Result<Response<ClusterStatusResponse>, Status> {
        let to = coordinator_id(req.into_inner().to)?;
        self.membership(LeaderRequest::TransferLeader { to }).await
    }

    async fn add_node(&self, req: Request<AddNodeRequest>) -> Result<Response<Node>, Status> {
        let r = req.into_inner();
        let id = NodeId::parse(&r.id).map_err(AppError::from)?;
        self.node_command(Command::AddNode(AddNode {
            id,
            address: r.address,
            group: GroupId(r.group),
        }))
        .await
    }

    async fn list_nodes(
        &self,
        _: Request<ListNodesRequest>,
    ) -> Result<Response<ListNodesResponse>, Status> {
        let resp = self
            .app
            .read(|s| {
                let nodes = s.nodes.values().map(Into::into).collect();
                let groups = s
                    .groups
                    .values()
                    .map(|g| ReplicaGroup {
                        id: g.id.0,
                        state: g.state.as_str().to_string(),
                        nodes: s
                            .nodes
                            .values()
                            .filter(|n| n.group == g.id)
                            .map(|n| n.id.0.clone())
                            .collect(),
                    })
                    .collect();
                ListNodesResponse { nodes, groups }
            })
            .await?;
        Ok(Response::new(resp))
    }

    /// Starts the migration that drains the node (its shards move to the rest of its group,
    /// then it is removed); answers with the node, now draining.
    async fn drain_node(&self, req: Request<NodeRef>) -> Result<Response<Node>, Status> {
        let id = NodeId::parse(&req.into_inner().id).map_err(AppError::from)?;
        let start = StartMigrationRequest {
            kind: "drain_node".into(),
            node: id.0.clone(),
            ..Default::default()
        };
        super::migrations::start(&self.app, start).await?;
        let node = self.app.read(move |s| s.nodes.get(&id).cloned()).await?;
        node.map(|n| Response::new((&n).into()))
            .ok_or_else(|| Status::not_found("the node was removed: it held no shard"))
    }

    async fn mark_node_failed(&self, req: Request<NodeRef>) -> Result<Response<Node>, Status> {
        self.set_state(req, NodeState::Failed).await
    }

    async fn activate_node(&self, req: Request<NodeRef>) -> Result<Response<Node>, Status> {
        self.set_state(req, NodeState::Active).await
    }

    async fn remove_node(
        &self,
        req: Request<NodeRef>,
    ) -> Result<Response<RemoveNodeResponse>, Status> {
        let id = NodeId::parse(&req.into_inner().id).map_err(AppError::from)?;
        self.app
            .propose(Command::RemoveNode(RemoveNode { id: id.clone() }))
            .await?;
        Ok(Response::new(RemoveNodeResponse { id: id.0 }))
    }

    async fn create_index(
        &self,
        req: Request<CreateIndexRequest>,
    ) -> Result<Response<Index>, Status> {
        let r = req.into_inner();
        self.index_command(Command::CreateIndex(CreateIndex {
            uid: index_uid(&r.uid)?,
            primary_key: r.primary_key.filter(|p| !p.is_empty()),
            shards: non_zero(r.shards),
            replication_factor: non_zero(r.replication_factor),
            created_at_ms: now_ms(),
        }))
        .await
    }

    async fn set_primary_key(
        &self,
        req: Request<SetPrimaryKeyRequest>,
    ) -> Result<Response<Index>, Status> {
        let r = req.into_inner();
        self.index_command(Command::SetPrimaryKey(SetPrimaryKey {
            uid: index_uid(&r.uid)?,
            primary_key: r.primary_key,
        }))
        .await
    }

    async fn list_indexes(
        &self,
        _: Request<ListIndexesRequest>,
    ) -> Result<Response<ListIndexesResponse>, Status> {
        let indexes = self
            .app
            .read(|s| s.indexes.values().map(Into::into).collect())
            .await?;
        Ok(Response::new(ListIndexesResponse { indexes }))
    }

    async fn check_indexes(
        &self,
        req: Request<CheckIndexesRequest>,
    ) -> Result<Response<CheckIndexesResponse>, Status> {
        let uid = req.into_inner().uid;
        let only = match uid.is_empty() {
            true => None,
            false => Some(index_uid(&uid)?),
        };
        let expected = self
            .app
            .read(|s| {
                let known = only.as_ref().is_none_or(|u| s.indexes.contains_key(u));
                known.then(|| crate::fleet::index_check::Expected::from_state(s, only.as_ref()))
            })
            .await?;
        let Some(expected) = expected else {
            return Err(no_index(only.as_ref().expect("a missing index was named")));
        };
        let check = crate::fleet::index_check::check(&self.app.nodes, &expected).await;
        Ok(Response::new((&check).into()))
    }

    async fn describe_index(
        &self,
        req: Request<IndexRef>,
    ) -> Result<Response<DescribeIndexResponse>, Status> {
        let uid = index_uid(&req.into_inner().uid)?;
        let found = self
            .app
            .read(|s| {
                let index = s.indexes.get(&uid)?;
                let map = s.shard_maps.get(&uid)?;
                let mut per_node: BTreeMap<String, u32> = BTreeMap::new();
                for a in &map.shards {
                    for n in a.readers() {
                        *per_node.entry(n.0.clone()).or_default() += 1;
                    }
                }
                Some(DescribeIndexResponse {
                    index: Some(index.into()),
                    shard_map: Some(map.into()),
                    shards_per_node: per_node.into_iter().collect(),
                })
            })
            .await?;
        found.map(Response::new).ok_or_else(|| no_index(&uid))
    }

    async fn delete_index(
        &self,
        req: Request<IndexRef>,
    ) -> Result<Response<DeleteIndexResponse>, Status> {
        let uid = index_uid(&req.into_inner().uid)?;
        // The same deletion as the router's: fenced, run on every node, then forgotten.
        let start = StartIndexDeletion {
            uid: uid.clone(),
            task: None,
            at_ms: crate::workflows::now_ms(),
        };
        match self.app.propose(Command::StartIndexDeletion(start)).await? {
            CommandResponse::Workflow(w) => Ok(Response::new(DeleteIndexResponse {
                uid: uid.0,
                workflow: w.id.0,
            })),
            other => Err(Status::internal(format!("unexpected response {other:?}"))),
        }
    }

    async fn list_workflows(
        &self,
        req: Request<ListWorkflowsRequest>,
    ) -> Result<Response<ListWorkflowsResponse>, Status> {
        let running_only = req.into_inner().running_only;
        let workflows = self
            .app
            .read(|s| {
                s.workflows
                    .iter()
                    .rev()
                    .filter(|w| !running_only || !w.is_done())
                    .map(Into::into)
                    .collect()
            })
            .await?;
        Ok(Response::new(ListWorkflowsResponse { workflows }))
    }

    async fn get_workflow(&self, req: Request<WorkflowRef>) -> Result<Response<Workflow>, Status> {
        let id = crate::state::workflows::WorkflowId(req.into_inner().id);
        let w = self
            .app
            .read(|s| s.workflows.get(id).map(Into::into))
            .await?;
        w.map(Response::new).ok_or_else(|| {
            Status::from(AppError::from(
                crate::state::workflows::Workflows::not_found(id),
            ))
        })
    }

    async fn set_copy_role(
        &self,
        req: Request<SetCopyRoleRequest>,
    ) -> Result<Response<ShardMap>, Status> {
        if !self.app.unsafe_switches.test_commands {
            return Err(Status::failed_precondition(
                "SetCopyRole is a test command: roles change through workflows; start the \
                 coordinators with --test-commands to use it in tests",
            ));
        }
        let r = req.into_inner();
        let cmd = Command::SetCopyRole(crate::state::commands::SetCopyRole {
            index: index_uid(&r.index)?,
            shard: crate::state::ShardId(r.shard),
            node: NodeId::parse(&r.node).map_err(AppError::from)?,
            role: crate::state::Role::parse(&r.role).map_err(AppError::from)?,
        });
        match self.app.propose(cmd).await? {
            CommandResponse::Map(m) => Ok(Response::new((&m).into())),
            other => Err(unexpected(other)),
        }
    }

    async fn run_anti_entropy(
        &self,
        req: Request<RunAntiEntropyRequest>,
    ) -> Result<Response<Workflow>, Status> {
        super::anti_entropy::run(&self.app, req.into_inner()).await
    }

    async fn anti_entropy_status(
        &self,
        _: Request<AntiEntropyStatusRequest>,
    ) -> Result<Response<AntiEntropyStatusResponse>, Status> {
        super::anti_entropy::status(&self.app).await
    }

    async fn start_migration(
        &self,
        req: Request<StartMigrationRequest>,
    ) -> Result<Response<Migration>, Status> {
        super::migrations::start(&self.app, req.into_inner()).await
    }

    async fn list_migrations(
        &self,
        req: Request<ListMigrationsRequest>,
    ) -> Result<Response<ListMigrationsResponse>, Status> {
        super::migrations::list(&self.app, req.into_inner()).await
    }

    async fn get_migration(
        &self,
        req: Request<MigrationRef>,
    ) -> Result<Response<Migration>, Status> {
        super::migrations::get(&self.app, req.into_inner()).await
    }

    async fn simulate_migration(
        &self,
        req: Request<StartMigrationRequest>,
    ) -> Result<Response<MigrationPlan>, Status> {
        super::migrations::simulate(&self.app, req.into_inner()).await
    }

    async fn change_migration(
        &self,
        req: Request<ChangeMigrationRequest>,
    ) -> Result<Response<Migration>, Status> {
        super::migrations::change(&self.app, req.into_inner()).await
    }

    async fn list_tombstones(
        &self,
        req: Request<ListTombstonesRequest>,
    ) -> Result<Response<ListTombstonesResponse>, Status> {
        let r = req.into_inner();
        let one = match r.index.is_empty() {
            true => None,
            false => Some(index_uid(&r.index)?),
        };
        let limit = match r.limit {
            0 => 20,
            n => n.min(1000) as usize,
        };
        let found = self
            .app
            .read(|s| {
                if let Some(uid) = &one {
                    if !s.indexes.contains_key(uid) {
                        return None;
                    }
                }
                let counts = |uid: &IndexUid| {
                    let c = s.tombstones.counts(uid);
                    TombstoneCounts {
                        index: uid.0.clone(),
                        records: c.records,
                        oldest_version: c.oldest.map_or(0, |v| v.0),
                        newest_version: c.newest.map_or(0, |v| v.0),
                    }
                };
                let (indexes, tombstones) = match &one {
                    Some(uid) => (
                        vec![counts(uid)],
                        s.tombstones
                            .newest(uid, limit)
                            .iter()
                            .map(|t| Tombstone {
                                index: uid.0.clone(),
                                ..t.into()
                            })
                            .collect(),
                    ),
                    None => (s.tombstones.indexes().map(counts).collect(), vec![]),
                };
                Some(ListTombstonesResponse {
                    indexes,
                    tombstones,
                    retention_s: s.settings.int("tombstone_retention_s"),
                })
            })
            .await?;
        match (found, one) {
            (Some(r), _) => Ok(Response::new(r)),
            (None, Some(uid)) => Err(no_index(&uid)),
            (None, None) => Err(Status::internal("no listing")),
        }
    }

    async fn get_shard_map(&self, req: Request<IndexRef>) -> Result<Response<ShardMap>, Status> {
        let uid = index_uid(&req.into_inner().uid)?;
        let map = self
            .app
            .read(|s| s.shard_maps.get(&uid).map(Into::into))
            .await?;
        map.map(Response::new).ok_or_else(|| no_index(&uid))
    }

    async fn get_config(
        &self,
        req: Request<GetConfigRequest>,
    ) -> Result<Response<GetConfigResponse>, Status> {
        let key = req.into_inner().key;
        let entries: Vec<ConfigEntry> = if key.is_empty() {
            self.app
                .read(|s| s.settings.all().into_iter().map(Into::into).collect())
                .await?
        } else {
            if let Err(e @ CommandError::NotFound(_)) = Settings::validate(&key, "") {
                return Err(AppError::from(e).into());
            }
            let one = self.app.read(|s| s.settings.get(&key)).await?;
            one.into_iter().map(Into::into).collect()
        };
        Ok(Response::new(GetConfigResponse { entries }))
    }

    async fn set_config(
        &self,
        req: Request<SetConfigRequest>,
    ) -> Result<Response<ConfigEntry>, Status> {
        let r = req.into_inner();
        let cmd = Command::SetConfig(SetConfig {
            key: r.key,
            value: r.value,
            expect_version: r.expect_version,
            at_ms: (crate::meili::stamp::now_nanos() / 1_000_000) as u64,
        });
        match self.app.propose(cmd).await? {
            CommandResponse::Setting { key, setting } => Ok(Response::new(ConfigEntry {
                description: Settings::description(&key),
                key,
                value: setting.value,
                version: setting.version,
            })),
            other => Err(unexpected(other)),
        }
    }
}

fn no_index(uid: &IndexUid) -> Status {
    Status::not_found(format!(
        "no index `{uid}`: `miroir-ctl indexes list` shows the existing indexes"
    ))
}
