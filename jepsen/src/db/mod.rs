//! The Miroir cluster under test: coordinators `c1..`, routers `r1..` and
//! devnodes `n1..`, each on its own host, started from the binaries cargo
//! built next to this harness.

pub mod process;
pub mod switches;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use miroir::pb::v1::admin_client::AdminClient;
use miroir::pb::v1::{AddNodeRequest, ClusterStatusRequest, ClusterStatusResponse};
use tonic::transport::Channel;

use crate::net::{Host, Net};
use process::Proc;

pub const COORDINATOR_PORT: u16 = 7701;
pub const HTTP_PORT: u16 = 7700;
pub const MASTER_KEY: &str = "jepsen-master-key";

/// Shape of the cluster and the test-only switches its processes run with.
#[derive(Debug, Clone)]
pub struct Layout {
    pub coordinators: u64,
    /// Spare coordinator hosts the membership nemesis may add.
    pub spare_coordinators: u64,
    pub routers: u64,
    /// Devnodes per replica group, and groups.
    pub nodes_per_group: u32,
    pub groups: u32,
    /// Extra flags per role (`coordinator`, `router`, `devnode`).
    pub extra: BTreeMap<String, Vec<String>>,
}

impl Layout {
    pub fn coordinator_names(&self) -> Vec<String> {
        (1..=self.coordinators).map(|i| format!("c{i}")).collect()
    }

    pub fn spare_names(&self) -> Vec<String> {
        (1..=self.spare_coordinators)
            .map(|i| format!("c{}", self.coordinators + i))
            .collect()
    }

    pub fn router_names(&self) -> Vec<String> {
        (1..=self.routers).map(|i| format!("r{i}")).collect()
    }

    pub fn node_names(&self) -> Vec<String> {
        (1..=self.groups * self.nodes_per_group)
            .map(|i| format!("n{i}"))
            .collect()
    }

    /// Every host name, in start order.
    pub fn host_names(&self) -> Vec<String> {
        let mut all = self.coordinator_names();
        all.extend(self.spare_names());
        all.extend(self.node_names());
        all.extend(self.router_names());
        all
    }
}

/// Fails when a binary a run starts is not in `bin_dir`.
pub fn check_binaries(bin_dir: &Path) -> Result<()> {
    for bin in ["miroir-coordinator", "miroir-router", "miroir-devnode"] {
        if !bin_dir.join(bin).exists() {
            bail!(
                "{} is missing: build the binaries first (`cargo build --bins --workspace`)",
                bin_dir.join(bin).display()
            );
        }
    }
    Ok(())
}

/// Coordinator id from a host name (`c3` -> 3).
pub fn coordinator_id(name: &str) -> Option<u64> {
    name.strip_prefix('c')?.parse().ok()
}

pub struct Db {
    pub layout: Layout,
    bin_dir: PathBuf,
    dir: PathBuf,
    procs: BTreeMap<String, Proc>,
}

impl Db {
    /// Prepares every process (none started yet); `dir` gets data and logs.
    pub fn new(layout: Layout, net: &Net, bin_dir: &Path, dir: &Path) -> Result<Db> {
        check_binaries(bin_dir)?;
        let mut db = Db {
            layout,
            bin_dir: bin_dir.to_path_buf(),
            dir: dir.to_path_buf(),
            procs: BTreeMap::new(),
        };
        let host = |n: &str| net.host(n).cloned().context("host missing");
        let peers = db.peers(net, &db.layout.coordinator_names());
        for name in db.layout.coordinator_names() {
            let p = db.coordinator_proc(host(&name)?, &peers);
            db.procs.insert(name, p);
        }
        for name in db.layout.node_names() {
            let h = host(&name)?;
            let args = vec![
                "--listen".into(),
                format!("{}:{HTTP_PORT}", h.ip),
                "--master-key".into(),
                MASTER_KEY.into(),
            ];
            let p = db.proc(h, "miroir-devnode", "devnode", args);
            db.procs.insert(name, p);
        }
        let coordinators = db
            .layout
            .coordinator_names()
            .iter()
            .chain(db.layout.spare_names().iter())
            .map(|c| format!("{}:{COORDINATOR_PORT}", net.host(c).expect("host").ip))
            .collect::<Vec<_>>()
            .join(",");
        for name in db.layout.router_names() {
            let h = host(&name)?;
            let args = vec![
                "--listen".into(),
                format!("{}:{HTTP_PORT}", h.ip),
                "--coordinators".into(),
                coordinators.clone(),
                "--master-key".into(),
                MASTER_KEY.into(),
                "--router-id".into(),
                name.clone(),
            ];
            let p = db.proc(h, "miroir-router", "router", args);
            db.procs.insert(name, p);
        }
        Ok(db)
    }

