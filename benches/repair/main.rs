//! Repair benchmark, each figure beside a baseline from the same run (DESIGN section 9):
//! - documents an anti-entropy `verify` pass compares per second per node, against a plain
//!   full read of the same node's documents (paged `documents/fetch`);
//! - the time a copy that missed a stretch of writes (a minute; 5 s with `--quick`) takes to
//!   return to serving (writes at 100 documents a second meanwhile), against the time to copy its
//!   documents whole onto the node.
//!
//! Two replica groups of one node each, so each node holds every shard. The nodes are real
//! Meilisearch when a binary is found (`MEILI_BIN`, `../shared/meilisearch/meilisearch`, `PATH`),
//! devnodes otherwise; the run says which. `cargo bench --bench repair` (or `make bench`);
//! `-- --quick` for the smoke run in `make test`. Figures go to target/bench/repair.json
//! (repair-quick.json for `--quick`).

#[path = "../../tests/cluster/util.rs"]
mod util;

#[path = "../../tests/cluster/fleet.rs"]
mod fleet;

#[path = "../coordinator/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{json, Value};

use fleet::{Fleet, Nodes};

const INDEX: &str = "bench";
const BATCH: usize = 1000;
const PAGE: usize = 1000;
/// How long one wait may take before the run gives up.
const DEADLINE: Duration = Duration::from_secs(900);

macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

fn doc(i: usize, round: usize) -> Value {
    json!({"id": i, "text": format!("document {i} round {round} lorem ipsum dolor sit amet"), "n": i % 97})
}

/// Polls `f` until it gives `Some`, or panics after [`DEADLINE`].
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
        tokio::time::sleep(Duration::from_millis(50)).await;
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

/// Every document of `index` on node `base`, page by page: (documents, seconds).
async fn full_read(f: &Fleet, base: &str, index: &str) -> (Vec<Value>, f64) {
    let url = format!("{base}/indexes/{index}/documents/fetch");
    let started = Instant::now();
    let mut all = vec![];
    loop {
        let body = json!({"offset": all.len(), "limit": PAGE, "retrieveVectors": true});
        let (status, page) = f.call(Method::POST, &url, Some(&body)).await;
        assert_eq!(status, 200, "{page}");
        let docs = page["results"].as_array().cloned().unwrap_or_default();
        let done = docs.len() < PAGE;
        all.extend(docs);
        if done {
            break;
        }
    }
    (all, started.elapsed().as_secs_f64())
}

