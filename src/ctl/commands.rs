//! One function per subcommand family; each sends one request and prints the reply.

use tonic::Status;

use super::cli::{ClusterCmd, Command, ConfigCmd, IndexesCmd, NodesCmd, ShardsCmd};
use super::output::{emit, opt, Table};
use super::Ctl;
use crate::pb::v1::*;

pub async fn dispatch(ctl: &mut Ctl, cmd: Command) -> Result<(), Status> {
    match cmd {
        Command::Cluster(c) => cluster(ctl, c).await,
        Command::Nodes(c) => nodes(ctl, c).await,
        Command::Indexes(c) => indexes(ctl, c).await,
        Command::Shards(ShardsCmd::List { index }) => {
            let req = ctl.request(IndexRef { uid: index });
            let map = ctl.admin.get_shard_map(req).await?.into_inner();
            emit(ctl.json, &map, shard_table);
            Ok(())
        }
        Command::Config(c) => config(ctl, c).await,
    }
}

async fn cluster(ctl: &mut Ctl, cmd: ClusterCmd) -> Result<(), Status> {
    let status = match cmd {
        ClusterCmd::Status => {
            ctl.admin
                .cluster_status(ctl.request(ClusterStatusRequest {}))
                .await?
        }
        ClusterCmd::Members => {
            let s = ctl
                .admin
                .cluster_status(ctl.request(ClusterStatusRequest {}))
                .await?
                .into_inner();
            emit(ctl.json, &s.members, |members| {
                let mut t = Table::new(&["ID", "ADDRESS", "ROLE", "STATE"]);
                for m in members {
                    t.row(vec![
                        m.id.to_string(),
                        m.address.clone(),
                        m.role.clone(),
                        m.state.clone(),
                    ]);
                }
                t.render()
            });
            return Ok(());
        }
        ClusterCmd::AddMember {
            id,
            address,
            learner,
        } => {
            let req = ctl.request(AddMemberRequest {
                id,
                address,
                learner_only: learner,
            });
            ctl.admin.add_member(req).await?
        }
        ClusterCmd::RemoveMember { id } => {
            ctl.admin
                .remove_member(ctl.request(RemoveMemberRequest { id }))
                .await?
        }
        ClusterCmd::TransferLeader { to } => {
            ctl.admin
                .transfer_leader(ctl.request(TransferLeaderRequest { to }))
                .await?
        }
    };
    emit(ctl.json, &status.into_inner(), status_text);
    Ok(())
}

fn status_text(s: &ClusterStatusResponse) -> String {
    let mut out = format!(
        "cluster {}  leader {}  term {}  commit index {}\n\n",
        if s.cluster_id.is_empty() {
            "(not yet named)"
        } else {
            &s.cluster_id
        },
        opt(s.leader_id),
        s.term,
        opt(s.commit_index)
    );
    let mut t = Table::new(&[
        "ID",
        "ADDRESS",
        "ROLE",
        "STATE",
        "TERM",
        "LAST LOG",
        "COMMITTED",
        "APPLIED",
        "SNAPSHOT",
        "MATCHED",
    ]);
    for m in &s.members {
        t.row(vec![
            m.id.to_string(),
            m.address.clone(),
            m.role.clone(),
            m.state.clone(),
            if m.reachable {
                m.term.to_string()
            } else {
                "-".into()
            },
            opt(m.last_log_index),
            opt(m.committed_index),
            opt(m.applied_index),
            opt(m.snapshot_index),
            opt(m.matched_index),
        ]);
    }
    out.push_str(&t.render());
    out
}

async fn nodes(ctl: &mut Ctl, cmd: NodesCmd) -> Result<(), Status> {
    let node = match cmd {
        NodesCmd::List => {
            let list = ctl
                .admin
                .list_nodes(ctl.request(ListNodesRequest {}))
                .await?
                .into_inner();
            emit(ctl.json, &list, |l| {
                let mut t = Table::new(&["ID", "GROUP", "STATE", "ADDRESS"]);
                for n in &l.nodes {
                    t.row(vec![
                        n.id.clone(),
                        n.group.to_string(),
                        n.state.clone(),
                        n.address.clone(),
                    ]);
                }
                let mut g = Table::new(&["GROUP", "STATE", "NODES"]);
                for grp in &l.groups {
                    g.row(vec![
                        grp.id.to_string(),
                        grp.state.clone(),
                        grp.nodes.len().to_string(),
                    ]);
                }
                format!("{}\n{}", t.render(), g.render())
            });
            return Ok(());
        }
        NodesCmd::Add { id, address, group } => {
            ctl.admin
                .add_node(ctl.request(AddNodeRequest { id, address, group }))
                .await?
        }
        NodesCmd::Drain { id } => ctl.admin.drain_node(ctl.request(NodeRef { id })).await?,
        NodesCmd::MarkFailed { id } => {
            ctl.admin
                .mark_node_failed(ctl.request(NodeRef { id }))
                .await?
        }
        NodesCmd::Activate { id } => ctl.admin.activate_node(ctl.request(NodeRef { id })).await?,
        NodesCmd::Remove { id } => {
            let r = ctl
                .admin
                .remove_node(ctl.request(NodeRef { id }))
                .await?
                .into_inner();
            emit(ctl.json, &r, |r| format!("node {} removed\n", r.id));
            return Ok(());
        }
    };
    emit(ctl.json, &node.into_inner(), |n| {
        format!(
            "node {} (group {}) is {} at {}\n",
            n.id, n.group, n.state, n.address
        )
    });
    Ok(())
}

