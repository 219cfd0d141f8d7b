//! Coordinator benchmark: a local 3-member Miroir cluster with durable storage
//! against a 3-member etcd cluster started in the same run, side by side.
//!
//! `cargo bench --bench coordinator` (or `make bench`); `-- --quick` for the
//! short smoke run that `make test` does. Figures are printed as a table with
//! the Miroir/etcd ratio, and written to target/bench/coordinator.json.

#[path = "../../tests/cluster/util.rs"]
mod util;

mod stats;
mod targets;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use stats::{cpu_secs, disk_mib, rss_mib, Run};
use targets::{Client, EtcdCluster, Target};

/// Keys are overwritten in a bounded key space, so the state stays the same
/// size and any growth of disk or memory comes from the log and its storage.
const KEYS: usize = 1000;

struct Plan {
    single: usize,
    concurrent: usize,
    reads: usize,
    sustained: usize,
    clients: usize,
}

impl Plan {
    /// Where disk and memory are read during the sustained writes.
    fn checkpoints(&self) -> Vec<usize> {
        (1..=4).map(|i| self.sustained * i / 4).collect()
    }

    fn new(quick: bool) -> Self {
        if quick {
            Plan {
                single: 200,
                concurrent: 2000,
                reads: 200,
                sustained: 8000,
                clients: 64,
            }
        } else {
            Plan {
                single: 2000,
                concurrent: 20_000,
                reads: 2000,
                sustained: 400_000,
                clients: 64,
            }
        }
    }
}

#[derive(Default, Debug)]
struct Figures {
    rows: Vec<(String, f64)>,
}

impl Figures {
    fn add(&mut self, name: &str, v: f64) {
        println!("  {name:<44} {v:>10.2}");
        self.rows.push((name.to_string(), v));
    }
    fn get(&self, name: &str) -> Option<f64> {
        self.rows.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }
}

/// `ops` writes from `clients` concurrent clients, all sent to `member`.
async fn writes(t: &Target, member: usize, clients: usize, ops: usize, offset: usize) -> Run {
    let channels: Vec<Client> = (0..clients.clamp(1, 4))
        .map(|_| t.client(member, Duration::from_secs(10)))
        .collect();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let mut c = channels[i % channels.len()].clone();
            let next = next.clone();
            tokio::spawn(async move {
                let mut lat = vec![];
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    if n >= ops {
                        return lat;
                    }
                    let key = format!("b{}", (n + offset) % KEYS);
                    let t0 = Instant::now();
                    c.put(&key, &format!("v{n}"))
                        .await
                        .expect("write failed during the benchmark");
                    lat.push(t0.elapsed());
                }
            })
        })
        .collect();
    let mut latencies = vec![];
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    Run {
        ops,
        elapsed: started.elapsed(),
        latencies,
    }
}

async fn reads(t: &Target, member: usize, ops: usize) -> Run {
    let mut c = t.client(member, Duration::from_secs(10));
    let started = Instant::now();
    let mut latencies = vec![];
    for n in 0..ops {
        let t0 = Instant::now();
        c.get(&format!("b{}", n % KEYS))
            .await
            .expect("read failed during the benchmark");
        latencies.push(t0.elapsed());
    }
    Run {
        ops,
        elapsed: started.elapsed(),
        latencies,
    }
}

/// Kills the leader and measures until a write through a survivor succeeds.
async fn failover(t: &mut Target) -> Duration {
    let leader = t.leader().await;
    let survivors: Vec<Client> = t
        .members()
        .into_iter()
        .filter(|m| *m != leader)
        .map(|m| t.client(m, Duration::from_millis(300)))
        .collect();
    t.kill(leader);
    let started = Instant::now();
    let mut i = 0;
    loop {
        let mut c = survivors[i % survivors.len()].clone();
        i += 1;
        if c.put("failover", "x").await.is_ok() {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no write succeeded after the leader was killed"
        );
    }
}

/// Disk and memory at a checkpoint: the largest member's, and with `each`
/// every member's.
async fn resources(t: &Target, f: &mut Figures, label: &str, each: bool) {
    if let Target::Miroir(c) = t {
        // Entries still in the log: bounded by --snapshot-every plus --keep-logs.
        let leader = c.leader().await;
        let s = c.status(leader).await.expect("status");
        let retained = s
            .members
            .iter()
            .map(|m| m.last_log_index.unwrap_or(0) - m.purged_index.unwrap_or(0))
            .max()
            .unwrap_or(0);
        f.add(
            &format!("log entries kept after {label} commits"),
            retained as f64,
        );
    }
    let members = t.members();
    let disk = members
        .iter()
        .map(|m| disk_mib(&t.data_dir(*m)))
        .fold(0.0, f64::max);
    let rss = members
        .iter()
        .filter_map(|m| t.pid(*m))
        .map(rss_mib)
        .fold(0.0, f64::max);
    f.add(
        &format!("disk after {label} commits, MiB (max member)"),
        disk,
    );
    f.add(&format!("RSS after {label} commits, MiB (max member)"), rss);
    if each {
        for (i, m) in members.iter().enumerate() {
            let rss = t.pid(*m).map_or(f64::NAN, rss_mib);
            f.add(
                &format!("disk after {label} commits, MiB, member {}", i + 1),
                disk_mib(&t.data_dir(*m)),
            );
            f.add(
                &format!("RSS after {label} commits, MiB, member {}", i + 1),
                rss,
            );
        }
    }
}

