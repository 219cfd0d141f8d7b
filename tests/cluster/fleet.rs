//! Nodes (devnodes or real Meilisearch) and routers around a coordinator
//! [`Cluster`], for tests of the data plane. Every process is killed when the
//! fleet is dropped.

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use miroir::pb::v1::*;
use serde_json::{json, Value};

use crate::util::*;

pub const KEY: &str = "fleet-master-key";

#[path = "../support/meili.rs"]
pub mod meili;

/// What the fleet's nodes are.
#[derive(Debug, Clone)]
pub enum Nodes {
    /// `miroir-devnode`, in memory, applying each task as soon as it is enqueued.
    Devnode,
    /// `miroir-devnode` whose tasks wait this many milliseconds in the queue.
    DelayedDevnode(u64),
    /// Real Meilisearch, from this binary.
    Meilisearch(PathBuf),
}

impl Nodes {
    /// Real Meilisearch; panics with how to get it when there is no binary.
    pub fn meilisearch() -> Self {
        Nodes::Meilisearch(meili::required())
    }

    pub fn is_real(&self) -> bool {
        matches!(self, Nodes::Meilisearch(_))
    }

    /// For benchmarks: real Meilisearch when a binary is found, devnodes otherwise. A
    /// `MEILI_BIN` that names no file is a mistake to report, not a reason to measure devnodes.
    pub fn best_available() -> Self {
        match meili::binary() {
            Some(bin) => Nodes::Meilisearch(bin),
            None => {
                if let Some(p) = std::env::var_os("MEILI_BIN").filter(|p| !p.is_empty()) {
                    panic!("MEILI_BIN={} is not a file", p.to_string_lossy());
                }
                Nodes::Devnode
            }
        }
    }

    /// What the nodes are, for a benchmark's report.
    pub fn describe(&self) -> String {
        match self {
            Nodes::Meilisearch(bin) => format!("real Meilisearch ({})", bin.display()),
            _ => "devnodes (no Meilisearch binary found; set MEILI_BIN for real nodes)".into(),
        }
    }
}

/// Runs each named fleet test twice, as `NAME::devnodes` and
/// `NAME::meilisearch`: the function `NAME(nodes: Nodes)` on devnodes, then on
/// real Meilisearch nodes. (A function and a module may share a name.)
#[macro_export]
macro_rules! on_both_nodes {
    ($($name:ident),+ $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread")]
            async fn devnodes() {
                super::$name($crate::fleet::Nodes::Devnode).await
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn meilisearch() {
                super::$name($crate::fleet::Nodes::meilisearch()).await
            }
        }
    )+ };
}

pub struct Proc {
    pub addr: String,
    child: Option<Child>,
}

impl Proc {
    fn spawn(bin: &str, args: &[String], log: std::fs::File) -> Self {
        let child = Command::new(bin)
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start process");
        Proc {
            addr: String::new(),
            child: Some(child),
        }
    }

    fn from_child(child: Child) -> Self {
        Proc {
            addr: String::new(),
            child: Some(child),
        }
    }

    /// SIGSTOP: the process holds its sockets but answers nothing.
    pub fn pause(&self) {
        if let Some(c) = &self.child {
            crate::util::signal(c.id(), "-STOP");
        }
    }

