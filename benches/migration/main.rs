//! Migration benchmark, each figure beside a baseline from the same run (DESIGN section 9):
//! - copy rate: documents a join copies per second onto the new node, against a direct bulk
//!   load of as many documents onto that node (batches of 1,000, as the copy writes);
//! - write pause: how long each cutover's fence held writes (p50, p99, max over join and drain
//!   cycles), and the slowest client write meanwhile, with two sizes of moving shards (the aim:
//!   under a second at p99, and about the same for both sizes);
//! - search latency while the copy runs, against the same searches with no migration;
//! - documents moved, against the rendezvous optimum (1/(n+1) of them for a join to n nodes).
//!
//! One replica group of two nodes, joined by a third and drained again. Real Meilisearch when a
//! binary is found, devnodes otherwise; the run says which. `cargo bench --bench migration` (or
//! `make bench`); `-- --quick` for the smoke run in `make test`. Figures go to
//! target/bench/migration.json (migration-quick.json for `--quick`).

#[path = "../../tests/cluster/util.rs"]
mod util;

#[path = "../../tests/cluster/fleet.rs"]
mod fleet;

#[path = "../coordinator/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use fleet::{Fleet, Nodes};

const INDEX: &str = "bench";
const BATCH: usize = 1000;
/// How long one wait may take before the run gives up.
const DEADLINE: Duration = Duration::from_secs(1800);

macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn doc(i: usize) -> Value {
    json!({"id": i, "text": format!("document {i} lorem ipsum dolor sit amet consectetur"), "n": i % 97})
}

async fn until<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < end, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends a write that must be enqueued (202) at `base` and waits for its task there.
async fn task(f: &Fleet, base: &str, method: Method, url: &str, body: Value) {
    let (status, t) = f.call(method, url, Some(&body)).await;
    assert_eq!(status, 202, "{url}: {t}");
    let turl = format!("{base}/tasks/{}", t["taskUid"]);
    until("a task", || async {
        let (_, t) = f.call(Method::GET, &turl, None).await;
        match t["status"].as_str() {
            Some("succeeded") => Some(()),
            Some("failed" | "canceled") => panic!("task failed: {t}"),
            _ => None,
        }
    })
    .await;
}

