//! The Admin service's migration calls: start one, list and describe them with each index's
//! move, and an operator's pause, resume, cutover and abort.

use tonic::{Response, Status};

use crate::coordinator::app::App;
use crate::coordinator::error::AppError;
use crate::pb::v1;
use crate::state::commands::{ChangeMigration, MigrationAction, StartMigration};
use crate::state::migration::{Change, Migration, MigrationStatus};
use crate::state::{
    ClusterState, Command, CommandError, CommandResponse, GroupId, MigrationId, NodeId,
};

fn change_of(r: &v1::StartMigrationRequest) -> Result<Change, CommandError> {
    let node = || NodeId::parse(&r.node);
    Ok(match r.kind.as_str() {
        "join_node" => Change::JoinNode { node: node()? },
        "drain_node" => Change::DrainNode { node: node()? },
        "add_group" => Change::AddGroup { group: GroupId(r.group) },
        "remove_group" => Change::RemoveGroup { group: GroupId(r.group) },
        "replace_node" => Change::ReplaceNode {
            failed: node()?,
            with: NodeId::parse(&r.with)?,
        },
        other => {
            return Err(CommandError::invalid(format!(
                "unknown migration kind `{other}`: use join_node, drain_node, add_group, remove_group or replace_node"
            )))
        }
    })
}

pub async fn start(
    app: &App,
    r: v1::StartMigrationRequest,
) -> Result<Response<v1::Migration>, Status> {
    let cmd = Command::StartMigration(StartMigration {
        change: change_of(&r).map_err(AppError::from)?,
        manual_cutover: r.manual_cutover,
        docs_per_s: r.docs_per_s,
        forced: r.force,
        at_ms: crate::workflows::now_ms(),
    });
    answer(app, cmd).await
}

pub async fn change(
    app: &App,
    r: v1::ChangeMigrationRequest,
) -> Result<Response<v1::Migration>, Status> {
    let action = match r.action.as_str() {
        "pause" => MigrationAction::Pause,
        "resume" => MigrationAction::Resume,
        "cutover" => MigrationAction::Cutover,
        "abort" => MigrationAction::Abort,
        other => {
            let e = CommandError::invalid(format!(
                "unknown migration action `{other}`: use pause, resume, cutover or abort"
            ));
            return Err(AppError::from(e).into());
        }
    };
    let cmd = Command::ChangeMigration(ChangeMigration {
        id: MigrationId(r.id),
        action,
        at_ms: crate::workflows::now_ms(),
    });
    answer(app, cmd).await
}

async fn answer(app: &App, cmd: Command) -> Result<Response<v1::Migration>, Status> {
    match app.propose(cmd).await? {
        CommandResponse::Migration(m) => {
            let id = m.id;
            let view = app
                .read(move |s| s.migrations.get(id).map(|m| view(s, m)))
                .await?;
            Ok(Response::new(view.unwrap_or_else(|| view_alone(&m))))
        }
        other => Err(Status::internal(format!("unexpected response {other:?}"))),
    }
}

pub async fn list(
    app: &App,
    r: v1::ListMigrationsRequest,
) -> Result<Response<v1::ListMigrationsResponse>, Status> {
    let limit = match r.limit {
        0 => 20,
        n => n.min(1000) as usize,
    };
    let migrations = app
        .read(move |s| {
            s.migrations
                .all
                .values()
                .rev()
                .take(limit)
                .map(|m| view(s, m))
                .collect()
        })
        .await?;
    Ok(Response::new(v1::ListMigrationsResponse { migrations }))
}

pub async fn get(app: &App, r: v1::MigrationRef) -> Result<Response<v1::Migration>, Status> {
    let id = MigrationId(r.id);
    let found = app
        .read(move |s| s.migrations.get(id).map(|m| view(s, m)))
        .await?;
    found
        .map(Response::new)
        .ok_or_else(|| AppError::from(crate::state::migration::Migrations::not_found(id)).into())
}

fn view_alone(m: &Migration) -> v1::Migration {
    let (node, group, with) = match &m.change {
        Change::JoinNode { node } | Change::DrainNode { node } => {
            (node.0.clone(), 0, String::new())
        }
        Change::AddGroup { group } | Change::RemoveGroup { group } => {
            (String::new(), group.0, String::new())
        }
        Change::ReplaceNode { failed, with } => (failed.0.clone(), 0, with.0.clone()),
    };
    v1::Migration {
        id: m.id.0,
        kind: m.change.kind().into(),
        node,
        group,
        with,
        description: m.change.describe(),
        status: m.status.as_str().into(),
        stuck_reason: match &m.status {
            MigrationStatus::Stuck { reason } => reason.clone(),
            _ => String::new(),
        },
        manual_cutover: m.options.manual_cutover,
        delta_pass: m.options.delta_pass,
        docs_per_s: m.options.docs_per_s,
        forced: m.options.forced,
        cutover_requested: m.cutover_requested,
        warnings: m.warnings.clone(),
        created_at_ms: m.created_at_ms,
        finished_at_ms: m.finished_at_ms,
        moves: vec![],
    }
}