/// How many copies are behind now.
async fn behind(f: &Fleet) -> usize {
    let leader = f.cluster.leader().await;
    let out = f.cluster.ctl(leader, &["anti-entropy", "status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    v["behind"].as_array().map_or(usize::MAX, Vec::len)
}

/// Writes `docs` through the router and waits for the task.
async fn write(f: &Fleet, router: &str, docs: Vec<Value>) {
    let url = format!("{router}/indexes/{INDEX}/documents");
    task(f, router, Method::POST, &url, Value::from(docs)).await;
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_docs, away_s) = if quick { (2_000, 5) } else { (20_000, 60) };
    let nodes = Nodes::best_available();
    let kind = nodes.describe();
    say!(
        "repair benchmark ({}): {n_docs} documents, a node away for {away_s} s of writes, nodes: {kind}",
        if quick { "quick" } else { "full" }
    );
    let started = Instant::now();
    let mut f = Fleet::start_on(nodes.clone(), 2, 1).await;
    f.set_config("default_shards", "8").await;
    f.set_config("anti_entropy_docs_per_s", "0").await;
    let router = f.start_router_with(&["--node-timeout-ms", "2000"]).await;
    let base = |f: &Fleet, i: usize| f.nodes[i].2.addr.clone();
    task(
        &f,
        &router,
        Method::POST,
        &format!("{router}/indexes"),
        json!({"uid": INDEX, "primaryKey": "id"}),
    )
    .await;
    for chunk in (0..n_docs).collect::<Vec<_>>().chunks(BATCH) {
        let docs: Vec<Value> = chunk.iter().map(|i| doc(*i, 0)).collect();
        write(&f, &router, docs).await;
    }
    say!(
        "{n_docs} documents loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // 1. Verify against a plain full read of the same node.
    let (docs, read_s) = full_read(&f, &base(&f, 0), INDEX).await;
    assert_eq!(docs.len(), n_docs, "the node holds every document");
    let read_rate = n_docs as f64 / read_s;
    let leader = f.cluster.leader().await;
    let out = f.cluster.ctl(
        leader,
        &["anti-entropy", "verify", "--index", INDEX, "--json"],
    );
    let pass: Value = serde_json::from_slice(&out.stdout).expect("the pass as JSON");
    // From the pass's own record: started to done, without the CLI's start or its polling.
    let ms = |k: &str| pass[k].as_u64().unwrap_or(0) as f64;
    let verify_s = (ms("updated_at_ms") - ms("created_at_ms")) / 1000.0;
    assert!(out.status.success(), "the copies agree: {pass}");
    let compared = pass["pass"]["counts"]["documents_compared"]
        .as_u64()
        .unwrap_or(0);
    assert_eq!(compared, n_docs as u64);
    // Each node's copy is read whole, the two at once: documents per second per node.
    let verify_rate = n_docs as f64 / verify_s;
    say!(
        "\nverify: {verify_rate:.0} documents/s per node ({verify_s:.2} s for {n_docs} on each of 2 nodes); plain full read of one node: {read_rate:.0}/s ({read_s:.2} s); ratio {:.2}",
        verify_rate / read_rate
    );

    // 2. A node away while clients write, then back: time to serving.
    f.take_away(0);
    let writes_started = Instant::now();
    let mut written = 0usize;
    let mut round = 1;
    // A steady 100 documents a second, updates of existing ones and new ones alike.
    while writes_started.elapsed() < Duration::from_secs(away_s) {
        let next = tokio::time::Instant::now() + Duration::from_millis(200);
        let docs: Vec<Value> = (0..20)
            .map(|k| {
                let i = (round * 37 + k * 101) % (n_docs + n_docs / 2);
                doc(i, round)
            })
            .collect();
        write(&f, &router, docs).await;
        written += 20;
        round += 1;
        tokio::time::sleep_until(next).await;
    }
    assert!(behind(&f).await > 0, "the away node's copies are behind");
    f.bring_back(0).await;
    let t0 = Instant::now();
    until("the copies to serve again", || async {
        (behind(&f).await == 0).then_some(())
    })
    .await;
    let repair_s = t0.elapsed().as_secs_f64();
    let (after, _) = full_read(&f, &base(&f, 0), INDEX).await;
    let (reference, _) = full_read(&f, &base(&f, 1), INDEX).await;
    assert_eq!(
        after.len(),
        reference.len(),
        "the repaired copy holds every document"
    );

    // Baseline: copying the node's documents whole (what a rebuild writes), onto a new index.
    let whole = reference.len();
    let copy_url = format!("{}/indexes/bench_whole", base(&f, 0));
    let t0 = Instant::now();
    task(
        &f,
        &base(&f, 0),
        Method::POST,
        &format!("{}/indexes", base(&f, 0)),
        json!({"uid": "bench_whole", "primaryKey": "id"}),
    )
    .await;
    let (source, _) = full_read(&f, &base(&f, 1), INDEX).await;
    for chunk in source.chunks(BATCH) {
        task(
            &f,
            &base(&f, 0),
            Method::POST,
            &format!("{copy_url}/documents"),
            Value::from(chunk.to_vec()),
        )
        .await;
    }
    let copy_s = t0.elapsed().as_secs_f64();
    say!(
        "catch-up: back to serving {repair_s:.2} s after {written} writes in {away_s} s; copying its {whole} documents whole: {copy_s:.2} s; ratio {:.2}",
        repair_s / copy_s
    );

    let report = json!({
        "mode": if quick { "quick" } else { "full" },
        "nodes": if nodes.is_real() { "meilisearch" } else { "devnode" },
        "documents": n_docs,
        "figures": [
            {"figure": "documents verified per second per node", "value": verify_rate,
             "baseline_setup": "plain full read of the same node", "baseline": read_rate,
             "ratio": verify_rate / read_rate},
            {"figure": format!("seconds for a copy that missed {away_s} s of writes ({written} documents) to serve again"),
             "value": repair_s, "baseline_setup": format!("copying its {whole} documents whole"), "baseline": copy_s,
             "ratio": repair_s / copy_s},
        ],
    });
    let file = stats::write_report("repair", quick, &report);
    say!(
        "written to {} ({:.0} s in all)",
        file.display(),
        started.elapsed().as_secs_f64()
    );
}
