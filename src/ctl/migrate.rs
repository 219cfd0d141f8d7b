//! `miroir-ctl migrate`: starting a migration, following it, and an operator's cutover, pause,
//! resume and abort.

use std::time::{Duration, Instant};

use super::cli::{MigrateCmd, MigrateStartArgs};
use super::output::{emit, Table};
use super::Ctl;
use crate::control::migration_types::MigrationView;
use crate::control::migration_types::PlanView;
use crate::control::ControlError;
use crate::pb::v1 as pb;
use crate::state::MigrationId;

/// How often a migration being followed is asked about.
const POLL: Duration = Duration::from_millis(500);

pub async fn run(ctl: &Ctl, cmd: MigrateCmd) -> Result<(), ControlError> {
    match cmd {
        MigrateCmd::Start(a) => start(ctl, a).await,
        MigrateCmd::Simulate(a) => {
            let start = MigrateStartArgs {
                change: a.change,
                with: a.with,
                manual_cutover: false,
                throttle: a.throttle,
                force: false,
                watch: false,
            };
            let plan = ctl
                .control
                .simulate_migration(start_request(&start))
                .await?;
            emit(ctl.json, &plan, |p| simulated(p, a.detailed));
            Ok(())
        }
        MigrateCmd::Status { id } => {
            let m = pick(ctl, id).await?;
            emit(ctl.json, &m, describe);
            Ok(())
        }
        MigrateCmd::List { limit } => {
            let all = ctl.control.list_migrations(limit).await?;
            emit(ctl.json, &all, |all| {
                let mut t = Table::new(&["ID", "KIND", "STATUS", "INDEXES", "COPIED", "WHAT"]);
                for m in all {
                    t.row(vec![
                        m.id.to_string(),
                        m.kind.clone(),
                        m.status.clone(),
                        m.moves.len().to_string(),
                        m.moves.iter().map(|v| v.copied).sum::<u64>().to_string(),
                        m.description.clone(),
                    ]);
                }
                t.render()
            });
            Ok(())
        }
        MigrateCmd::Watch { id } => {
            let m = pick(ctl, id).await?;
            watch(ctl, m.id).await
        }
        MigrateCmd::Cutover { id } => change(ctl, id, "cutover").await,
        MigrateCmd::Pause { id } => change(ctl, id, "pause").await,
        MigrateCmd::Resume { id } => change(ctl, id, "resume").await,
        MigrateCmd::Abort { id } => change(ctl, id, "abort").await,
        MigrateCmd::CheckWindow => check_window(ctl).await,
    }
}

#[derive(serde::Serialize)]
struct WindowOut {
    window: String,
    now_unix_ms: u64,
    inside: bool,
    next_opens_unix_ms: Option<u64>,
}

/// Evaluates the window with this machine's clock (UTC), as the coordinators will at start.
async fn check_window(ctl: &Ctl) -> Result<(), ControlError> {
    let setting = ctl.control.get_config(Some("migration_window")).await?;
    let expr = setting.first().map(|s| s.value.clone()).unwrap_or_default();
    let window = crate::state::schedule::Schedule::parse(&expr).map_err(ControlError::malformed)?;
    let now = crate::workflows::now_ms();
    let out = WindowOut {
        inside: window.matches(now),
        next_opens_unix_ms: window.next_after(now),
        window: expr,
        now_unix_ms: now,
    };
    emit(ctl.json, &out, |o| {
        match (o.inside, o.next_opens_unix_ms) {
        (true, _) => format!(
            "inside the migration window `{}` (UTC): a migration may start now\n",
            o.window
        ),
        (false, Some(next)) => format!(
            "outside the migration window `{}` (UTC); it next opens at {} (start anyway with `migrate start --force`)\n",
            o.window,
            crate::state::schedule::utc(next)
        ),
        (false, None) => format!(
            "the migration window is `{}`: no migration starts without --force\n",
            o.window
        ),
    }
    });
    match out.inside {
        true => Ok(()),
        false => Err(ControlError::FailedPrecondition(
            "outside the migration window".into(),
        )),
    }
}

