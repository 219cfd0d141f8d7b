//! Router benchmark: the same documents and searches through a router over one
//! node, through a router over three nodes (one replica group), and directly
//! against one node, in the same run. The nodes are real Meilisearch when a
//! binary is found (`MEILI_BIN`, `../shared/meilisearch/meilisearch`, `PATH`),
//! devnodes otherwise; the run says which. `cargo bench --bench router` (or
//! `make bench`); `-- --quick` for the smoke run in `make test`. Figures go to
//! target/bench/router.json (router-quick.json for `--quick`).

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

use fleet::{Fleet, Nodes, KEY};
use stats::Run;

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

/// `println!` that ignores a closed stdout (`| head`): a panic there would
/// unwind into the fleets' drops, whose log dump on panic cannot print either.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// Documents per write request.
const BATCH: usize = 1000;

/// How long one task may take before the run gives up: real Meilisearch
/// indexing 20,000 documents on one thread of a busy machine is slow, but not
/// this slow.
const TASK_DEADLINE: Duration = Duration::from_secs(600);

/// Searches each target answers before it is measured (connections, caches).
const WARMUP: usize = 20;

fn docs(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let text: Vec<&str> = (0..6)
                .map(|k| WORDS[(i * 7 + k * 3) % WORDS.len()])
                .collect();
            json!({"id": i, "text": text.join(" "), "group": WORDS[i % 4], "n": i % 97})
        })
        .collect()
}

fn query(i: usize) -> Value {
    let q = format!(
        "{} {}",
        WORDS[i % WORDS.len()],
        WORDS[(i * 5 + 1) % WORDS.len()]
    );
    match i % 3 {
        0 => json!({"q": q, "limit": 10}),
        1 => json!({"q": q, "limit": 10, "facets": ["group"]}),
        _ => json!({"q": "", "filter": format!("n < {}", i % 90), "sort": ["n:desc"], "limit": 10}),
    }
}

/// Where documents are written and searched: a router or a node, and the
/// index uid there. Tasks are polled at `base` too.
struct Target<'a> {
    label: &'static str,
    fleet: &'a Fleet,
    base: String,
    index: &'static str,
}