/// A migration with each index's move, as operators see it.
fn view(s: &ClusterState, m: &Migration) -> v1::Migration {
    let mut out = view_alone(m);
    out.moves = m
        .workflows
        .iter()
        .filter_map(|id| s.workflows.get(*id))
        .filter_map(|w| {
            let im = w.moves.as_ref()?;
            let round = im.round.or(im.last_round);
            let mut to: Vec<String> = im
                .moves
                .values()
                .flat_map(|m| m.to.iter().map(|n| n.0.clone()))
                .collect();
            let mut from: Vec<String> = im
                .moves
                .values()
                .flat_map(|m| m.from.iter().map(|n| n.0.clone()))
                .collect();
            to.sort();
            to.dedup();
            from.sort();
            from.dedup();
            Some(v1::IndexMove {
                workflow: w.id.0,
                index_uid: w.index.0.clone(),
                phase: w.phase.as_str().into(),
                shards: im.moves.len() as u32,
                shards_copied: im.moves.values().filter(|m| m.copied).count() as u32,
                copied: im.copied,
                delta_documents: im.delta_documents,
                round: round.map_or(0, |r| r.number),
                round_written: round.map_or(0, |r| r.written),
                cutover_attempts: im.cutover_attempts,
                fence_ms: im.fence_ms.clone(),
                aborted: im.aborted,
                last_error: w.errors.last().cloned().unwrap_or_default(),
                updated_at_ms: w.updated_at_ms,
                to_nodes: to,
                from_nodes: from,
            })
        })
        .collect();
    out
}

/// What a migration would move, with counts read from each moving shard's source.
pub async fn simulate(
    app: &App,
    r: v1::StartMigrationRequest,
) -> Result<Response<v1::MigrationPlan>, Status> {
    let change = change_of(&r).map_err(AppError::from)?;
    let c = change.clone();
    let (plans, sources, copies, docs_per_s) = app
        .read(move |s| {
            let plans = crate::state::commands::preview(s, &c)?;
            let mut sources = vec![];
            for (uid, physical, moves) in &plans {
                for m in moves.values().filter(|m| m.copies()) {
                    let src = crate::state::migration::layout::source_of(s, uid, m.shard)
                        .and_then(|n| s.nodes.get(&n))
                        .map(|n| n.address.clone());
                    sources.push((
                        uid.clone(),
                        physical.clone(),
                        m.shard,
                        src,
                        m.to.len() as u64,
                    ));
                }
            }
            let copies: u64 = s
                .shard_maps
                .values()
                .flat_map(|m| m.shards.iter())
                .map(|a| a.copies.len() as u64)
                .sum();
            let rate = r
                .docs_per_s
                .unwrap_or_else(|| s.settings.int("migration_docs_per_s"));
            Ok::<_, CommandError>((plans, sources, copies, rate))
        })
        .await?
        .map_err(AppError::from)?;
    let nodes = &app.nodes;
    // Per (index, shard): documents on its source, and bytes at the source index's mean size.
    let mut counted: std::collections::BTreeMap<(String, u32), (u64, u64)> = Default::default();
    for (uid, physical, shard, src, targets) in &sources {
        let Some(base) = src else { continue };
        let mut body = serde_json::Map::new();
        body.insert(
            "filter".into(),
            serde_json::json!(crate::fleet::shard_filter(&[*shard])),
        );
        body.insert("limit".into(), serde_json::json!(0));
        let docs = nodes
            .fetch_documents(base, physical, body)
            .await
            .map(|p| p.total)
            .unwrap_or(0);
        let stats = nodes.index_stats(base, physical).await.unwrap_or_default();
        let (n, raw) = (
            stats["numberOfDocuments"].as_u64().unwrap_or(0),
            stats["rawDocumentDbSize"].as_u64().unwrap_or(0),
        );
        let bytes = match n {
            0 => 0,
            n => docs * raw / n,
        };
        counted.insert((uid.0.clone(), shard.0), (docs * targets, bytes * targets));
    }
    let mut out = v1::MigrationPlan {
        description: change.describe(),
        docs_per_s,
        copies,
        copies_during: copies,
        ..Default::default()
    };
    for (uid, _, moves) in &plans {
        let mut ip = v1::IndexPlan {
            index_uid: uid.0.clone(),
            shards_moving: moves.len() as u32,
            ..Default::default()
        };
        for m in moves.values() {
            let (d, b) = counted
                .get(&(uid.0.clone(), m.shard.0))
                .copied()
                .unwrap_or((0, 0));
            ip.documents += d;
            ip.bytes += b;
            out.copies_during += m.to.len() as u64;
            let names = |v: &[NodeId]| v.iter().map(|n| n.0.as_str()).collect::<Vec<_>>().join(",");
            ip.moves.push(format!(
                "{}: {} -> {}",
                m.shard.0,
                if m.from.is_empty() {
                    "-".into()
                } else {
                    names(&m.from)
                },
                if m.to.is_empty() {
                    "-".into()
                } else {
                    names(&m.to)
                }
            ));
        }
        out.documents += ip.documents;
        out.bytes += ip.bytes;
        out.indexes.push(ip);
    }
    // Stored now: every node's documents of every index; during: plus what is copied.
    let held = app
        .read(|s| {
            let mut pairs = vec![];
            for m in s.shard_maps.values() {
                let mut on: Vec<&NodeId> = m.shards.iter().flat_map(|a| a.writers()).collect();
                on.sort();
                on.dedup();
                for n in on {
                    if let Some(node) = s.nodes.get(n) {
                        pairs.push((node.address.clone(), m.physical().to_string()));
                    }
                }
            }
            pairs
        })
        .await?;
    let mut stored = 0;
    for (base, physical) in held {
        let stats = nodes
            .index_stats(&base, &physical)
            .await
            .unwrap_or_default();
        stored += stats["numberOfDocuments"].as_u64().unwrap_or(0);
    }
    out.stored_documents = stored;
    let stored = stored + out.documents;
    out.stored_documents_during = stored;
    Ok(Response::new(out))
}
