//! One run: hosts up, cluster up, clients and nemesis together for the time
//! limit, heal, let the cluster settle, judge, write the folder.

mod clients;
mod judge;
mod plan;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use miroir::pb::v1::SetConfigRequest;

use crate::check::Verdict;
use crate::cli::RunArgs;
use crate::db::Db;
use crate::history::Recorder;
use crate::nemesis::{schedule, Nemesis};
use crate::net::Net;
use crate::report::{self, RunSummary};
pub use plan::Plan;

/// What a run concluded, and where its folder is.
pub struct Outcome {
    pub verdict: Verdict,
    pub dir: PathBuf,
    pub summary: RunSummary,
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Unknown => "unknown",
    }
}

fn bin_dir(args: &RunArgs) -> Result<PathBuf> {
    if let Some(d) = &args.bin_dir {
        return Ok(d.clone());
    }
    let exe = std::env::current_exe().context("cannot find this binary's path")?;
    Ok(exe.parent().context("binary has no folder")?.to_path_buf())
}

fn run_dir(store: &Path, seed: u64) -> Result<PathBuf> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let dir = store.join(format!("{now}-{seed}"));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let latest = store.join("latest");
    let _ = std::fs::remove_file(&latest);
    let _ = std::os::unix::fs::symlink(dir.file_name().expect("dir name"), &latest);
    Ok(dir)
}

/// Sets the run's lease length, through whichever coordinator answers.
async fn set_lease(db: &Db, lease_ms: u64) -> Result<()> {
    db.on_any_coordinator(|mut a| {
        let req = SetConfigRequest {
            key: "lease_ms".into(),
            value: lease_ms.to_string(),
            expect_version: None,
        };
        async move { a.set_config(req).await }
    })
    .await
    .context("setting lease_ms")?;
    Ok(())
}

/// Runs `plan` to the end. Hosts and processes are removed when this
/// returns, whether it succeeded or not (they are owned by values dropped
/// here, processes before hosts).
pub async fn run(plan: &Plan) -> Result<Outcome> {
    // Checked before the run folder exists, so a refused run leaves none.
    crate::net::require_root()?;
    let bins = bin_dir(&plan.args)?;
    crate::db::check_binaries(&bins)?;
    let dir = run_dir(&plan.args.store, plan.seed)?;
    let layout = plan.layout();
    let targets = plan.fault_targets(&layout)?;
    let names = layout.host_names();
    let net = Net::create(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let db = Db::new(layout, &net, &bins, &dir)?;
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let start = Instant::now();
    let history = Recorder::new(start);
    let mut nemesis = Nemesis::new(db, net, history.clone(), targets);
    nemesis.db.setup().await.context("starting the cluster")?;
    set_lease(&nemesis.db, plan.args.lease_ms).await?;
    tracing::info!(
        "cluster up in {:?}; running for {} s",
        start.elapsed(),
        plan.args.time_limit
    );

    let length = Duration::from_secs(plan.args.time_limit);
    let windows = schedule::plan(plan.seed, &plan.lanes, length, plan.pace);
    let load_start = Instant::now();
    let load = clients::start(plan, &nemesis.db, &history, load_start + length).await?;
    nemesis.run(&windows, load_start).await?;
    let seen = load.finish().await?;
    nemesis.heal_all().await?;

    let ops = history.snapshot();
    let (verdict, results) = judge::judge(plan, &mut nemesis.db, &ops, &seen).await;
    let timeline = nemesis.timeline.lock().expect("timeline").clone();
    let summary = RunSummary {
        seed: plan.seed,
        command: plan.command(),
        workloads: plan.workloads.iter().map(|w| w.name().into()).collect(),
        nemeses: plan.lane_names(),
        started_at: format!("{started_at} (Unix time)"),
        duration_ms: start.elapsed().as_millis() as u64,
        verdict: verdict_name(verdict).into(),
        results,
        unsafe_switches: plan.switches.iter().map(|s| s.name().into()).collect(),
    };
    let all_ops = history.snapshot();
    report::write_run(&dir, &summary, &all_ops, &timeline)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(Outcome {
        verdict,
        dir,
        summary,
    })
}
