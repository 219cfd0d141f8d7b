//! The Admin service, one typed method per RPC, for the router and `miroir-ctl`.

use crate::control::admin_types::{
    ClusterStatus, IndexDetails, NewIndex, NodeList, TombstoneListing,
};
use crate::control::client::ControlClient;
use crate::control::error::ControlError;
use crate::control::migration_types::MigrationView;
use crate::fleet::index_check::IndexCheck;
use crate::pb::v1 as pb;
use crate::pb::v1::admin_client::AdminClient;
use crate::state::settings::SettingView;
use crate::state::workflows::{Workflow, WorkflowId};
use crate::state::{GroupId, Index, MigrationId, Node, NodeId, ShardMap};

/// One unary Admin call through the failover loop.
macro_rules! admin {
    ($client:expr, $rpc:ident, $req:expr) => {{
        let req = $req;
        $client
            .call(|ch| {
                let r = $client.request(req.clone());
                async move { AdminClient::new(ch).$rpc(r).await }
            })
            .await
    }};
}

/// A reply converted into its domain type, or [`ControlError::Malformed`].
fn domain<P, T: TryFrom<P>>(reply: Result<P, ControlError>) -> Result<T, ControlError>
where
    T::Error: std::fmt::Display,
{
    reply.and_then(|p| T::try_from(p).map_err(ControlError::malformed))
}

fn index_ref(uid: &str) -> pb::IndexRef {
    pb::IndexRef {
        uid: uid.to_string(),
    }
}

fn node_ref(id: &str) -> pb::NodeRef {
    pb::NodeRef { id: id.to_string() }
}

impl ControlClient {
    // Coordinators.

    pub async fn cluster_status(&self) -> Result<ClusterStatus, ControlError> {
        domain(admin!(self, cluster_status, pb::ClusterStatusRequest {}))
    }

    /// Adds a coordinator (as a learner only, if `learner`); the new status.
    pub async fn add_member(
        &self,
        id: u64,
        address: &str,
        learner: bool,
    ) -> Result<ClusterStatus, ControlError> {
        let req = pb::AddMemberRequest {
            id,
            address: address.to_string(),
            learner_only: learner,
        };
        domain(admin!(self, add_member, req))
    }

    pub async fn remove_member(&self, id: u64) -> Result<ClusterStatus, ControlError> {
        domain(admin!(self, remove_member, pb::RemoveMemberRequest { id }))
    }

    /// Hands leadership to coordinator `to`.
    pub async fn transfer_leader(&self, to: u64) -> Result<ClusterStatus, ControlError> {
        domain(admin!(
            self,
            transfer_leader,
            pb::TransferLeaderRequest { to }
        ))
    }

    // Meilisearch nodes.

    pub async fn list_nodes(&self) -> Result<NodeList, ControlError> {
        domain(admin!(self, list_nodes, pb::ListNodesRequest {}))
    }

    pub async fn add_node(
        &self,
        id: &str,
        address: &str,
        group: GroupId,
    ) -> Result<Node, ControlError> {
        let req = pb::AddNodeRequest {
            id: id.to_string(),
            address: address.to_string(),
            group: group.0,
        };
        domain(admin!(self, add_node, req))
    }

    pub async fn drain_node(&self, id: &str) -> Result<Node, ControlError> {
        domain(admin!(self, drain_node, node_ref(id)))
    }

    pub async fn mark_node_failed(&self, id: &str) -> Result<Node, ControlError> {
        domain(admin!(self, mark_node_failed, node_ref(id)))
    }

    pub async fn activate_node(&self, id: &str) -> Result<Node, ControlError> {
        domain(admin!(self, activate_node, node_ref(id)))
    }

    /// Forgets a node that holds no shard; the id removed.
    pub async fn remove_node(&self, id: &str) -> Result<NodeId, ControlError> {
        let r = admin!(self, remove_node, node_ref(id))?;
        NodeId::parse(&r.id).map_err(ControlError::malformed)
    }

    // Indexes.

    /// Registers an index; [`ControlError::AlreadyExists`] or
    /// [`ControlError::InvalidArgument`] (a bad uid, shard count or factor).
    pub async fn create_index(&self, new: NewIndex) -> Result<Index, ControlError> {
        let req = pb::CreateIndexRequest {
            uid: new.uid,
            primary_key: new.primary_key,
            // 0 asks for the cluster's default.
            shards: new.shards.unwrap_or(0),
            replication_factor: new.replication_factor.unwrap_or(0),
        };
        domain(admin!(self, create_index, req))
    }

    /// Fixes the primary key once; [`ControlError::FailedPrecondition`] if
    /// another one is set already.
    pub async fn set_primary_key(&self, uid: &str, pk: &str) -> Result<Index, ControlError> {
        let req = pb::SetPrimaryKeyRequest {
            uid: uid.to_string(),
            primary_key: pk.to_string(),
        };
        domain(admin!(self, set_primary_key, req))
    }

    pub async fn list_indexes(&self) -> Result<Vec<Index>, ControlError> {
        let r = admin!(self, list_indexes, pb::ListIndexesRequest {})?;
        r.indexes
            .into_iter()
            .map(|i| Index::try_from(i).map_err(ControlError::malformed))
            .collect()
    }

