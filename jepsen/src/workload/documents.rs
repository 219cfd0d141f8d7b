//! The documents workload: clients add, update and delete documents through
//! the routers, each client owning its own ids so that one document's
//! operations form a sequence. At the end, with the fleet healed, the
//! harness waits for the tasks and reads every copy of every document.
//!
//! Each write carries a version `v` (1 on add, +1 per update), so a copy
//! shows which write it holds. After an operation with an unknown outcome
//! the client leaves that document alone: its last write may still land.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};

use crate::db::MASTER_KEY;
use crate::history::{Op, OpType, Recorder};

pub const INDEX: &str = "jepsen-docs";

#[derive(Debug, Clone)]
pub struct Options {
    pub clients: usize,
    pub think: Duration,
    /// Longer than a router may legitimately hold a write (node timeout,
    /// lease wait, fence wait), so that a timeout means trouble.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            clients: 4,
            think: Duration::from_millis(30),
            timeout: Duration::from_secs(20),
        }
    }
}

pub fn http() -> Client {
    Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .build()
        .expect("HTTP client")
}

/// One answer: status, JSON body and the `X-Miroir-Epoch` header.
pub struct Reply {
    pub status: StatusCode,
    pub body: Value,
    pub epoch: Option<u64>,
}

pub async fn call(
    http: &Client,
    method: Method,
    url: &str,
    body: Option<&Value>,
    timeout: Duration,
) -> Result<Reply> {
    let mut req = http
        .request(method, url)
        .bearer_auth(MASTER_KEY)
        .timeout(timeout);
    if let Some(b) = body {
        req = req.json(b);
    }
    let resp = req.send().await?;
    let status = resp.status();
    let epoch = resp
        .headers()
        .get("x-miroir-epoch")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.text().await?;
    Ok(Reply {
        status,
        body: serde_json::from_str(&text).unwrap_or(Value::String(text)),
        epoch,
    })
}

