//! The two systems under test behind one client type: a Miroir coordinator
//! cluster and an etcd cluster, three members each, on loopback.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use miroir::pb::etcd::kv_client::KvClient;
use miroir::pb::etcd::maintenance_client::MaintenanceClient;
use miroir::pb::etcd::{PutRequest, RangeRequest, StatusRequest};
use miroir::pb::v1::admin_client::AdminClient;
use miroir::pb::v1::{GetConfigRequest, SetConfigRequest};
use tonic::transport::Channel;

use crate::util::{free_port, Cluster};

#[derive(Clone)]
pub enum Client {
    Miroir(AdminClient<Channel>),
    Etcd(KvClient<Channel>),
}

impl Client {
    pub async fn put(&mut self, key: &str, value: &str) -> Result<(), tonic::Status> {
        match self {
            Client::Miroir(c) => {
                let req = SetConfigRequest {
                    key: format!("user.{key}"),
                    value: value.into(),
                    expect_version: None,
                };
                c.set_config(req).await.map(|_| ())
            }
            Client::Etcd(c) => {
                let req = PutRequest {
                    key: key.as_bytes().to_vec(),
                    value: value.as_bytes().to_vec(),
                };
                c.put(req).await.map(|_| ())
            }
        }
    }

    /// A linearizable read of one key.
    pub async fn get(&mut self, key: &str) -> Result<(), tonic::Status> {
        match self {
            Client::Miroir(c) => c
                .get_config(GetConfigRequest {
                    key: format!("user.{key}"),
                })
                .await
                .map(|_| ()),
            Client::Etcd(c) => {
                let req = RangeRequest {
                    key: key.as_bytes().to_vec(),
                    serializable: false,
                    ..Default::default()
                };
                c.range(req).await.map(|_| ())
            }
        }
    }
}

fn channel(addr: &str, timeout: Duration) -> Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .timeout(timeout)
        .connect_timeout(Duration::from_millis(500))
        .tcp_nodelay(true)
        .connect_lazy()
}

pub enum Target {
    Miroir(Cluster),
    Etcd(EtcdCluster),
}

impl Target {
    pub fn name(&self) -> &'static str {
        match self {
            Target::Miroir(_) => "miroir",
            Target::Etcd(_) => "etcd",
        }
    }

    pub fn members(&self) -> Vec<usize> {
        match self {
            Target::Miroir(c) => c.running().into_iter().map(|id| id as usize).collect(),
            Target::Etcd(e) => e.running(),
        }
    }

    pub fn client(&self, member: usize, timeout: Duration) -> Client {
        match self {
            Target::Miroir(c) => {
                Client::Miroir(AdminClient::new(channel(&c.addr(member as u64), timeout)))
            }
            Target::Etcd(e) => {
                Client::Etcd(KvClient::new(channel(&e.client_addr(member), timeout)))
            }
        }
    }

    pub async fn leader(&self) -> usize {
        match self {
            Target::Miroir(c) => c.leader().await as usize,
            Target::Etcd(e) => e.leader().await,
        }
    }

    pub fn kill(&mut self, member: usize) {
        match self {
            Target::Miroir(c) => c.kill(member as u64),
            Target::Etcd(e) => e.kill(member),
        }
    }

    pub fn pid(&self, member: usize) -> Option<u32> {
        match self {
            Target::Miroir(c) => c.pid(member as u64),
            Target::Etcd(e) => e.procs[member - 1].as_ref().map(Child::id),
        }
    }

    pub fn data_dir(&self, member: usize) -> PathBuf {
        match self {
            Target::Miroir(c) => c.dir.path().join(format!("data-{member}")),
            Target::Etcd(e) => e.dir.path().join(format!("e{member}")),
        }
    }
}

/// Three etcd members (ids 1..=3) with timing and compaction comparable to
/// the coordinators': 100 ms heartbeats, 500 ms elections, a snapshot every
/// 5000 entries, history compacted to the last 1000 revisions.
pub struct EtcdCluster {
    pub dir: tempfile::TempDir,
    client_ports: Vec<u16>,
    procs: Vec<Option<Child>>,
}

impl EtcdCluster {
    pub fn available() -> bool {
        Command::new("etcd")
            .arg("--version")
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    }

    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let client_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let peer_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let initial = (0..3)
            .map(|i| format!("e{}=http://127.0.0.1:{}", i + 1, peer_ports[i]))
            .collect::<Vec<_>>()
            .join(",");
        let procs = (0..3)
            .map(|i| {
                let log =
                    std::fs::File::create(dir.path().join(format!("e{}.log", i + 1))).unwrap();
                let client = format!("http://127.0.0.1:{}", client_ports[i]);
                let peer = format!("http://127.0.0.1:{}", peer_ports[i]);
                let child = Command::new("etcd")
                    .args(["--name", &format!("e{}", i + 1)])
                    .arg("--data-dir")
                    .arg(dir.path().join(format!("e{}", i + 1)))
                    .args([
                        "--listen-client-urls",
                        &client,
                        "--advertise-client-urls",
                        &client,
                    ])
                    .args([
                        "--listen-peer-urls",
                        &peer,
                        "--initial-advertise-peer-urls",
                        &peer,
                    ])
                    .args([
                        "--initial-cluster",
                        &initial,
                        "--initial-cluster-state",
                        "new",
                    ])
                    .args(["--initial-cluster-token", "miroir-bench"])
                    .args(["--heartbeat-interval", "100", "--election-timeout", "500"])
                    .args(["--snapshot-count", "5000"])
                    .args([
                        "--auto-compaction-mode",
                        "revision",
                        "--auto-compaction-retention",
                        "1000",
                    ])
                    .args(["--logger", "zap", "--log-level", "warn"])
                    .stdin(Stdio::null())
                    .stdout(log.try_clone().unwrap())
                    .stderr(log)
                    .spawn()
                    .expect("start etcd");
                Some(child)
            })
            .collect();
        EtcdCluster {
            dir,
            client_ports,
            procs,
        }
    }

    pub fn client_addr(&self, member: usize) -> String {
        format!("127.0.0.1:{}", self.client_ports[member - 1])
    }

    pub fn running(&self) -> Vec<usize> {
        (1..=3).filter(|m| self.procs[m - 1].is_some()).collect()
    }

    pub fn kill(&mut self, member: usize) {
        if let Some(mut c) = self.procs[member - 1].take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// The member that leads, once every running member agrees.
    pub async fn leader(&self) -> usize {
        crate::util::eventually("an etcd leader", || async {
            let mut leader_id = None;
            let mut ids = vec![];
            for m in self.running() {
                let mut c =
                    MaintenanceClient::new(channel(&self.client_addr(m), Duration::from_secs(1)));
                let s = c.status(StatusRequest {}).await.ok()?.into_inner();
                let me = s.header?.member_id;
                ids.push((m, me));
                if s.leader == 0 || *leader_id.get_or_insert(s.leader) != s.leader {
                    return None;
                }
            }
            let leader = leader_id?;
            ids.into_iter()
                .find(|(_, id)| *id == leader)
                .map(|(m, _)| m)
        })
        .await
    }
}

impl Drop for EtcdCluster {
    fn drop(&mut self) {
        for m in 1..=3 {
            self.kill(m);
        }
    }
}