async fn run(mut t: Target, plan: &Plan) -> Figures {
    println!("\n{}:", t.name());
    let mut f = Figures::default();
    let leader = t.leader().await;
    writes(&t, leader, 8, 500, 0).await; // warm-up
    let one = writes(&t, leader, 1, plan.single, 0).await;
    f.add("write, 1 client: commits/s", one.per_sec());
    f.add("write, 1 client: p50 ms", one.percentile_ms(0.5));
    f.add("write, 1 client: p99 ms", one.percentile_ms(0.99));
    let cpu = |t: &Target| -> f64 {
        t.members()
            .iter()
            .filter_map(|m| t.pid(*m))
            .map(cpu_secs)
            .sum()
    };
    let cpu_before = cpu(&t);
    let many = writes(&t, leader, plan.clients, plan.concurrent, 0).await;
    let cpu_ms = (cpu(&t) - cpu_before) * 1000.0 / plan.concurrent as f64;
    f.add(
        &format!("write, {} clients: commits/s", plan.clients),
        many.per_sec(),
    );
    f.add(
        &format!("write, {} clients: p50 ms", plan.clients),
        many.percentile_ms(0.5),
    );
    f.add(
        &format!("write, {} clients: p99 ms", plan.clients),
        many.percentile_ms(0.99),
    );
    f.add("CPU ms per commit, all members", cpu_ms);
    let r = reads(&t, leader, plan.reads).await;
    f.add("linearizable read: p50 ms", r.percentile_ms(0.5));
    f.add("linearizable read: p99 ms", r.percentile_ms(0.99));

    // Sustained writes, with disk and memory read at each checkpoint: flat
    // figures from one checkpoint to the next show compaction keeps them bounded.
    let mut done = 500 + plan.single + plan.concurrent;
    for checkpoint in plan.checkpoints() {
        writes(&t, leader, plan.clients, checkpoint.saturating_sub(done), 0).await;
        done = done.max(checkpoint);
        let last = checkpoint == plan.sustained;
        resources(&t, &mut f, &checkpoint.to_string(), last).await;
    }

    let ms = failover(&mut t).await.as_secs_f64() * 1000.0;
    f.add("leader kill -> next successful write, ms", ms);
    f
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick");
    let mut plan = Plan::new(quick);
    // `--commits N`: how many commits the sustained phase reaches.
    if let Some(n) = args
        .iter()
        .position(|a| a == "--commits")
        .and_then(|i| args.get(i + 1))
    {
        plan.sustained = n.parse().expect("--commits takes a number");
    }
    let with_etcd = !args.iter().any(|a| a == "--skip-etcd");
    println!(
        "coordinator benchmark ({}): 3 members each, loopback, durable storage; {} keys overwritten",
        if quick { "quick" } else { "full" },
        KEYS
    );
    let miroir = run(
        Target::Miroir(util::Cluster::start_with(
            3,
            &["--snapshot-every", "5000", "--keep-logs", "1000"],
            None,
        )),
        &plan,
    )
    .await;
    let etcd = if !with_etcd {
        None
    } else if EtcdCluster::available() {
        Some(run(Target::Etcd(EtcdCluster::start()), &plan).await)
    } else {
        println!("\netcd is not installed (`make deps-bench` installs Debian's etcd-server): no baseline");
        None
    };
    report(&miroir, etcd.as_ref(), quick);
}

fn report(m: &Figures, e: Option<&Figures>, quick: bool) {
    println!(
        "\n{:<48} {:>10} {:>10} {:>12}",
        "figure", "miroir", "etcd", "miroir/etcd"
    );
    let mut json = vec![];
    for (name, v) in &m.rows {
        let b = e.and_then(|e| e.get(name));
        let ratio = b.map(|b| v / b);
        println!(
            "{name:<48} {v:>10.2} {:>10} {:>12}",
            b.map_or("-".into(), |b| format!("{b:.2}")),
            ratio.map_or("-".into(), |r| format!("{r:.2}"))
        );
        json.push(serde_json::json!({ "figure": name, "miroir": v, "etcd": b, "ratio": ratio }));
    }
    let file = stats::write_report("coordinator", quick, &serde_json::Value::from(json));
    println!("\nwritten to {}", file.display());
}
