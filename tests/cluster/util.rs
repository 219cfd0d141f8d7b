//! A cluster of real `miroir-coordinator` processes on loopback ports chosen
//! at run time. Every process is killed when the [`Cluster`] is dropped, even
//! when the test fails; on failure the members' log tails are printed.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::future::Future;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use miroir::pb::v1::admin_client::AdminClient;
use miroir::pb::v1::router_client::RouterClient;
use miroir::pb::v1::*;
use tonic::transport::Channel;

pub const COORDINATOR: &str = env!("CARGO_BIN_EXE_miroir-coordinator");
pub const CTL: &str = env!("CARGO_BIN_EXE_miroir-ctl");

/// Generous: the machine is small and shared; tests wait on conditions, and
/// this only bounds how long a broken build takes to fail.
pub const DEADLINE: Duration = Duration::from_secs(60);

/// A port no other test of this run was given, below Linux's ephemeral range
/// (32768 and up) so an outgoing connection cannot take it between this check
/// and the process binding it.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    // Runs started close together begin at different places in 20000..32000.
    let start = (std::process::id() % 40) * 300;
    loop {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let port = (20_000 + (start + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Polls `f` until it returns `Some`, or panics after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let end = Instant::now() + DEADLINE;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub struct Member {
    pub id: u64,
    pub addr: String,
    /// Where the member serves Prometheus metrics.
    pub metrics: String,
    child: Option<Child>,
    paused: bool,
}

pub struct Cluster {
    pub dir: tempfile::TempDir,
    pub members: BTreeMap<u64, Member>,
    /// The --peers value every member starts with.
    peers: String,
    pub extra_args: Vec<String>,
    pub admin_key: Option<String>,
}

impl Cluster {
    /// Starts `n` members (ids 1..=n) that bootstrap one cluster.
    pub fn start(n: u64) -> Self {
        Self::start_with(n, &[], None)
    }

    pub fn start_with(n: u64, extra: &[&str], admin_key: Option<&str>) -> Self {
        let members: BTreeMap<u64, Member> = (1..=n)
            .map(|id| {
                let addr = format!("127.0.0.1:{}", free_port());
                (
                    id,
                    Member {
                        id,
                        addr,
                        metrics: format!("127.0.0.1:{}", free_port()),
                        child: None,
                        paused: false,
                    },
                )
            })
            .collect();
        let peers = members
            .values()
            .map(|m| format!("{}={}", m.id, m.addr))
            .collect::<Vec<_>>()
            .join(",");
        let mut c = Cluster {
            dir: tempfile::tempdir().unwrap(),
            members,
            peers,
            extra_args: extra.iter().map(|s| s.to_string()).collect(),
            admin_key: admin_key.map(str::to_string),
        };
        for id in 1..=n {
            c.spawn(id);
        }
        c
    }

    fn log_path(&self, id: u64) -> PathBuf {
        self.dir.path().join(format!("coordinator-{id}.log"))
    }

    /// Starts (or restarts) member `id` with its data directory.
    pub fn spawn(&mut self, id: u64) {
        let m = &self.members[&id];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path(id))
            .unwrap();
        let mut cmd = Command::new(COORDINATOR);
        cmd.arg("--id")
            .arg(id.to_string())
            .arg("--data-dir")
            .arg(self.dir.path().join(format!("data-{id}")))
            .arg("--listen")
            .arg(&m.addr)
            .arg("--peers")
            .arg(&self.peers)
            .arg("--metrics-listen")
            .arg(&m.metrics)
            .args(&self.extra_args)
            .env("RUST_LOG", "info,openraft=warn")
            .env_remove("MIROIR_ADMIN_KEY")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(k) = &self.admin_key {
            cmd.arg("--admin-key").arg(k);
        }
        let child = cmd.spawn().expect("start miroir-coordinator");
        let m = self.members.get_mut(&id).unwrap();
        m.child = Some(child);
        m.paused = false;
    }

    /// Adds a member process (not yet a Raft member) that knows the cluster's peers.
    pub fn spawn_new(&mut self, id: u64) -> String {
        let addr = format!("127.0.0.1:{}", free_port());
        self.members.insert(
            id,
            Member {
                id,
                addr: addr.clone(),
                metrics: format!("127.0.0.1:{}", free_port()),
                child: None,
                paused: false,
            },
        );
        self.peers = format!("{},{id}={addr}", self.peers);
        self.spawn(id);
        addr
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self, id: u64) {
        let m = self.members.get_mut(&id).unwrap();
        if let Some(mut c) = m.child.take() {
            if m.paused {
                signal(c.id(), "-CONT");
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn pause(&mut self, id: u64) {
        let m = self.members.get_mut(&id).unwrap();
        signal(m.child.as_ref().unwrap().id(), "-STOP");
        m.paused = true;
    }

    pub fn resume(&mut self, id: u64) {
        let m = self.members.get_mut(&id).unwrap();
        signal(m.child.as_ref().unwrap().id(), "-CONT");
        m.paused = false;
    }

    pub fn is_running(&self, id: u64) -> bool {
        self.members[&id].child.is_some() && !self.members[&id].paused
    }

    pub fn running(&self) -> Vec<u64> {
        self.members
            .keys()
            .copied()
            .filter(|id| self.is_running(*id))
            .collect()
    }

    pub fn pid(&self, id: u64) -> Option<u32> {
        self.members[&id].child.as_ref().map(Child::id)
    }

    pub fn addr(&self, id: u64) -> String {
        self.members[&id].addr.clone()
    }

    pub async fn admin(&self, id: u64) -> AdminClient<Channel> {
        AdminClient::new(self.channel(id))
    }

    pub async fn router(&self, id: u64) -> RouterClient<Channel> {
        RouterClient::new(self.channel(id))
    }

    fn channel(&self, id: u64) -> Channel {
        tonic::transport::Endpoint::from_shared(format!("http://{}", self.addr(id)))
            .unwrap()
            .connect_timeout(Duration::from_secs(1))
            .timeout(Duration::from_secs(15))
            .connect_lazy()
    }

    pub fn req<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        if let Some(k) = &self.admin_key {
            r.metadata_mut()
                .insert("authorization", format!("Bearer {k}").parse().unwrap());
        }
        r
    }

    pub async fn status(&self, id: u64) -> Option<ClusterStatusResponse> {
        let mut c = self.admin(id).await;
        c.cluster_status(self.req(ClusterStatusRequest {}))
            .await
            .ok()
            .map(|r| r.into_inner())
    }

    /// Waits until every running member names the same leader, among the
    /// running members, and returns it.
    pub async fn leader(&self) -> u64 {
        eventually("one leader seen by every running member", || async {
            let mut seen = None;
            for id in self.running() {
                let s = self.status(id).await?;
                let me = s.members.iter().find(|m| m.id == id)?;
                let leader = s.members.iter().find(|m| m.state == "leader")?.id;
                if !self.running().contains(&leader) || me.state == "candidate" {
                    return None;
                }
                if *seen.get_or_insert(leader) != leader {
                    return None;
                }
            }
            seen
        })
        .await
    }

    /// Waits until member `id` has applied at least `index`.
    pub async fn wait_applied(&self, id: u64, index: u64) {
        eventually(&format!("member {id} to apply {index}"), || async {
            let s = self.status(id).await?;
            let me = s.members.iter().find(|m| m.id == id)?;
            (me.applied_index? >= index).then_some(())
        })
        .await
    }

    /// Runs `miroir-ctl` against member `id`.
    pub fn ctl(&self, id: u64, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new(CTL);
        cmd.arg("--coordinator")
            .arg(self.addr(id))
            .args(args)
            .env_remove("MIROIR_ADMIN_KEY");
        if let Some(k) = &self.admin_key {
            cmd.arg("--admin-key").arg(k);
        }
        cmd.output().expect("run miroir-ctl")
    }

    /// The last lines of every member's log, on stderr; print errors are ignored.
    fn dump_logs(&self) {
        use std::io::Write;
        let mut err = std::io::stderr();
        for id in self.members.keys() {
            let text = std::fs::read_to_string(self.log_path(*id)).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(30).collect();
            let _ = writeln!(err, "---- coordinator {id} (last lines) ----");
            for l in tail.into_iter().rev() {
                let _ = writeln!(err, "{l}");
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Kill first: printing can fail (a closed pipe), and a second panic
        // while unwinding aborts before anything is cleaned up.
        let ids: Vec<u64> = self.members.keys().copied().collect();
        for id in ids {
            self.kill(id);
        }
        if std::thread::panicking() {
            self.dump_logs();
        }
    }
}

pub fn signal(pid: u32, sig: &str) {
    let _ = Command::new("kill").arg(sig).arg(pid.to_string()).status();
}

/// A client that keeps writing `user.KEY` settings through whichever member
/// answers, and remembers which writes were acknowledged.
pub struct Writer {
    pub acked: Vec<(String, String)>,
    next: u64,
    prefix: String,
}

impl Writer {
    pub fn new(prefix: &str) -> Self {
        Writer {
            acked: vec![],
            next: 0,
            prefix: prefix.to_string(),
        }
    }

    /// One write attempt through member `via`; true if acknowledged.
    pub async fn write_once(&mut self, cluster: &Cluster, via: u64) -> bool {
        let key = format!("user.{}{}", self.prefix, self.next);
        let value = format!("v{}", self.next);
        self.next += 1;
        let mut c = cluster.admin(via).await;
        let req = cluster.req(SetConfigRequest {
            key: key.clone(),
            value: value.clone(),
            expect_version: None,
        });
        match c.set_config(req).await {
            Ok(_) => {
                self.acked.push((key, value));
                true
            }
            Err(_) => false,
        }
    }

    /// Writes until `n` more writes were acknowledged, rotating over running members.
    pub async fn write_acked(&mut self, cluster: &Cluster, n: usize) {
        let target = self.acked.len() + n;
        let end = Instant::now() + DEADLINE;
        let mut turn = 0usize;
        while self.acked.len() < target {
            assert!(Instant::now() < end, "writes did not resume");
            let running = cluster.running();
            let via = running[turn % running.len()];
            turn += 1;
            self.write_once(cluster, via).await;
        }
    }
}

/// Every setting as member `via` reads it (linearizable), once it answers.
pub async fn settings(cluster: &Cluster, via: u64) -> BTreeMap<String, String> {
    eventually(&format!("member {via} to serve a read"), || async {
        let mut c = cluster.admin(via).await;
        let r = c
            .get_config(cluster.req(GetConfigRequest { key: String::new() }))
            .await
            .ok()?;
        Some(
            r.into_inner()
                .entries
                .into_iter()
                .map(|e| (e.key, e.value))
                .collect(),
        )
    })
    .await
}

/// Asserts every acknowledged write is visible through member `via`.
pub async fn assert_all_present(cluster: &Cluster, via: u64, acked: &[(String, String)]) {
    let s = settings(cluster, via).await;
    for (k, v) in acked {
        assert_eq!(
            s.get(k),
            Some(v),
            "acknowledged write {k}={v} missing on member {via}"
        );
    }
}

impl Cluster {
    /// How many lines of every member's log contain `needle`.
    pub fn log_count(&self, needle: &str) -> usize {
        self.members
            .keys()
            .map(|id| {
                std::fs::read_to_string(self.log_path(*id))
                    .unwrap_or_default()
                    .matches(needle)
                    .count()
            })
            .sum()
    }
}

/// Writes in a background task through a fixed set of addresses until stopped.
pub struct BackgroundWriter {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    count: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    task: tokio::task::JoinHandle<Vec<(String, String)>>,
}

impl BackgroundWriter {
    pub fn start(addrs: Vec<String>, prefix: &str) -> Self {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = count.clone();
        let prefix = prefix.to_string();
        let task = tokio::spawn(async move {
            let clients: Vec<AdminClient<Channel>> = addrs
                .iter()
                .map(|a| {
                    let ch = tonic::transport::Endpoint::from_shared(format!("http://{a}"))
                        .unwrap()
                        .timeout(Duration::from_secs(15))
                        .connect_lazy();
                    AdminClient::new(ch)
                })
                .collect();
            let mut acked = vec![];
            let mut i = 0usize;
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                let key = format!("user.{prefix}{i}");
                let value = format!("v{i}");
                let mut c = clients[i % clients.len()].clone();
                i += 1;
                let req = SetConfigRequest {
                    key: key.clone(),
                    value: value.clone(),
                    expect_version: None,
                };
                if c.set_config(req).await.is_ok() {
                    acked.push((key, value));
                    counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                } else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            acked
        });
        BackgroundWriter { stop, count, task }
    }

    /// Acknowledged writes so far.
    pub fn acked(&self) -> usize {
        self.count.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until `n` more writes than now have been acknowledged.
    pub async fn wait_for_more(&self, n: usize) {
        let target = self.acked() + n;
        eventually(&format!("{target} acknowledged writes"), || async {
            (self.acked() >= target).then_some(())
        })
        .await;
    }

    pub async fn stop(self) -> Vec<(String, String)> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// `GET /metrics` of member `id`, as text (None while it does not answer).
pub fn scrape(cluster: &Cluster, id: u64) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(&cluster.members[&id].metrics).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .ok()?;
    let mut body = String::new();
    s.read_to_string(&mut body).ok()?;
    body.starts_with("HTTP/1.0 200").then_some(body)
}

/// Everything an operator can see of the replicated state, as one string to
/// compare: nodes, indexes, settings, the `movies` shard map and membership.
pub async fn observable_state(c: &Cluster, via: u64) -> String {
    let mut a = c.admin(via).await;
    let nodes = a
        .list_nodes(c.req(ListNodesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let indexes = a
        .list_indexes(c.req(ListIndexesRequest {}))
        .await
        .unwrap()
        .into_inner();
    let config = a
        .get_config(c.req(GetConfigRequest { key: String::new() }))
        .await
        .unwrap()
        .into_inner();
    let map = a
        .get_shard_map(c.req(IndexRef {
            uid: "movies".into(),
        }))
        .await
        .unwrap()
        .into_inner();
    let status = c.status(via).await.unwrap();
    let members: Vec<(u64, String)> = status
        .members
        .iter()
        .map(|m| (m.id, m.role.clone()))
        .collect();
    format!("{nodes:?}\n{indexes:?}\n{config:?}\n{map:?}\n{members:?}")
}