/// Creates the index with `id` as primary key, through a router, and waits
/// for its task.
pub async fn setup(http: &Client, router: &str) -> Result<()> {
    let r = call(
        http,
        Method::POST,
        &format!("{router}/indexes"),
        Some(&json!({"uid": INDEX, "primaryKey": "id"})),
        Duration::from_secs(30),
    )
    .await?;
    if r.status != StatusCode::ACCEPTED {
        bail!("creating {INDEX}: {} {}", r.status, r.body);
    }
    let uid = r.body["taskUid"].as_u64().context("no taskUid")?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let t = call(
            http,
            Method::GET,
            &format!("{router}/tasks/{uid}"),
            None,
            Duration::from_secs(5),
        )
        .await?;
        match t.body["status"].as_str() {
            Some("succeeded") => return Ok(()),
            Some("failed") => bail!("creating {INDEX} failed: {}", t.body),
            _ if Instant::now() > deadline => bail!("creating {INDEX} did not finish"),
            _ => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

#[derive(Debug, Clone)]
struct Doc {
    id: String,
    version: u64,
    alive: bool,
}

/// One client, until `until`.
pub async fn client(
    index: usize,
    seed: u64,
    routers: Vec<(String, String)>,
    opts: Options,
    history: Recorder,
    until: Instant,
) {
    let http = http();
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xD0C5 ^ (index as u64) << 32);
    let mut docs: Vec<Doc> = vec![];
    let mut next = 0u64;
    // Process numbers of this workload start at 1000 to stay apart from the register's.
    let process = 1000 + index as u64;
    while Instant::now() < until {
        let live: Vec<usize> = (0..docs.len()).filter(|&i| docs[i].alive).collect();
        let roll: f64 = rng.random();
        let (f, i) = if live.len() < 3 || roll < 0.45 {
            next += 1;
            docs.push(Doc {
                id: format!("c{index}-{next}"),
                version: 0,
                alive: true,
            });
            ("add", docs.len() - 1)
        } else if roll < 0.85 {
            ("update", live[rng.random_range(0..live.len())])
        } else {
            ("delete", live[rng.random_range(0..live.len())])
        };
        let (name, base) = &routers[rng.random_range(0..routers.len())];
        let doc = &mut docs[i];
        let (method, path, body, value) = match f {
            "delete" => (
                Method::POST,
                format!("/indexes/{INDEX}/documents/delete-batch"),
                json!([doc.id]),
                Value::Null,
            ),
            _ => {
                let v = doc.version + 1;
                let m = if f == "add" {
                    Method::POST
                } else {
                    Method::PUT
                };
                let body = json!([{"id": doc.id, "v": v, "by": process}]);
                (
                    m,
                    format!("/indexes/{INDEX}/documents"),
                    body,
                    json!({"v": v}),
                )
            }
        };
        let invoke = Op::invoke(process, f, Some(doc.id.clone()), value.clone()).on(name.clone());
        history.record(invoke.clone());
        let url = format!("{base}{path}");
        let done = match call(&http, method, &url, Some(&body), opts.timeout).await {
            Ok(r) if r.status == StatusCode::ACCEPTED => {
                let mut v = value.clone();
                if v.is_null() {
                    v = json!({});
                }
                v["task"] = r.body["taskUid"].clone();
                if let Some(e) = r.epoch {
                    v["epoch"] = json!(e);
                }
                invoke.complete(OpType::Ok, v)
            }
            // A refusal of the request itself changed nothing.
            Ok(r) if r.status.is_client_error() && r.status != StatusCode::REQUEST_TIMEOUT => {
                invoke
                    .complete(OpType::Fail, value.clone())
                    .with_error(format!("{} {}", r.status, r.body))
            }
            // 503 no quorum and the like: some copies may have it.
            Ok(r) => {
                let mut v = value.clone();
                if let Some(e) = r.epoch {
                    // Sent to nodes under this epoch, whatever came of it.
                    v = if v.is_null() { json!({}) } else { v };
                    v["epoch"] = json!(e);
                }
                invoke
                    .complete(OpType::Info, v)
                    .with_error(format!("{} {}", r.status, r.body))
            }
            Err(e) => invoke
                .complete(OpType::Info, value.clone())
                .with_error(e.to_string()),
        };
        match done.kind {
            OpType::Ok => match f {
                "delete" => doc.alive = false,
                _ => doc.version += 1,
            },
            // Unknown outcome: never touch this document again.
            OpType::Info => doc.alive = false,
            _ => {}
        }
        history.record(done);
        tokio::time::sleep(opts.think).await;
    }
}

/// Final status of each task uid, asked through `router` in batches;
/// waits up to `within` for tasks still open.
pub async fn task_statuses(
    http: &Client,
    router: &str,
    uids: &[u64],
    within: Duration,
) -> BTreeMap<u64, String> {
    let deadline = Instant::now() + within;
    let mut out: BTreeMap<u64, String> = BTreeMap::new();
    loop {
        let open: Vec<u64> = uids
            .iter()
            .copied()
            .filter(|u| {
                !matches!(
                    out.get(u).map(String::as_str),
                    Some("succeeded" | "failed" | "canceled")
                )
            })
            .collect();
        if open.is_empty() || Instant::now() > deadline {
            return out;
        }
        for chunk in open.chunks(500) {
            let list: Vec<String> = chunk.iter().map(u64::to_string).collect();
            let url = format!(
                "{router}/tasks?uids={}&limit={}",
                list.join(","),
                chunk.len()
            );
            if let Ok(r) = call(http, Method::GET, &url, None, Duration::from_secs(10)).await {
                for t in r.body["results"].as_array().into_iter().flatten() {
                    if let (Some(uid), Some(s)) = (t["uid"].as_u64(), t["status"].as_str()) {
                        out.insert(uid, s.to_string());
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Every document of the index at `base` (a node or a router), paged.
pub async fn read_all(http: &Client, base: &str) -> Result<Vec<Value>> {
    let mut out = vec![];
    let mut offset = 0;
    loop {
        let url = format!("{base}/indexes/{INDEX}/documents?limit=1000&offset={offset}");
        let r = call(http, Method::GET, &url, None, Duration::from_secs(30)).await?;
        if !r.status.is_success() {
            bail!("{url}: {} {}", r.status, r.body);
        }
        let page = r.body["results"].as_array().cloned().unwrap_or_default();
        let n = page.len();
        out.extend(page);
        if n < 1000 {
            return Ok(out);
        }
        offset += n;
    }
}
