//! One function per subcommand family; each sends one request and prints the reply.

use serde_json::json;

use super::cli::{ClusterCmd, Command, ConfigCmd, IndexesCmd, NodesCmd, ShardsCmd};
use super::output::{emit, opt, MapJson, Table};
use super::Ctl;
use serde::Serialize;

use crate::control::repair_types::BehindView;
use crate::control::{ClusterStatus, ControlError, NewIndex};
use crate::state::{GroupId, Index, ShardMap};

pub async fn dispatch(ctl: &Ctl, cmd: Command) -> Result<(), ControlError> {
    match cmd {
        Command::Cluster(c) => cluster(ctl, c).await,
        Command::Nodes(c) => nodes(ctl, c).await,
        Command::Indexes(c) => indexes(ctl, c).await,
        Command::Shards(ShardsCmd::List { index }) => {
            let map = ctl.control.get_shard_map(&index).await?;
            let behind: Vec<BehindView> = ctl
                .control
                .anti_entropy_status()
                .await?
                .behind
                .into_iter()
                .filter(|b| b.index == map.index)
                .collect();
            let out = ShardsOut {
                map: MapJson::from(&map),
                behind: &behind,
            };
            emit(ctl.json, &out, |_| shard_table(&map, &behind));
            Ok(())
        }
        Command::Config(c) => config(ctl, c).await,
        Command::Workflows(c) => super::workflows::run(ctl, c).await,
        Command::Tombstones(c) => super::tombstones::run(ctl, c).await,
        Command::AntiEntropy(c) => super::anti_entropy::run(ctl, c).await,
        Command::Migrate(c) => super::migrate::run(ctl, c).await,
    }
}