fn ctl(f: &Fleet, args: &[&str]) -> Value {
    let out = f.cluster.ctl(1, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or(Value::Null)
}

fn status(f: &Fleet) -> Value {
    ctl(f, &["--json", "migrate", "status"])
}

/// Waits until the newest migration's first move reaches `phase` (or is done).
async fn until_phase(f: &Fleet, phase: &str) -> Value {
    until(phase, || async {
        // Each poll starts a miroir-ctl: not too often, or it crowds the nodes out.
        tokio::time::sleep(Duration::from_millis(150)).await;
        let v = status(f);
        let p = v["moves"][0]["phase"].as_str().unwrap_or("");
        (p == phase || v["status"] == "done").then_some(v)
    })
    .await
}

async fn until_done(f: &Fleet) -> Value {
    until("the migration to finish", || async {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let v = status(f);
        match v["status"].as_str() {
            Some("done") => Some(v),
            Some("running") => None,
            other => panic!("migration is {other:?}: {v}"),
        }
    })
    .await
}

/// Search latencies (ms) of `n` searches through the router.
async fn searches(f: &Fleet, router: &str, n: usize) -> stats::Run {
    let url = format!("{router}/indexes/{INDEX}/search");
    let started = Instant::now();
    let mut run = stats::Run::default();
    for i in 0..n {
        let body = json!({"q": format!("document {}", i * 7919 % 1000), "limit": 10});
        let t0 = Instant::now();
        let (status, r) = f.call(Method::POST, &url, Some(&body)).await;
        assert_eq!(status, 200, "{r}");
        run.latencies.push(t0.elapsed());
        run.ops += 1;
    }
    run.elapsed = started.elapsed();
    run
}

/// A client writing one document at a time until stopped; each write's latency to its
/// acknowledgement (202), with when it began.
fn writer(
    f: Arc<Fleet>,
    router: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<Vec<(Instant, Duration)>> {
    tokio::spawn(async move {
        let url = format!("{router}/indexes/{INDEX}/documents");
        let mut out = vec![];
        let mut i = 10_000_000usize;
        while !stop.load(Ordering::Relaxed) {
            let t0 = Instant::now();
            let (status, _) = f.call(Method::POST, &url, Some(&json!([doc(i)]))).await;
            if status == 202 {
                out.push((t0, t0.elapsed()));
            }
            i += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        out
    })
}

fn percentile(v: &[u64], p: f64) -> u64 {
    if v.is_empty() {
        return 0;
    }
    let mut v = v.to_vec();
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

struct SizeRun {
    moving_docs: u64,
    fences: Vec<u64>,
    slowest_write_ms: f64,
    copy_rate: f64,
    bulk_rate: f64,
    search_idle: stats::Run,
    search_copy: stats::Run,
    moved_fraction: f64,
}

/// One fleet: two nodes holding `total` documents, a third joins (copy rate, search latency,
/// moved fraction), then `cycles` drains and joins of it (fence pauses).
async fn run_size(nodes: &Nodes, total: usize, cycles: usize, searches_n: usize) -> SizeRun {
    let mut f = Fleet::start_on(nodes.clone(), 1, 2).await;
    f.set_config("default_shards", "32").await;
    let router = f.start_router().await;
    task(
        &f,
        &router,
        Method::POST,
        &format!("{router}/indexes"),
        json!({"uid": INDEX, "primaryKey": "id"}),
    )
    .await;
    let t0 = Instant::now();
    for chunk in (0..total).collect::<Vec<_>>().chunks(BATCH) {
        let docs: Vec<Value> = chunk.iter().map(|i| doc(*i)).collect();
        task(
            &f,
            &router,
            Method::POST,
            &format!("{router}/indexes/{INDEX}/documents"),
            Value::from(docs),
        )
        .await;
    }
    say!(
        "  {total} documents loaded in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let new = f.spawn_unregistered("meili-0-new", 0).await;
    let new_addr = f.nodes[new].2.addr.clone();
    let search_idle = searches(&f, &router, searches_n).await;

    let f = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(f.clone(), router.clone(), stop.clone());
    let copy_search: Arc<Mutex<Option<stats::Run>>> = Default::default();

    // The join: copy rate and search latency while it copies.
    let started = Instant::now();
    ctl(
        &f,
        &[
            "--json",
            "nodes",
            "add",
            "--id",
            "meili-0-new",
            "--address",
            &new_addr,
            "--group",
            "0",
        ],
    );
    until_phase(&f, "copy").await;
    let copying = Instant::now();
    let search_copy = searches(&f, &router, searches_n).await;
    *copy_search.lock().unwrap() = Some(search_copy.clone());
    let fenced = until_phase(&f, "drain").await;
    let copy_s = copying.elapsed().as_secs_f64();
    let done = until_done(&f).await;
    let copied = done["moves"][0]["copied"].as_u64().unwrap_or(0);
    let moving_docs = fenced["moves"][0]["copied"].as_u64().unwrap_or(copied);
    let copy_rate = moving_docs as f64 / copy_s.max(0.001);
    let moved_fraction = moving_docs as f64 / total as f64;
    let mut fences: Vec<u64> = done["moves"][0]["fence_ms"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_u64)
        .collect();
    say!(
        "  join: {moving_docs} documents copied in {copy_s:.2} s ({:.1} s in all)",
        started.elapsed().as_secs_f64()
    );

    for c in 0..cycles {
        let args: Vec<&str> = match c % 2 {
            0 => vec!["--json", "nodes", "drain", "meili-0-new"],
            _ => vec![
                "--json",
                "nodes",
                "add",
                "--id",
                "meili-0-new",
                "--address",
                &new_addr,
                "--group",
                "0",
            ],
        };
        ctl(&f, &args);
        let done = until_done(&f).await;
        fences.extend(
            done["moves"][0]["fence_ms"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_u64),
        );
    }
    stop.store(true, Ordering::Relaxed);
    let writes = w.await.unwrap();
    let slowest_write_ms = writes
        .iter()
        .map(|(_, d)| d.as_secs_f64() * 1000.0)
        .fold(0.0, f64::max);

    // Baseline: as many documents loaded straight onto the new node, in batches of 1,000.
    let bulk = "bench_bulk";
    task(
        &f,
        &new_addr,
        Method::POST,
        &format!("{new_addr}/indexes"),
        json!({"uid": bulk, "primaryKey": "id"}),
    )
    .await;
    let t0 = Instant::now();
    for chunk in (0..moving_docs as usize).collect::<Vec<_>>().chunks(BATCH) {
        let docs: Vec<Value> = chunk.iter().map(|i| doc(*i)).collect();
        task(
            &f,
            &new_addr,
            Method::POST,
            &format!("{new_addr}/indexes/{bulk}/documents"),
            Value::from(docs),
        )
        .await;
    }
    let bulk_rate = moving_docs as f64 / t0.elapsed().as_secs_f64().max(0.001);
    SizeRun {
        moving_docs,
        fences,
        slowest_write_ms,
        copy_rate,
        bulk_rate,
        search_idle,
        search_copy,
        moved_fraction,
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let nodes = Nodes::best_available();
    // Documents in all; a join to two nodes moves about a third of them.
    let (sizes, cycles, n_search): (Vec<usize>, usize, usize) = match quick {
        true => (vec![3_000], 1, 50),
        false => (vec![30_000, 600_000], 2, 300),
    };
    say!(
        "migration benchmark ({}), nodes: {}",
        if quick { "quick" } else { "full" },
        nodes.describe()
    );
    let started = Instant::now();
    let mut figures = vec![];
    let mut runs = vec![];
    for total in sizes {
        say!("{total} documents, two nodes, a third joins then leaves and joins {cycles} times");
        let r = run_size(&nodes, total, cycles, n_search).await;
        let (p50, p99, max) = (
            percentile(&r.fences, 0.5),
            percentile(&r.fences, 0.99),
            r.fences.iter().copied().max().unwrap_or(0),
        );
        say!(
            "  copy: {:.0} documents/s; direct bulk load of as many: {:.0}/s; ratio {:.2}",
            r.copy_rate,
            r.bulk_rate,
            r.copy_rate / r.bulk_rate
        );
        say!(
            "  fence over {} cutovers with {} documents moving: p50 {p50} ms, p99 {p99} ms, max {max} ms; slowest client write meanwhile {:.0} ms",
            r.fences.len(), r.moving_docs, r.slowest_write_ms
        );
        let (idle50, copy50) = (
            r.search_idle.percentile_ms(0.5),
            r.search_copy.percentile_ms(0.5),
        );
        let (idle99, copy99) = (
            r.search_idle.percentile_ms(0.99),
            r.search_copy.percentile_ms(0.99),
        );
        say!(
            "  search during the copy: p50 {copy50:.1} ms, p99 {copy99:.1} ms; with no migration: p50 {idle50:.1} ms, p99 {idle99:.1} ms; p50 ratio {:.2}",
            copy50 / idle50
        );
        let optimum = 1.0 / 3.0;
        say!(
            "  moved: {:.3} of the documents; rendezvous optimum 1/(n+1) = {optimum:.3}; ratio {:.2}",
            r.moved_fraction, r.moved_fraction / optimum
        );
        figures.push(json!({"figure": format!("copy rate, documents/s ({} moving)", r.moving_docs), "value": r.copy_rate,
            "baseline_setup": "direct bulk load of as many documents onto the new node", "baseline": r.bulk_rate,
            "ratio": r.copy_rate / r.bulk_rate}));
        figures.push(json!({"figure": format!("fence pause ms ({} moving)", r.moving_docs),
            "p50": p50, "p99": p99, "max": max, "cutovers": r.fences.len(), "slowest_write_ms": r.slowest_write_ms}));
        figures.push(json!({"figure": format!("search p50 ms during the copy ({} moving)", r.moving_docs), "value": copy50,
            "baseline_setup": "the same searches with no migration", "baseline": idle50, "ratio": copy50 / idle50,
            "p99": copy99, "baseline_p99": idle99}));
        figures.push(json!({"figure": "fraction of documents moved by a join to 2 nodes", "value": r.moved_fraction,
            "baseline_setup": "rendezvous optimum 1/(n+1)", "baseline": optimum, "ratio": r.moved_fraction / optimum}));
        runs.push(p99);
    }
    if runs.len() == 2 {
        say!(
            "fence p99, large over small moving shards: {:.2}",
            runs[1] as f64 / runs[0].max(1) as f64
        );
    }
    let report = json!({
        "mode": if quick { "quick" } else { "full" },
        "nodes": if nodes.is_real() { "meilisearch" } else { "devnode" },
        "figures": figures,
    });
    let file = stats::write_report("migration", quick, &report);
    say!(
        "written to {} ({:.0} s in all)",
        file.display(),
        started.elapsed().as_secs_f64()
    );
}