    fn peers(&self, net: &Net, names: &[String]) -> String {
        names
            .iter()
            .filter_map(|n| {
                let id = coordinator_id(n)?;
                let h = net.host(n)?;
                Some(format!("{id}={}:{COORDINATOR_PORT}", h.ip))
            })
            .collect::<Vec<_>>()
            .join(",")
    }

    fn coordinator_proc(&self, h: Host, peers: &str) -> Proc {
        let id = coordinator_id(&h.name).expect("coordinator host name");
        let args = vec![
            "--id".into(),
            id.to_string(),
            "--data-dir".into(),
            self.dir
                .join(format!("data-{}", h.name))
                .display()
                .to_string(),
            "--listen".into(),
            format!("{}:{COORDINATOR_PORT}", h.ip),
            "--peers".into(),
            peers.to_string(),
            // The leader deletes indexes on the nodes itself.
            "--node-key".into(),
            MASTER_KEY.into(),
        ];
        self.proc(h, "miroir-coordinator", "coordinator", args)
    }

    fn proc(&self, h: Host, bin: &str, role: &str, mut args: Vec<String>) -> Proc {
        args.extend(self.layout.extra.get(role).cloned().unwrap_or_default());
        let log = self.dir.join(format!("{}.log", h.name));
        Proc::new(h, self.bin_dir.join(bin), args, log)
    }

    /// Starts coordinators and devnodes, waits for a leader, registers the
    /// devnodes, then starts the routers and waits until they answer.
    pub async fn setup(&mut self) -> Result<()> {
        for name in self.layout.coordinator_names() {
            self.start(&name)?;
        }
        for name in self.layout.node_names() {
            self.start(&name)?;
        }
        let leader = self.await_leader(Duration::from_secs(30)).await?;
        let mut admin = self.admin(&format!("c{leader}"))?;
        let per_group = self.layout.nodes_per_group;
        for (i, name) in self.layout.node_names().iter().enumerate() {
            let ip = self.procs[name].host.ip;
            let req = AddNodeRequest {
                id: name.clone(),
                address: format!("http://{ip}:{HTTP_PORT}"),
                group: i as u32 / per_group,
            };
            admin
                .add_node(req)
                .await
                .with_context(|| format!("registering devnode {name}"))?;
        }
        for name in self.layout.router_names() {
            self.start(&name)?;
        }
        self.await_routers(Duration::from_secs(30)).await
    }