/// The migration `id`, or the running one, else the newest.
async fn pick(ctl: &Ctl, id: Option<u64>) -> Result<MigrationView, ControlError> {
    if let Some(id) = id {
        return ctl.control.get_migration(MigrationId(id)).await;
    }
    let all = ctl.control.list_migrations(50).await?;
    let running = all.iter().find(|m| !m.is_finished()).cloned();
    running.or_else(|| all.into_iter().next()).ok_or_else(|| {
        ControlError::NotFound(
            "no migration has run yet: start one with `miroir-ctl migrate start`".into(),
        )
    })
}

async fn change(ctl: &Ctl, id: Option<u64>, action: &str) -> Result<(), ControlError> {
    let id = match id {
        Some(id) => MigrationId(id),
        None => pick(ctl, None).await?.id,
    };
    let m = ctl.control.change_migration(id, action).await?;
    emit(ctl.json, &m, describe);
    Ok(())
}

pub fn start_request(a: &MigrateStartArgs) -> pb::StartMigrationRequest {
    let c = &a.change;
    let (kind, node, group) = match (&c.join, &c.drain, c.add_group, c.remove_group, &c.replace) {
        (Some(n), ..) => ("join_node", n.clone(), 0),
        (_, Some(n), ..) => ("drain_node", n.clone(), 0),
        (_, _, Some(g), ..) => ("add_group", String::new(), g),
        (_, _, _, Some(g), _) => ("remove_group", String::new(), g),
        (.., Some(n)) => ("replace_node", n.clone(), 0),
        _ => ("", String::new(), 0),
    };
    pb::StartMigrationRequest {
        kind: kind.into(),
        node,
        group,
        with: a.with.clone().unwrap_or_default(),
        manual_cutover: a.manual_cutover,
        docs_per_s: a.throttle,
        force: a.force,
    }
}

async fn start(ctl: &Ctl, a: MigrateStartArgs) -> Result<(), ControlError> {
    let m = ctl.control.start_migration(start_request(&a)).await?;
    if !a.watch || ctl.json {
        emit(ctl.json, &m, describe);
        return if a.watch {
            watch(ctl, m.id).await
        } else {
            Ok(())
        };
    }
    print!("{}", describe(&m));
    watch(ctl, m.id).await
}

/// Prints a progress line per change until the migration finishes; exits 1 if it was aborted
/// or is stuck.
async fn watch(ctl: &Ctl, id: MigrationId) -> Result<(), ControlError> {
    let began = Instant::now();
    let mut last_line = String::new();
    let mut first_copied = None;
    loop {
        let m = ctl.control.get_migration(id).await?;
        let copied: u64 = m.moves.iter().map(|v| v.copied).sum();
        let base = *first_copied.get_or_insert(copied);
        let secs = began.elapsed().as_secs_f64().max(0.001);
        let rate = (copied - base) as f64 / secs;
        let line = progress_line(&m, copied, rate);
        if line != last_line && !ctl.json {
            println!("{line}");
            last_line = line;
        }
        if m.is_finished() || m.status == "stuck" || m.status == "paused" {
            if ctl.json {
                emit(true, &m, |_| String::new());
            } else {
                print!("{}", describe(&m));
            }
            return match m.status.as_str() {
                "done" => Ok(()),
                s => Err(ControlError::FailedPrecondition(format!(
                    "migration {} is {s}",
                    m.id
                ))),
            };
        }
        tokio::time::sleep(POLL).await;
    }
}