    pub fn resume(&self) {
        if let Some(c) = &self.child {
            crate::util::signal(c.id(), "-CONT");
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Fleet {
    pub cluster: Cluster,
    /// What the nodes are.
    pub kind: Nodes,
    /// Nodes by node id, with the group each was registered in.
    pub nodes: Vec<(String, u32, Proc)>,
    pub routers: Vec<Proc>,
    pub http: reqwest::Client,
}

/// Whether a node answers `GET /health` within 300 ms.
fn answers(addr: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_millis(300)));
    if s.write_all(b"GET /health HTTP/1.0\r\nHost: node\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if n > 0)
}

/// Starts one node of `kind` named `id` on a free port (not registered).
fn spawn_node(cluster: &Cluster, kind: &Nodes, id: &str) -> Proc {
    let port = free_port();
    let log = std::fs::File::create(cluster.dir.path().join(format!("{id}.log"))).unwrap();
    let mut p = match kind {
        Nodes::Meilisearch(bin) => {
            let dir = cluster.dir.path().join(id);
            Proc::from_child(meili::spawn(bin, port, &dir, KEY, log))
        }
        Nodes::Devnode | Nodes::DelayedDevnode(_) => {
            let delay = match kind {
                Nodes::DelayedDevnode(ms) => *ms,
                _ => 0,
            };
            let args = [
                "--listen".to_string(),
                format!("127.0.0.1:{port}"),
                "--master-key".into(),
                KEY.into(),
                "--task-delay-ms".into(),
                delay.to_string(),
            ];
            Proc::spawn(env!("CARGO_BIN_EXE_miroir-devnode"), &args, log)
        }
    };
    p.addr = format!("http://127.0.0.1:{port}");
    p
}

impl Fleet {
    /// Starts a new node `id` of the fleet's kind in `group`, not registered yet (a test
    /// registers it, and so starts its join, with `miroir-ctl nodes add`); returns its index in
    /// [`Fleet::nodes`].
    pub async fn spawn_unregistered(&mut self, id: &str, group: u32) -> usize {
        let p = spawn_node(&self.cluster, &self.kind, id);
        let url = format!("{}/health", p.addr);
        eventually("a new node to answer", || async {
            let ok = self.http.get(&url).send().await.ok()?;
            ok.status().is_success().then_some(())
        })
        .await;
        self.nodes.push((id.to_string(), group, p));
        self.nodes.len() - 1
    }

    /// Three coordinators and `groups` × `per_group` devnodes, registered.
    pub async fn start(groups: u32, per_group: u32) -> Self {
        Self::start_on(Nodes::Devnode, groups, per_group).await
    }

    /// Three coordinators and `groups` × `per_group` nodes of the given kind, registered.
    pub async fn start_on(kind: Nodes, groups: u32, per_group: u32) -> Self {
        Self::start_with_coordinators(kind, groups, per_group, &[]).await
    }

    /// As [`Fleet::start_on`], with `extra` flags for every coordinator.
    pub async fn start_with_coordinators(
        kind: Nodes,
        groups: u32,
        per_group: u32,
        extra: &[&str],
    ) -> Self {
        // The leader runs index deletions on the nodes itself.
        let args = [&["--node-key", KEY][..], extra].concat();
        let cluster = Cluster::start_with(3, &args, None);
        let leader = cluster.leader().await;
        let mut nodes = vec![];
        let mut admin = cluster.admin(leader).await;
        for g in 0..groups {
            for i in 0..per_group {
                let id = format!("meili-{g}-{i}");
                let p = spawn_node(&cluster, &kind, &id);
                let req = AddNodeRequest {
                    id: id.clone(),
                    address: p.addr.clone(),
                    group: g,
                };
                admin.add_node(cluster.req(req)).await.unwrap();
                nodes.push((id, g, p));
            }
        }
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        let fleet = Fleet {
            cluster,
            kind,
            nodes,
            routers: vec![],
            http,
        };
        // No scheduled pass starts in the middle of a test; tests start theirs.
        fleet.set_config("anti_entropy_schedule", "off").await;
        for (_, _, p) in &fleet.nodes {
            let url = format!("{}/health", p.addr);
            eventually("a node to answer", || async {
                let ok = fleet.http.get(&url).send().await.ok()?;
                ok.status().is_success().then_some(())
            })
            .await;
        }
        fleet
    }

    /// Takes node `i` away with its data kept: a real Meilisearch is killed
    /// (its database stays on disk), a devnode (which keeps its documents in
    /// memory) is stopped with SIGSTOP and answers nothing.
    pub fn take_away(&mut self, i: usize) {
        match self.kind {
            Nodes::Meilisearch(_) => self.nodes[i].2.kill(),
            _ => {
                self.nodes[i].2.pause();
                // `kill -STOP` returns once the signal is sent; on a loaded machine a thread of the
                // node can still answer (and enqueue a write) for a moment. Only once a request
                // goes unanswered is the node away.
                let addr = self.nodes[i]
                    .2
                    .addr
                    .trim_start_matches("http://")
                    .to_string();
                while answers(&addr) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }

    /// Brings node `i` back after [`Fleet::take_away`], at its address, and
    /// waits until it answers.
    pub async fn bring_back(&mut self, i: usize) {
        match &self.kind {
            Nodes::Meilisearch(bin) => {
                let id = self.nodes[i].0.clone();
                let addr = self.nodes[i].2.addr.clone();
                let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
                let dir = self.cluster.dir.path().join(&id);
                let log = std::fs::OpenOptions::new()
                    .append(true)
                    .open(self.cluster.dir.path().join(format!("{id}.log")))
                    .unwrap();
                let mut p = Proc::from_child(meili::spawn(bin, port, &dir, KEY, log));
                p.addr = addr;
                self.nodes[i].2 = p;
            }
            _ => self.nodes[i].2.resume(),
        }
        let url = format!("{}/health", self.nodes[i].2.addr);
        eventually("a node to answer", || async {
            let ok = self.http.get(&url).send().await.ok()?;
            ok.status().is_success().then_some(())
        })
        .await;
    }

    /// Waits until node `addr` has no task enqueued or processing.
    pub async fn idle(&self, addr: &str) {
        eventually("a node's queue to be idle", || async {
            let url = format!("{addr}/tasks?statuses=enqueued,processing&limit=1");
            let (_, tasks) = self.call(reqwest::Method::GET, &url, None).await;
            (tasks["total"] == 0).then_some(())
        })
        .await;
    }

    /// Starts a router that follows the coordinators; returns its base URL.
    pub async fn start_router(&mut self) -> String {
        self.start_router_with(&[]).await
    }

    /// A router with extra flags.
    pub async fn start_router_with(&mut self, extra: &[&str]) -> String {
        let id = format!("router-{}", self.routers.len());
        self.start_router_named(&id, extra).await
    }

    /// A router with its own `--router-id` (to restart one under the same id).
    pub async fn start_router_named(&mut self, id: &str, extra: &[&str]) -> String {
        let port = free_port();
        let coordinators: Vec<String> = (1..=3).map(|id| self.cluster.addr(id)).collect();
        let args = [
            "--listen".to_string(),
            format!("127.0.0.1:{port}"),
            "--coordinators".into(),
            coordinators.join(","),
            "--master-key".into(),
            KEY.into(),
            "--router-id".into(),
            id.to_string(),
        ]
        .into_iter()
        .chain(extra.iter().map(|a| a.to_string()))
        .collect::<Vec<_>>();
        let log = std::fs::File::create(
            self.cluster
                .dir
                .path()
                .join(format!("{id}-{}.log", self.routers.len())),
        )
        .unwrap();
        let mut p = Proc::spawn(env!("CARGO_BIN_EXE_miroir-router"), &args, log);
        p.addr = format!("http://127.0.0.1:{port}");
        let url = format!("{}/health", p.addr);
        eventually("the router to answer", || async {
            self.http.get(&url).send().await.ok().map(|_| ())
        })
        .await;
        let addr = p.addr.clone();
        self.routers.push(p);
        addr
    }

    /// Sets a cluster setting through the leader.
    pub async fn set_config(&self, key: &str, value: &str) {
        let leader = self.cluster.leader().await;
        let req = SetConfigRequest {
            key: key.into(),
            value: value.into(),
            expect_version: None,
        };
        self.cluster
            .admin(leader)
            .await
            .set_config(self.cluster.req(req))
            .await
            .unwrap();
    }

    /// Sends a request with the master key; returns the status and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        self.call_with(KEY, method, url, body).await
    }

    /// Sends a request with `key` as bearer token; returns status and JSON body.
    pub async fn call_with(
        &self,
        key: &str,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let mut req = self.http.request(method, url).bearer_auth(key);
        if let Some(b) = body {
            req = req.json(b);
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Waits until a node's task has finished, and checks it succeeded.
    pub async fn wait_task(&self, node: &str, task: &Value) {
        let uid = task["taskUid"].as_u64().expect("a task uid");
        let url = format!("{node}/tasks/{uid}");
        let done = eventually("a node's task to finish", || async {
            let (_, t) = self.call(reqwest::Method::GET, &url, None).await;
            matches!(t["status"].as_str(), Some("succeeded" | "failed")).then_some(t)
        })
        .await;
        assert_eq!(done["status"], "succeeded", "{done}");
    }

    /// Until the router writes itself: creates the index on every node and
    /// writes each document, tagged with its shard, to its shard's owners as
    /// the coordinators' shard map says.
    pub async fn load(&self, uid: &str, docs: &[Value]) {
        let leader = self.cluster.leader().await;
        let mut admin = self.cluster.admin(leader).await;
        let map = admin
            .get_shard_map(self.cluster.req(IndexRef { uid: uid.into() }))
            .await
            .unwrap()
            .into_inner();
        let shards = map.shards.len() as u32;
        for (_, _, p) in &self.nodes {
            let (_, t) = self
                .call(
                    reqwest::Method::POST,
                    &format!("{}/indexes", p.addr),
                    Some(&json!({"uid": uid, "primaryKey": "id"})),
                )
                .await;
            self.wait_task(&p.addr, &t).await;
            let settings = json!({"filterableAttributes": ["_miroir_shard", "color", "n"], "sortableAttributes": ["n"]});
            let (_, t) = self
                .call(
                    reqwest::Method::PATCH,
                    &format!("{}/indexes/{uid}/settings", p.addr),
                    Some(&settings),
                )
                .await;
            self.wait_task(&p.addr, &t).await;
        }
        let placed =
            miroir::router::write::batch::place_batch(docs.to_vec(), "id", shards).unwrap();
        for (id, _, p) in &self.nodes {
            let mine: Vec<Value> = placed
                .iter()
                .filter(|(s, _)| map.shards[s.0 as usize].write.contains(id))
                .map(|(_, d)| d.clone())
                .collect();
            if mine.is_empty() {
                continue;
            }
            let (_, t) = self
                .call(
                    reqwest::Method::POST,
                    &format!("{}/indexes/{uid}/documents", p.addr),
                    Some(&Value::from(mine)),
                )
                .await;
            self.wait_task(&p.addr, &t).await;
        }
    }
}