    /// Waits until every router answers `/health`.
    pub async fn await_routers(&self, within: Duration) -> Result<()> {
        let http = reqwest::Client::new();
        let deadline = Instant::now() + within;
        for name in self.layout.router_names() {
            let url = format!("{}/health", self.http_url(&name));
            while http.get(&url).send().await.is_err() {
                if Instant::now() > deadline {
                    bail!("router {name} did not answer {url} within {within:?}");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        Ok(())
    }

    /// Waits until no copy is behind (the leader's repairs brought every one back to serving),
    /// or `within` has passed; says how many are still behind then.
    pub async fn await_repairs(&self, within: Duration) -> Result<usize> {
        let deadline = Instant::now() + within;
        loop {
            let status = self
                .on_any_coordinator(|mut a| async move {
                    a.anti_entropy_status(miroir::pb::v1::AntiEntropyStatusRequest {})
                        .await
                })
                .await;
            let behind = status.map(|(_, s)| s.behind.len()).unwrap_or(usize::MAX);
            if behind == 0 || Instant::now() > deadline {
                return Ok(behind);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs an anti-entropy pass in repair mode over `index` and waits (at most `within`) until
    /// it is done; false if it could not be started or did not finish.
    pub async fn anti_entropy_pass(&self, index: &str, within: Duration) -> bool {
        let req = miroir::pb::v1::RunAntiEntropyRequest {
            index: index.to_string(),
            shards: vec![],
            mode: "repair".into(),
        };
        let started = self
            .on_any_coordinator(|mut a| {
                let req = req.clone();
                async move { a.run_anti_entropy(req).await }
            })
            .await;
        let Ok((_, w)) = started else {
            return false;
        };
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            let got = self
                .on_any_coordinator(|mut a| async move {
                    a.get_workflow(miroir::pb::v1::WorkflowRef { id: w.id })
                        .await
                })
                .await;
            if got.is_ok_and(|(_, w)| w.phase == "done") {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        false
    }

    /// Polls the coordinators until one of them names a leader.
    pub async fn await_leader(&self, within: Duration) -> Result<u64> {
        let deadline = Instant::now() + within;
        loop {
            for name in self.layout.coordinator_names() {
                if let Ok(s) = self.status(&name).await {
                    if let Some(l) = s.leader_id {
                        return Ok(l);
                    }
                }
            }
            if Instant::now() > deadline {
                bail!("no coordinator leader within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn status(&self, coordinator: &str) -> Result<ClusterStatusResponse> {
        let mut a = self.admin(coordinator)?;
        Ok(a.cluster_status(ClusterStatusRequest {})
            .await?
            .into_inner())
    }

    /// A gRPC channel to a coordinator (connected lazily; short timeouts so
    /// a partitioned member fails fast instead of hanging the client).
    pub fn channel(&self, coordinator: &str) -> Result<Channel> {
        let ip = self.ip(coordinator)?;
        Ok(
            tonic::transport::Endpoint::from_shared(format!("http://{ip}:{COORDINATOR_PORT}"))?
                .connect_timeout(Duration::from_secs(1))
                .timeout(Duration::from_secs(5))
                .connect_lazy(),
        )
    }

    /// Runs an admin call on each voting coordinator in turn until one
    /// succeeds; returns which one and its answer, or the last refusal.
    pub async fn on_any_coordinator<T, F, Fut>(&self, call: F) -> Result<(String, T)>
    where
        F: Fn(AdminClient<Channel>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut last = String::from("no coordinator");
        for c in self.layout.coordinator_names() {
            match call(self.admin(&c)?).await {
                Ok(r) => return Ok((c, r.into_inner())),
                Err(e) => last = format!("{c}: {:?}: {}", e.code(), e.message()),
            }
        }
        bail!("no coordinator accepted the call (last: {last})")
    }

    pub fn admin(&self, coordinator: &str) -> Result<AdminClient<Channel>> {
        Ok(AdminClient::new(self.channel(coordinator)?))
    }

    pub fn ip(&self, name: &str) -> Result<std::net::Ipv4Addr> {
        Ok(self.procs.get(name).context("no such host")?.host.ip)
    }

    pub fn http_url(&self, name: &str) -> String {
        format!("http://{}:{HTTP_PORT}", self.procs[name].host.ip)
    }

    /// Prepares a spare coordinator (fresh data) that knows the current peers.
    pub fn prepare_spare(&mut self, net: &Net, name: &str) -> Result<()> {
        let h = net.host(name).cloned().context("no spare host")?;
        let _ = std::fs::remove_dir_all(self.dir.join(format!("data-{name}")));
        let mut names = self.layout.coordinator_names();
        names.push(name.to_string());
        let peers = self.peers(net, &names);
        let p = self.coordinator_proc(h, &peers);
        self.procs.insert(name.to_string(), p);
        Ok(())
    }

    pub fn start(&mut self, name: &str) -> Result<()> {
        self.procs.get_mut(name).context("no such process")?.start()
    }

    pub fn proc_mut(&mut self, name: &str) -> Option<&mut Proc> {
        self.procs.get_mut(name)
    }

    pub fn procs(&self) -> impl Iterator<Item = (&String, &Proc)> {
        self.procs.iter()
    }

    /// Processes that died without the nemesis killing them.
    pub fn crashed(&mut self) -> Vec<String> {
        self.procs
            .iter_mut()
            .filter_map(|(n, p)| p.exited().map(|s| format!("{n} ({s})")))
            .collect()
    }

    /// Resumes and restarts everything the nemesis stopped.
    pub fn revive_all(&mut self) -> Result<()> {
        let spares = self.layout.spare_names();
        for (name, p) in self.procs.iter_mut() {
            if p.is_paused() {
                p.resume();
            }
            if !p.is_running() && !spares.contains(name) {
                p.start()?;
            }
        }
        Ok(())
    }
}