fn index_text(i: &Index) -> String {
    format!(
        "index {}  primary key {}  shards {}  replication factor {}\n",
        i.uid,
        i.primary_key.as_deref().unwrap_or("(not set)"),
        i.shards,
        i.replication_factor
    )
}

async fn indexes(ctl: &mut Ctl, cmd: IndexesCmd) -> Result<(), Status> {
    let index = match cmd {
        IndexesCmd::List => {
            let list = ctl
                .admin
                .list_indexes(ctl.request(ListIndexesRequest {}))
                .await?
                .into_inner();
            emit(ctl.json, &list.indexes, |l| {
                let mut t = Table::new(&["UID", "PRIMARY KEY", "SHARDS", "RF"]);
                for i in l {
                    t.row(vec![
                        i.uid.clone(),
                        opt(i.primary_key.clone()),
                        i.shards.to_string(),
                        i.replication_factor.to_string(),
                    ]);
                }
                t.render()
            });
            return Ok(());
        }
        IndexesCmd::Create(a) => {
            let req = CreateIndexRequest {
                uid: a.uid,
                primary_key: a.primary_key,
                shards: a.shards.unwrap_or(0),
                replication_factor: a.replication_factor.unwrap_or(0),
            };
            if a.shards == Some(0) || a.replication_factor == Some(0) {
                return Err(Status::invalid_argument(
                    "--shards and --replication-factor must be at least 1",
                ));
            }
            ctl.admin.create_index(ctl.request(req)).await?
        }
        IndexesCmd::Describe { uid } => {
            let d = ctl
                .admin
                .describe_index(ctl.request(IndexRef { uid }))
                .await?
                .into_inner();
            emit(ctl.json, &d, |d| {
                let mut out = d.index.as_ref().map(index_text).unwrap_or_default();
                if let Some(m) = &d.shard_map {
                    out.push_str(&format!("shard map epoch {}\n\n", m.epoch));
                }
                let mut t = Table::new(&["NODE", "SHARDS"]);
                for (n, c) in &d.shards_per_node {
                    t.row(vec![n.clone(), c.to_string()]);
                }
                out.push_str(&t.render());
                out
            });
            return Ok(());
        }
        IndexesCmd::SetPrimaryKey { uid, primary_key } => {
            ctl.admin
                .set_primary_key(ctl.request(SetPrimaryKeyRequest { uid, primary_key }))
                .await?
        }
        IndexesCmd::Delete { uid } => {
            let r = ctl
                .admin
                .delete_index(ctl.request(IndexRef { uid }))
                .await?
                .into_inner();
            emit(ctl.json, &r, |r| format!("index {} deleted\n", r.uid));
            return Ok(());
        }
    };
    emit(ctl.json, &index.into_inner(), index_text);
    Ok(())
}

fn shard_table(m: &ShardMap) -> String {
    let mut t = Table::new(&["SHARD", "READ", "WRITE", "FENCE"]);
    for s in &m.shards {
        t.row(vec![
            s.shard.to_string(),
            s.read.join(","),
            s.write.join(","),
            s.fence.clone(),
        ]);
    }
    format!("index {}  epoch {}\n\n{}", m.index_uid, m.epoch, t.render())
}

async fn config(ctl: &mut Ctl, cmd: ConfigCmd) -> Result<(), Status> {
    match cmd {
        ConfigCmd::Get { key } => {
            let req = ctl.request(GetConfigRequest {
                key: key.unwrap_or_default(),
            });
            let r = ctl.admin.get_config(req).await?.into_inner();
            emit(ctl.json, &r.entries, |entries| {
                let mut t = Table::new(&["KEY", "VALUE", "VERSION", "DESCRIPTION"]);
                for e in entries {
                    t.row(vec![
                        e.key.clone(),
                        e.value.clone(),
                        e.version.to_string(),
                        e.description.clone(),
                    ]);
                }
                t.render()
            });
        }
        ConfigCmd::Set {
            key,
            value,
            expect_version,
        } => {
            let req = ctl.request(SetConfigRequest {
                key,
                value,
                expect_version,
            });
            let e = ctl.admin.set_config(req).await?.into_inner();
            emit(ctl.json, &e, |e| {
                format!("{} = {} (version {})\n", e.key, e.value, e.version)
            });
        }
    }
    Ok(())
}
