//! Router benchmark: the same documents and searches through a router over
//! four devnodes (two replica groups) and directly against one devnode, in the
//! same run. `cargo bench --bench router` (or `make bench`); `-- --quick` for
//! the smoke run in `make test`. Figures go to target/bench/router.json.

#[path = "../../tests/cluster/util.rs"]
mod util;

#[path = "../../tests/cluster/fleet.rs"]
mod fleet;

#[path = "../coordinator/stats.rs"]
#[allow(dead_code)]
mod stats;

use std::time::Instant;

use reqwest::Method;
use serde_json::{json, Value};

use fleet::{Fleet, KEY};
use stats::Run;

const WORDS: [&str; 16] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima", "mike", "november", "oscar", "papa",
];

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

async fn wait(f: &Fleet, base: &str, task: &Value) {
    let uid = task["taskUid"]
        .as_u64()
        .unwrap_or_else(|| panic!("no task: {task}"));
    util::eventually("a task", || async {
        let (_, t) = f
            .call(Method::GET, &format!("{base}/tasks/{uid}"), None)
            .await;
        match t["status"].as_str() {
            Some("succeeded") => Some(()),
            Some("failed") => panic!("task failed: {t}"),
            _ => None,
        }
    })
    .await;
}

/// Loads `docs` in batches and waits for every task: documents per second.
async fn load(f: &Fleet, base: &str, docs: &[Value]) -> f64 {
    let started = Instant::now();
    let (_, t) = f
        .call(
            Method::POST,
            &format!("{base}/indexes"),
            Some(&json!({"uid": "bench", "primaryKey": "id"})),
        )
        .await;
    wait(f, base, &t).await;
    let settings = json!({"filterableAttributes": ["group", "n"], "sortableAttributes": ["n"]});
    let (_, t) = f
        .call(
            Method::PATCH,
            &format!("{base}/indexes/bench/settings"),
            Some(&settings),
        )
        .await;
    wait(f, base, &t).await;
    let mut tasks = vec![];
    for chunk in docs.chunks(1000) {
        let (_, t) = f
            .call(
                Method::POST,
                &format!("{base}/indexes/bench/documents"),
                Some(&Value::from(chunk.to_vec())),
            )
            .await;
        tasks.push(t);
    }
    for t in &tasks {
        wait(f, base, t).await;
    }
    docs.len() as f64 / started.elapsed().as_secs_f64()
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

async fn searches(f: &Fleet, base: &str, n: usize, clients: usize) -> Run {
    let url = format!("{base}/indexes/bench/search");
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let http = f.http.clone();
            let url = url.clone();
            tokio::spawn(async move {
                let mut lat = vec![];
                for i in (c..n).step_by(clients) {
                    let t0 = Instant::now();
                    let r = http
                        .post(&url)
                        .bearer_auth(KEY)
                        .json(&query(i))
                        .send()
                        .await
                        .expect("search");
                    assert!(r.status().is_success(), "search failed: {}", r.status());
                    r.bytes().await.expect("body");
                    lat.push(t0.elapsed());
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

struct Row(String, f64, f64);

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let (n_docs, n_queries) = if quick { (2000, 200) } else { (20_000, 2000) };
    println!(
        "router benchmark ({}): {n_docs} documents, {n_queries} searches",
        if quick { "quick" } else { "full" }
    );
    let docs = docs(n_docs);

    let mut f = Fleet::start(2, 2).await;
    let router = f.start_router().await;
    // One more devnode, used on its own, as the baseline.
    let direct = Fleet::start(1, 1).await;
    let node = direct.nodes[0].2.addr.clone();

    let mut rows = vec![];
    let via = load(&f, &router, &docs).await;
    let straight = load(&direct, &node, &docs).await;
    rows.push(Row("write: documents/s".into(), via, straight));
    for clients in [1, 8] {
        let r = searches(&f, &router, n_queries, clients).await;
        let d = searches(&direct, &node, n_queries, clients).await;
        rows.push(Row(
            format!("search, {clients} client(s): per second"),
            r.per_sec(),
            d.per_sec(),
        ));
        rows.push(Row(
            format!("search, {clients} client(s): p50 ms"),
            r.percentile_ms(0.5),
            d.percentile_ms(0.5),
        ));
        rows.push(Row(
            format!("search, {clients} client(s): p99 ms"),
            r.percentile_ms(0.99),
            d.percentile_ms(0.99),
        ));
        if clients == 1 {
            rows.push(Row(
                "search: router's added p50 ms".into(),
                r.percentile_ms(0.5) - d.percentile_ms(0.5),
                0.0,
            ));
        }
    }
    println!(
        "\n{:<40} {:>14} {:>14} {:>8}",
        "figure", "router (4 nodes)", "one devnode", "ratio"
    );
    let mut json = vec![];
    for Row(name, a, b) in &rows {
        let ratio = if *b != 0.0 {
            format!("{:.2}", a / b)
        } else {
            "-".into()
        };
        println!("{name:<40} {a:>14.2} {b:>14.2} {ratio:>8}");
        json.push(json!({"figure": name, "router": a, "direct": b}));
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/bench");
    let _ = std::fs::create_dir_all(&dir);
    let file = dir.join(if quick {
        "router-quick.json"
    } else {
        "router.json"
    });
    let _ = std::fs::write(&file, serde_json::to_string_pretty(&json).unwrap());
    println!("\nwritten to {}", file.display());
}
