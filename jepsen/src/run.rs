//! One run: hosts up, cluster up, clients and nemesis together for the time
//! limit, heal, let the cluster settle, judge, write the folder.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use serde_json::{json, Value};

use crate::check::Verdict;
use crate::cli::RunArgs;
use crate::db::switches::Unsafe;
use crate::db::{Db, Layout};
use crate::history::{Op, Recorder};
use crate::nemesis::{schedule, Kind, Nemesis};
use crate::net::Net;
use crate::report::{self, RunSummary};
use crate::workload::{register, Workload};

/// What a run concluded, and where its folder is.
pub struct Outcome {
    pub verdict: Verdict,
    pub dir: PathBuf,
    pub summary: RunSummary,
}

/// Everything a run was asked for, validated.
pub struct Plan {
    pub args: RunArgs,
    pub seed: u64,
    pub workloads: Vec<Workload>,
    pub nemeses: Vec<Kind>,
    pub switches: Vec<Unsafe>,
}

impl Plan {
    pub fn from_args(args: RunArgs) -> Result<Plan> {
        let workloads = Workload::parse_list(&args.workload).map_err(anyhow::Error::msg)?;
        let nemeses = Kind::parse_list(&args.nemesis).map_err(anyhow::Error::msg)?;
        let switches = args
            .unsafe_switches
            .iter()
            .map(|s| s.parse::<Unsafe>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        if !(3..=7).contains(&args.coordinators) {
            bail!("--coordinators must be 3 to 7");
        }
        if args.time_limit < 5 {
            bail!("--time-limit must be at least 5 seconds");
        }
        let seed = args.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Ok(Plan {
            args,
            seed,
            workloads,
            nemeses,
            switches,
        })
    }

    fn layout(&self) -> Layout {
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for s in &self.switches {
            let (role, flag) = s.flag();
            extra.entry(role.into()).or_default().push(flag.into());
        }
        Layout {
            coordinators: self.args.coordinators,
            spare_coordinators: u64::from(self.nemeses.contains(&Kind::Membership)),
            routers: self.args.routers,
            nodes_per_group: self.args.nodes_per_group,
            groups: self.args.groups,
            extra,
        }
    }

    /// The command line that repeats this run.
    fn command(&self) -> String {
        let a = &self.args;
        let mut c = format!(
            "miroir-jepsen run --workload {} --nemesis {} --time-limit {} --seed {} \
             --coordinators {} --routers {} --groups {} --nodes-per-group {} --clients {}",
            names(&self.workloads),
            if self.nemeses.is_empty() {
                "none".into()
            } else {
                names(&self.nemeses)
            },
            a.time_limit,
            self.seed,
            a.coordinators,
            a.routers,
            a.groups,
            a.nodes_per_group,
            a.clients
        );
        for s in &self.switches {
            c += &format!(" --unsafe {s}");
        }
        c
    }
}

fn names<T: std::fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
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

/// Runs `plan` to the end. Hosts and processes are removed when this
/// returns, whether it succeeded or not (they are owned by values dropped here).
pub async fn run(plan: &Plan) -> Result<Outcome> {
    let dir = run_dir(&plan.args.store, plan.seed)?;
    let layout = plan.layout();
    let names = layout.host_names();
    let net = Net::create(&names.iter().map(String::as_str).collect::<Vec<_>>())?;
    let db = Db::new(layout, &net, &bin_dir(&plan.args)?, &dir)?;
    let started_at = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let start = Instant::now();
    let history = Recorder::new(start);
    let mut nemesis = Nemesis::new(db, net, history.clone());
    nemesis.db.setup().await.context("starting the cluster")?;
    tracing::info!(
        "cluster up in {:?}; running for {} s",
        start.elapsed(),
        plan.args.time_limit
    );

    let load_start = Instant::now();
    let until = load_start + Duration::from_secs(plan.args.time_limit);
    let windows = schedule::plan(
        plan.seed,
        &plan.nemeses,
        Duration::from_secs(plan.args.time_limit),
        schedule::Pace::default(),
    );
    let mut clients = tokio::task::JoinSet::new();
    for w in &plan.workloads {
        match w {
            Workload::Register => {
                let coordinators = nemesis
                    .db
                    .layout
                    .coordinator_names()
                    .into_iter()
                    .map(|c| Ok((c.clone(), nemesis.db.channel(&c)?)))
                    .collect::<Result<Vec<_>>>()?;
                let counter = Arc::new(AtomicU64::new(1));
                let opts = register::Options {
                    clients: plan.args.clients,
                    ..Default::default()
                };
                for i in 0..plan.args.clients {
                    clients.spawn(register::client(
                        i,
                        plan.seed,
                        coordinators.clone(),
                        opts.clone(),
                        counter.clone(),
                        history.clone(),
                        until,
                    ));
                }
            }
        }
    }
    nemesis.run(&windows, load_start).await?;
    while clients.join_next().await.is_some() {}
    nemesis.heal_all().await?;
    let crashed = nemesis.db.crashed();

    let ops = history.snapshot();
    let mut results = BTreeMap::new();
    let mut verdict = Verdict::Valid;
    for w in &plan.workloads {
        let (v, detail) = judge(*w, &ops);
        verdict = verdict.combine(v);
        results.insert(w.name().to_string(), detail);
    }
    if !crashed.is_empty() {
        verdict = verdict.combine(Verdict::Invalid);
        results.insert(
            "processes".into(),
            json!({"verdict": "invalid", "crashed": crashed}),
        );
    }
    let timeline = nemesis.timeline.lock().expect("timeline").clone();
    let summary = RunSummary {
        seed: plan.seed,
        command: plan.command(),
        workloads: plan.workloads.iter().map(|w| w.name().into()).collect(),
        nemeses: plan.nemeses.iter().map(|k| k.name().into()).collect(),
        started_at: format!("{started_at} (Unix time)"),
        duration_ms: start.elapsed().as_millis() as u64,
        verdict: verdict_name(verdict).into(),
        results,
        unsafe_switches: plan.switches.iter().map(|s| s.name().into()).collect(),
    };
    report::write_run(&dir, &summary, &ops, &timeline)
        .with_context(|| format!("writing {}", dir.display()))?;
    Ok(Outcome {
        verdict,
        dir,
        summary,
    })
}

pub fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Valid => "valid",
        Verdict::Invalid => "invalid",
        Verdict::Unknown => "unknown",
    }
}

/// Runs the workload's checker on its share of the history.
fn judge(w: Workload, ops: &[Op]) -> (Verdict, Value) {
    match w {
        Workload::Register => {
            let mine: Vec<Op> = ops
                .iter()
                .filter(|o| {
                    o.key
                        .as_deref()
                        .is_some_and(|k| k.starts_with("user.jepsen-register-"))
                })
                .cloned()
                .collect();
            let r = crate::check::register::check_register(&mine, Duration::from_secs(120));
            let mut detail = serde_json::to_value(&r).unwrap_or(Value::Null);
            detail["verdict"] = json!(verdict_name(r.verdict));
            detail["operations"] = json!(mine.len() / 2);
            (r.verdict, detail)
        }
    }
}