fn progress_line(m: &MigrationView, copied: u64, rate: f64) -> String {
    let total = m.moves.len().max(1);
    let done = m
        .moves
        .iter()
        .filter(|v| v.phase.as_str() == "done")
        .count();
    let width = 30;
    let filled = done * width / total;
    let phases: Vec<String> = m
        .moves
        .iter()
        .filter(|v| v.phase.as_str() != "done")
        .map(|v| format!("{}:{}", v.index, v.phase.as_str()))
        .take(3)
        .collect();
    format!(
        "[{}{}] {done}/{total} indexes  {copied} documents copied  {:.0} docs/s  {}  {}",
        "#".repeat(filled),
        "-".repeat(width - filled),
        rate,
        m.status,
        phases.join(" ")
    )
}

fn simulated(p: &PlanView, detailed: bool) -> String {
    let size = |b: u64| {
        byte_unit::Byte::from_u64(b)
            .get_appropriate_unit(byte_unit::UnitType::Binary)
            .to_string()
    };
    let mut out = format!("if started: {}\n", p.description);
    let mut t = Table::new(&["INDEX", "SHARDS MOVING", "DOCUMENTS", "SIZE"]);
    for i in &p.indexes {
        t.row(vec![
            i.index.to_string(),
            i.shards_moving.to_string(),
            i.documents.to_string(),
            size(i.bytes),
        ]);
    }
    out += &t.render();
    out += &format!(
        "to copy: {} documents ({})\nstorage while it runs: {:.2}x ({} documents stored, {} during)\nwrite amplification while it runs: {:.2}x ({} copies written, {} during)\n",
        p.documents,
        size(p.bytes),
        p.storage_amplification(),
        p.stored_documents,
        p.stored_documents_during,
        p.write_amplification(),
        p.copies,
        p.copies_during,
    );
    out += &match p.estimated_s() {
        Some(s) => format!(
            "copy time at {} documents/s per copy: about {s} s\n",
            p.docs_per_s
        ),
        None => "copy time: unthrottled (set migration_docs_per_s or --throttle for an estimate)\n"
            .into(),
    };
    if detailed {
        for i in &p.indexes {
            for m in &i.moves {
                out += &format!("{} shard {m}\n", i.index);
            }
        }
    }
    out
}

pub fn describe(m: &MigrationView) -> String {
    let mut out = format!("migration {}: {} ({})\n", m.id, m.description, m.status);
    if let Some(r) = &m.stuck_reason {
        out += &format!("stuck: {r}\n");
    }
    for w in &m.warnings {
        out += &format!("warning: {w}\n");
    }
    let mode = match (m.delta_pass, m.manual_cutover) {
        (true, false) => "delta pass, automatic cutover",
        (true, true) => "delta pass, manual cutover",
        (false, false) => "no delta pass (copies repaired before they serve), automatic cutover",
        (false, true) => "no delta pass (copies repaired before they serve), manual cutover",
    };
    out += &format!("mode: {mode}\n");
    if m.moves.is_empty() {
        out += "no index has shards to move\n";
        return out;
    }
    let mut t = Table::new(&[
        "INDEX",
        "PHASE",
        "SHARDS",
        "ROUND",
        "COPIED",
        "DELTA",
        "CUTOVERS",
        "LAST FENCE",
        "TO",
        "FROM",
    ]);
    for v in &m.moves {
        t.row(vec![
            v.index.to_string(),
            v.phase.as_str().to_string(),
            format!("{}/{}", v.shards_copied, v.shards),
            v.round.to_string(),
            v.copied.to_string(),
            v.delta_documents.to_string(),
            v.cutover_attempts.to_string(),
            v.fence_ms
                .last()
                .map_or("-".into(), |ms| format!("{ms} ms")),
            names(&v.to_nodes),
            names(&v.from_nodes),
        ]);
    }
    out += &t.render();
    for v in m.moves.iter().filter(|v| v.last_error.is_some()) {
        out += &format!(
            "{}: last error: {}\n",
            v.index,
            v.last_error.as_deref().unwrap_or("")
        );
    }
    out
}

fn names(n: &[crate::state::NodeId]) -> String {
    match n.is_empty() {
        true => "-".into(),
        false => n.iter().map(|n| n.0.as_str()).collect::<Vec<_>>().join(","),
    }
}