    pub async fn describe_index(&self, uid: &str) -> Result<IndexDetails, ControlError> {
        domain(admin!(self, describe_index, index_ref(uid)))
    }

    /// What the nodes hold of `uid`'s copies (every index's, and stray
    /// physical indexes, if None), compared with the shard maps.
    pub async fn check_indexes(&self, uid: Option<&str>) -> Result<IndexCheck, ControlError> {
        let req = pb::CheckIndexesRequest {
            uid: uid.unwrap_or_default().to_string(),
        };
        domain(admin!(self, check_indexes, req))
    }

    /// Starts deleting the index from every node, then from the coordinators;
    /// the workflow that does it.
    pub async fn delete_index(&self, uid: &str) -> Result<WorkflowId, ControlError> {
        let r = admin!(self, delete_index, index_ref(uid))?;
        Ok(WorkflowId(r.workflow))
    }

    // Workflows.

    /// Workflows, newest first (only unfinished ones if `running_only`).
    pub async fn list_workflows(&self, running_only: bool) -> Result<Vec<Workflow>, ControlError> {
        let r = admin!(
            self,
            list_workflows,
            pb::ListWorkflowsRequest { running_only }
        )?;
        r.workflows
            .into_iter()
            .map(|w| Workflow::try_from(w).map_err(ControlError::malformed))
            .collect()
    }

    pub async fn get_workflow(&self, id: WorkflowId) -> Result<Workflow, ControlError> {
        domain(admin!(self, get_workflow, pb::WorkflowRef { id: id.0 }))
    }

    /// Starts an anti-entropy pass over `index` (`shards` empty: every shard).
    pub async fn run_anti_entropy(
        &self,
        index: &str,
        shards: Vec<u32>,
        mode: crate::state::repair::pass::PassMode,
    ) -> Result<Workflow, ControlError> {
        let req = pb::RunAntiEntropyRequest {
            index: index.to_string(),
            shards,
            mode: mode.as_str().to_string(),
        };
        domain(admin!(self, run_anti_entropy, req))
    }

    /// Starts a migration (see [`StartMigration`](crate::pb::v1::StartMigrationRequest)).
    pub async fn start_migration(
        &self,
        req: pb::StartMigrationRequest,
    ) -> Result<MigrationView, ControlError> {
        domain(admin!(self, start_migration, req))
    }

    /// What a migration would move, changing nothing.
    pub async fn simulate_migration(
        &self,
        req: pb::StartMigrationRequest,
    ) -> Result<crate::control::migration_types::PlanView, ControlError> {
        domain(admin!(self, simulate_migration, req))
    }

    /// Migrations, newest first.
    pub async fn list_migrations(&self, limit: u32) -> Result<Vec<MigrationView>, ControlError> {
        let r = admin!(self, list_migrations, pb::ListMigrationsRequest { limit })?;
        r.migrations
            .into_iter()
            .map(|m| MigrationView::try_from(m).map_err(ControlError::malformed))
            .collect()
    }

    pub async fn get_migration(&self, id: MigrationId) -> Result<MigrationView, ControlError> {
        domain(admin!(self, get_migration, pb::MigrationRef { id: id.0 }))
    }

    /// `action`: pause, resume, cutover or abort.
    pub async fn change_migration(
        &self,
        id: MigrationId,
        action: &str,
    ) -> Result<MigrationView, ControlError> {
        let req = pb::ChangeMigrationRequest {
            id: id.0,
            action: action.to_string(),
        };
        domain(admin!(self, change_migration, req))
    }

    /// The schedule, the running pass, every index's last pass and the behind copies.
    pub async fn anti_entropy_status(
        &self,
    ) -> Result<crate::control::repair_types::AntiEntropyStatus, ControlError> {
        domain(admin!(
            self,
            anti_entropy_status,
            pb::AntiEntropyStatusRequest {}
        ))
    }

    /// Tombstone counts per index, or for one index its newest `limit` records.
    pub async fn list_tombstones(
        &self,
        index: Option<&str>,
        limit: u32,
    ) -> Result<TombstoneListing, ControlError> {
        let req = pb::ListTombstonesRequest {
            index: index.unwrap_or_default().to_string(),
            limit,
        };
        domain(admin!(self, list_tombstones, req))
    }

    /// The index's shard map; [`ControlError::NotFound`] if there is no such index.
    pub async fn get_shard_map(&self, uid: &str) -> Result<ShardMap, ControlError> {
        domain(admin!(self, get_shard_map, index_ref(uid)))
    }

    // Cluster settings.

    /// One setting, or every setting when `key` is `None`.
    pub async fn get_config(&self, key: Option<&str>) -> Result<Vec<SettingView>, ControlError> {
        let req = pb::GetConfigRequest {
            key: key.unwrap_or_default().to_string(),
        };
        let r = admin!(self, get_config, req)?;
        Ok(r.entries.into_iter().map(SettingView::from).collect())
    }

    /// Sets a setting; with `expect_version`, only if it is still at that version.
    pub async fn set_config(
        &self,
        key: &str,
        value: &str,
        expect_version: Option<u64>,
    ) -> Result<SettingView, ControlError> {
        let req = pb::SetConfigRequest {
            key: key.to_string(),
            value: value.to_string(),
            expect_version,
        };
        admin!(self, set_config, req).map(SettingView::from)
    }
}