async fn cluster(ctl: &Ctl, cmd: ClusterCmd) -> Result<(), ControlError> {
    let c = &ctl.control;
    let status = match cmd {
        ClusterCmd::Status => c.cluster_status().await?,
        ClusterCmd::Members => {
            let s = c.cluster_status().await?;
            emit(ctl.json, &s.members, |members| {
                let mut t = Table::new(&["ID", "ADDRESS", "ROLE", "STATE"]);
                for m in members {
                    t.row(vec![
                        m.id.to_string(),
                        m.address.clone(),
                        m.role.as_str().into(),
                        m.state.as_str().into(),
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
        } => c.add_member(id, &address, learner).await?,
        ClusterCmd::RemoveMember { id } => c.remove_member(id).await?,
        ClusterCmd::TransferLeader { to } => c.transfer_leader(to).await?,
    };
    emit(ctl.json, &status, status_text);
    Ok(())
}

fn status_text(s: &ClusterStatus) -> String {
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
            m.role.as_str().into(),
            m.state.as_str().into(),
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

fn join_request(id: &str) -> crate::pb::v1::StartMigrationRequest {
    crate::pb::v1::StartMigrationRequest {
        kind: "join_node".into(),
        node: id.to_string(),
        ..Default::default()
    }
}

async fn nodes(ctl: &Ctl, cmd: NodesCmd) -> Result<(), ControlError> {
    let c = &ctl.control;
    let node = match cmd {
        NodesCmd::List => {
            let list = c.list_nodes().await?;
            let behind = c.anti_entropy_status().await?.behind;
            let out = NodesOut {
                list: &list,
                behind: &behind,
            };
            emit(ctl.json, &out, |o| {
                let l = o.list;
                let mut t = Table::new(&["ID", "GROUP", "STATE", "ADDRESS", "COPIES BEHIND"]);
                for n in &l.nodes {
                    let mine: Vec<&BehindView> = behind.iter().filter(|b| b.node == n.id).collect();
                    t.row(vec![
                        n.id.to_string(),
                        n.group.to_string(),
                        n.state.as_str().into(),
                        n.address.clone(),
                        behind_summary(&mine),
                    ]);
                }
                let mut g = Table::new(&["GROUP", "STATE", "NODES"]);
                for grp in &l.groups {
                    g.row(vec![
                        grp.id.to_string(),
                        grp.state.as_str().into(),
                        grp.nodes.len().to_string(),
                    ]);
                }
                format!("{}\n{}", t.render(), g.render())
            });
            return Ok(());
        }
        NodesCmd::Add {
            id,
            address,
            group,
            no_join,
        } => {
            let node = c.add_node(&id, &address, GroupId(group)).await?;
            if no_join || node.state != crate::state::NodeState::Joining {
                node
            } else {
                let m = c.start_migration(join_request(&id)).await.map_err(|e| {
                    ControlError::FailedPrecondition(format!(
                        "node {id} is registered (joining) but its join did not start: {}; start it with `miroir-ctl migrate start --join {id}`",
                        e.detail()
                    ))
                })?;
                emit(ctl.json, &m, super::migrate::describe);
                return Ok(());
            }
        }
        NodesCmd::Drain { id } => {
            let req = crate::pb::v1::StartMigrationRequest {
                kind: "drain_node".into(),
                node: id,
                ..Default::default()
            };
            let m = c.start_migration(req).await?;
            emit(ctl.json, &m, super::migrate::describe);
            return Ok(());
        }
        NodesCmd::MarkFailed { id } => c.mark_node_failed(&id).await?,
        NodesCmd::Activate { id } => c.activate_node(&id).await?,
        NodesCmd::Remove { id } => {
            let id = c.remove_node(&id).await?;
            emit(ctl.json, &json!({ "id": id }), |_| {
                format!("node {id} removed\n")
            });
            return Ok(());
        }
    };
    emit(ctl.json, &node, |n| {
        format!(
            "node {} (group {}) is {} at {}\n",
            n.id,
            n.group,
            n.state.as_str(),
            n.address
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

async fn indexes(ctl: &Ctl, cmd: IndexesCmd) -> Result<(), ControlError> {
    let c = &ctl.control;
    let index = match cmd {
        IndexesCmd::List => {
            let list = c.list_indexes().await?;
            emit(ctl.json, &list, |l| {
                let mut t = Table::new(&["UID", "PRIMARY KEY", "SHARDS", "RF"]);
                for i in l {
                    t.row(vec![
                        i.uid.to_string(),
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
            // 0 would ask the coordinators for the default: refuse it here.
            if a.shards == Some(0) || a.replication_factor == Some(0) {
                return Err(ControlError::InvalidArgument(
                    "--shards and --replication-factor must be at least 1".into(),
                ));
            }
            c.create_index(NewIndex {
                uid: a.uid,
                primary_key: a.primary_key,
                shards: a.shards,
                replication_factor: a.replication_factor,
            })
            .await?
        }
        IndexesCmd::Describe { uid } => {
            let d = c.describe_index(&uid).await?;
            let shown = json!({
                "index": d.index,
                "shard_map": d.shard_map.as_ref().map(MapJson::from),
                "shards_per_node": d.shards_per_node,
            });
            emit(ctl.json, &shown, |_| {
                let mut out = index_text(&d.index);
                if let Some(m) = &d.shard_map {
                    out.push_str(&format!("shard map epoch {}\n\n", m.epoch));
                }
                let mut t = Table::new(&["NODE", "SHARDS"]);
                for (n, count) in &d.shards_per_node {
                    t.row(vec![n.to_string(), count.to_string()]);
                }
                out.push_str(&t.render());
                out
            });
            return Ok(());
        }
        IndexesCmd::SetPrimaryKey { uid, primary_key } => {
            c.set_primary_key(&uid, &primary_key).await?
        }
        IndexesCmd::Check { uid } => return super::index_check::run(ctl, uid.as_deref()).await,
        IndexesCmd::Delete { uid, no_wait } => {
            let id = c.delete_index(&uid).await?;
            if no_wait {
                emit(ctl.json, &json!({ "uid": uid, "workflow": id }), |_| {
                    format!(
                        "deleting index {uid}: workflow {id} (miroir-ctl workflows watch {id})\n"
                    )
                });
            } else {
                let w = super::workflows::follow(ctl, id).await?;
                emit(ctl.json, &json!({ "uid": uid, "workflow": w }), |_| {
                    format!("index {uid} deleted ({} documents)\n", w.deleted_documents)
                });
            }
            return Ok(());
        }
    };
    emit(ctl.json, &index, index_text);
    Ok(())
}

/// `nodes list --json`: the nodes and groups, and every copy behind.
#[derive(Serialize)]
struct NodesOut<'a> {
    #[serde(flatten)]
    list: &'a crate::control::NodeList,
    behind: &'a [BehindView],
}

/// `shards list --json`: the map, and its copies behind with why.
#[derive(Serialize)]
struct ShardsOut<'a> {
    #[serde(flatten)]
    map: MapJson<'a>,
    behind: &'a [BehindView],
}

/// A node's behind copies in a few words: how many, of which indexes, and the first reason.
fn behind_summary(mine: &[&BehindView]) -> String {
    let Some(first) = mine.first() else {
        return "-".into();
    };
    let mut indexes: Vec<&str> = mine.iter().map(|b| b.index.0.as_str()).collect();
    indexes.dedup();
    format!("{} of {} ({})", mine.len(), indexes.join(","), first.reason)
}

fn shard_table(m: &ShardMap, behind: &[BehindView]) -> String {
    // Serving copies by name; other roles with theirs, e.g. `n3 (filling)`,
    // and a behind copy with why.
    let copies = |a: &crate::state::ShardAssignment| -> String {
        a.copies
            .iter()
            .map(|c| match c.role {
                crate::state::Role::Serving => c.node.0.clone(),
                crate::state::Role::Behind => {
                    let why = behind
                        .iter()
                        .find(|b| b.node == c.node && b.shard == a.shard)
                        .map_or(String::new(), |b| format!(": {}", b.reason));
                    format!("{} (behind{why})", c.node)
                }
                r => format!("{} ({})", c.node, r.as_str()),
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut t = Table::new(&["SHARD", "COPIES", "FENCE"]);
    for s in &m.shards {
        t.row(vec![
            s.shard.to_string(),
            copies(s),
            s.fence.as_str().into(),
        ]);
    }
    format!("index {}  epoch {}\n\n{}", m.index, m.epoch, t.render())
}

async fn config(ctl: &Ctl, cmd: ConfigCmd) -> Result<(), ControlError> {
    match cmd {
        ConfigCmd::Get { key } => {
            let entries = ctl.control.get_config(key.as_deref()).await?;
            emit(ctl.json, &entries, |entries| {
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
            let e = ctl.control.set_config(&key, &value, expect_version).await?;
            emit(ctl.json, &e, |e| {
                format!("{} = {} (version {})\n", e.key, e.value, e.version)
            });
        }
    }
    Ok(())
}