impl Target<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/indexes/{}{path}", self.base, self.index)
    }

    /// Waits until the task `enqueued` (a 202 body) has succeeded at `base`;
    /// panics if it failed or never finished.
    async fn wait(&self, enqueued: &Value) {
        let uid = enqueued["taskUid"]
            .as_u64()
            .unwrap_or_else(|| panic!("{}: no task uid in {enqueued}", self.label));
        let url = format!("{}/tasks/{uid}", self.base);
        let end = Instant::now() + TASK_DEADLINE;
        loop {
            let (status, t) = self.fleet.call(Method::GET, &url, None).await;
            match t["status"].as_str() {
                Some("succeeded") => return,
                Some("failed" | "canceled") => {
                    panic!("{}: task {uid} did not succeed: {t}", self.label)
                }
                _ if status != 200 => panic!("{}: GET {url}: {status} {t}", self.label),
                _ => {}
            }
            assert!(
                Instant::now() < end,
                "{}: task {uid} unfinished after {TASK_DEADLINE:?}: {t}",
                self.label
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sends a request that must be enqueued (202) and waits for its task.
    async fn task(&self, method: Method, url: &str, body: &Value) {
        let (status, t) = self.fleet.call(method, url, Some(body)).await;
        assert_eq!(status, 202, "{}: {url}: {t}", self.label);
        self.wait(&t).await;
    }

    /// Creates the index with the settings the query mix needs (not timed).
    async fn prepare(&self) {
        self.task(
            Method::POST,
            &format!("{}/indexes", self.base),
            &json!({"uid": self.index, "primaryKey": "id"}),
        )
        .await;
        let settings = json!({"filterableAttributes": ["group", "n"], "sortableAttributes": ["n"]});
        self.task(Method::PATCH, &self.url("/settings"), &settings)
            .await;
    }

    /// Writes `docs` in batches, timed from the first POST until every task
    /// has succeeded, and checks that all are found: documents per second.
    async fn write(&self, docs: &[Value]) -> f64 {
        let url = self.url("/documents");
        let started = Instant::now();
        let mut tasks = vec![];
        for chunk in docs.chunks(BATCH) {
            let (status, t) = self
                .fleet
                .call(Method::POST, &url, Some(&Value::from(chunk.to_vec())))
                .await;
            assert_eq!(status, 202, "{}: {url}: {t}", self.label);
            tasks.push(t);
        }
        for t in &tasks {
            self.wait(t).await;
        }
        let per_sec = docs.len() as f64 / started.elapsed().as_secs_f64();
        let (status, body) = self
            .fleet
            .call(
                Method::POST,
                &self.url("/search"),
                Some(&json!({"q": "", "limit": 0})),
            )
            .await;
        assert_eq!(status, 200, "{}: {body}", self.label);
        assert_eq!(
            body["estimatedTotalHits"].as_u64(),
            Some(docs.len() as u64),
            "{}: documents found after the write: {body}",
            self.label
        );
        per_sec
    }

    /// One search of the mix; its latency.
    async fn search(&self, i: usize) -> Duration {
        search(&self.fleet.http, &self.url("/search"), i).await
    }

    /// `n` searches from `clients` concurrent clients.
    async fn searches(&self, n: usize, clients: usize) -> Run {
        let url = self.url("/search");
        let started = Instant::now();
        let tasks: Vec<_> = (0..clients)
            .map(|c| {
                let http = self.fleet.http.clone();
                let url = url.clone();
                tokio::spawn(async move {
                    let mut lat = vec![];
                    for i in (c..n).step_by(clients) {
                        lat.push(search(&http, &url, i).await);
                    }
                    lat
                })
            })
            .collect();
        let mut latencies = vec![];
        for t in tasks {
            latencies.extend(t.await.unwrap());
        }
        Run {
            ops: n,
            elapsed: started.elapsed(),
            latencies,
        }
    }
}

async fn search(http: &reqwest::Client, url: &str, i: usize) -> Duration {
    let t0 = Instant::now();
    let r = http
        .post(url)
        .bearer_auth(KEY)
        .json(&query(i))
        .send()
        .await
        .expect("search");
    let status = r.status();
    let body = r.bytes().await.expect("body");
    let took = t0.elapsed();
    assert!(
        status.is_success(),
        "search {} at {url} failed: {status} {}",
        query(i),
        String::from_utf8_lossy(&body)
    );
    took
}

/// One figure beside its baseline from the same run.
struct Row {
    figure: String,
    setup: &'static str,
    value: f64,
    baseline_setup: &'static str,
    baseline: f64,
}

impl Row {
    fn new(figure: &str, t: &Target, value: f64, b: &Target, baseline: f64) -> Self {
        Row {
            figure: figure.into(),
            setup: t.label,
            value,
            baseline_setup: b.label,
            baseline,
        }
    }

    fn ratio(&self) -> Option<f64> {
        (self.baseline != 0.0 && self.baseline.is_finite()).then(|| self.value / self.baseline)
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_docs, n_queries) = if quick { (2000, 200) } else { (20_000, 2000) };
    let nodes = Nodes::best_available();
    let kind = nodes.describe();
    say!(
        "router benchmark ({}): {n_docs} documents, {n_queries} searches, nodes: {kind}",
        if quick { "quick" } else { "full" },
    );
    let docs = docs(n_docs);

    let started = Instant::now();
    let mut one = Fleet::start_on(nodes.clone(), 1, 1).await;
    let router1 = one.start_router().await;
    let mut three = Fleet::start_on(nodes.clone(), 1, 3).await;
    let router3 = three.start_router().await;
    say!("fleets up in {:.1} s", started.elapsed().as_secs_f64());

    // The direct baseline is the 1-node fleet's node itself, under another
    // index uid (the node's physical index is the client's uid).
    let direct = Target {
        label: "one node directly",
        fleet: &one,
        base: one.nodes[0].2.addr.clone(),
        index: "bench_direct",
    };
    let via1 = Target {
        label: "router, 1 node",
        fleet: &one,
        base: router1,
        index: "bench",
    };
    let via3 = Target {
        label: "router, 3 nodes",
        fleet: &three,
        base: router3,
        index: "bench",
    };
    let targets = [&direct, &via1, &via3];
    for t in targets {
        t.prepare().await;
    }

    let mut rows = vec![];
    let mut writes = vec![];
    for t in targets {
        let w = t.write(&docs).await;
        say!("write, {}: {w:.0} documents/s", t.label);
        writes.push(w);
    }
    for (i, t) in [(1, &via1), (2, &via3)] {
        rows.push(Row::new(
            "write: documents/s",
            t,
            writes[i],
            &direct,
            writes[0],
        ));
    }

    for t in targets {
        for i in 0..WARMUP {
            t.search(i).await;
        }
    }
    // One client: the targets take turns query by query, so that the
    // machine's drift falls on all three alike.
    let mut seq: Vec<Run> = vec![Run::default(); targets.len()];
    for i in 0..n_queries {
        for (t, run) in targets.iter().zip(seq.iter_mut()) {
            run.latencies.push(t.search(i).await);
            run.ops += 1;
        }
    }
    for (k, t) in [(1, &via1), (2, &via3)] {
        for (name, p) in [("p50", 0.5), ("p99", 0.99)] {
            rows.push(Row::new(
                &format!("search, 1 client: {name} ms"),
                t,
                seq[k].percentile_ms(p),
                &direct,
                seq[0].percentile_ms(p),
            ));
        }
    }
    let own_cost = seq[1].percentile_ms(0.5) - seq[0].percentile_ms(0.5);

    let mut par = vec![];
    for t in targets {
        par.push(t.searches(n_queries, 8).await);
    }
    for (k, t) in [(1, &via1), (2, &via3)] {
        rows.push(Row::new(
            "search, 8 clients: per second",
            t,
            par[k].per_sec(),
            &direct,
            par[0].per_sec(),
        ));
        rows.push(Row::new(
            "search, 8 clients: p50 ms",
            t,
            par[k].percentile_ms(0.5),
            &direct,
            par[0].percentile_ms(0.5),
        ));
    }

    say!(
        "\n{:<32} {:<16} {:>10} {:<18} {:>10} {:>6}",
        "figure",
        "measured",
        "value",
        "baseline",
        "value",
        "ratio"
    );
    let mut out = vec![];
    for r in &rows {
        let ratio = r.ratio().map_or("-".into(), |x| format!("{x:.2}"));
        say!(
            "{:<32} {:<16} {:>10.2} {:<18} {:>10.2} {:>6}",
            r.figure,
            r.setup,
            r.value,
            r.baseline_setup,
            r.baseline,
            ratio
        );
        out.push(json!({
            "figure": r.figure,
            "setup": r.setup,
            "value": r.value,
            "baseline_setup": r.baseline_setup,
            "baseline": r.baseline,
            "ratio": r.ratio(),
        }));
    }
    say!(
        "\nthe router's own cost (1 client, p50, router over 1 node minus that node directly): {own_cost:.2} ms"
    );
    out.push(json!({
        "figure": "search, 1 client: the router's own cost at p50, ms",
        "setup": via1.label,
        "value": own_cost,
        "baseline_setup": direct.label,
        "baseline": Value::Null,
        "ratio": Value::Null,
    }));

    let report = json!({
        "mode": if quick { "quick" } else { "full" },
        "nodes": if nodes.is_real() { "meilisearch" } else { "devnode" },
        "documents": n_docs,
        "searches": n_queries,
        "figures": out,
    });
    let file = stats::write_report("router", quick, &report);
    say!(
        "written to {} ({:.0} s in all)",
        file.display(),
        started.elapsed().as_secs_f64()
    );
}
