//! Coordinator configuration: flags (each also an environment variable),
//! validated into a [`CoordinatorConfig`] before anything starts.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::typ::CoordinatorId;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "invalid --peers entry `{0}`: write ID=HOST:PORT, e.g. 1=10.0.0.1:7701,2=10.0.0.2:7701"
    )]
    BadPeer(String),
    #[error("coordinator id {0} appears twice in --peers")]
    DuplicatePeer(CoordinatorId),
    #[error("this coordinator's id {0} is not in --peers, and --advertise is not set: say where peers reach it")]
    NotInPeers(CoordinatorId),
    #[error("coordinator ids start at 1 (0 is reserved)")]
    ZeroId,
    #[error("give --id (or MIROIR_ID), or --pod-name with --service for a StatefulSet")]
    NoId,
    #[error("--test-pause-workflow-phase: {0}")]
    Invalid(String),
    #[error("pod name `{0}` does not end in an ordinal (NAME-N), as StatefulSet pods do")]
    BadPodName(String),
    #[error("--tls-cert and --tls-key go together")]
    HalfTls,
    #[error("cannot read {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("invalid Raft timing: {0}")]
    Raft(String),
}

/// Command-line flags of `miroir-coordinator`.
#[derive(Debug, Clone, clap::Args)]
pub struct CoordinatorArgs {
    /// This coordinator's Raft id (1, 2, 3, ...). Not needed with --pod-name.
    #[arg(long, env = "MIROIR_ID")]
    pub id: Option<CoordinatorId>,
    /// Where the Raft log, vote and snapshots live (a persistent volume in Kubernetes).
    #[arg(long, env = "MIROIR_DATA_DIR")]
    pub data_dir: PathBuf,
    /// The gRPC address to listen on (peers, operators and routers all use it).
    #[arg(long, env = "MIROIR_LISTEN", default_value = "0.0.0.0:7701")]
    pub listen: SocketAddr,
    /// The initial voters, as ID=HOST:PORT,... (this coordinator included).
    /// Used only for the very first start; later the Raft log holds the membership.
    #[arg(long, env = "MIROIR_PEERS", value_delimiter = ',')]
    pub peers: Vec<String>,
    /// The address peers use to reach this coordinator, if not the one in --peers.
    #[arg(long, env = "MIROIR_ADVERTISE")]
    pub advertise: Option<String>,
    /// StatefulSet mode: the pod's name (e.g. `miroir-coordinator-2`, id 3). Defaults to $HOSTNAME when --service is set.
    #[arg(long, env = "POD_NAME")]
    pub pod_name: Option<String>,
    /// StatefulSet mode: the headless service name, optionally with namespace (`miroir-coordinator.search`).
    #[arg(long, env = "MIROIR_SERVICE")]
    pub service: Option<String>,
    /// StatefulSet mode: how many replicas the initial cluster has.
    #[arg(long, env = "MIROIR_REPLICAS", default_value_t = 3)]
    pub replicas: u32,
    /// Serve Prometheus metrics at http://ADDR/metrics.
    #[arg(long, env = "MIROIR_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// Require this key on every gRPC call (`authorization: Bearer KEY`).
    #[arg(long, env = "MIROIR_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// PEM certificate for TLS on the gRPC port (with --tls-key).
    #[arg(long, env = "MIROIR_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long, env = "MIROIR_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// PEM CA bundle used to verify peers' certificates (defaults to --tls-cert).
    #[arg(long, env = "MIROIR_TLS_CA")]
    pub tls_ca: Option<PathBuf>,
    /// The Meilisearch nodes' master key, for what the leader does on the nodes itself (index
    /// deletion, copies, cleanup). Held in memory only: never written to the Raft log or a snapshot.
    #[arg(long, env = "MIROIR_NODE_KEY", hide_env_values = true)]
    pub node_key: Option<String>,
    /// How long one call to a node may take before the node counts as unreachable, in milliseconds.
    #[arg(long, env = "MIROIR_NODE_TIMEOUT_MS", default_value_t = 10_000)]
    pub node_timeout_ms: u64,
    /// Raft heartbeat interval in milliseconds.
    #[arg(long, env = "MIROIR_HEARTBEAT_MS", default_value_t = 100)]
    pub heartbeat_ms: u64,
    /// Lower bound of the randomized election timeout in milliseconds (the upper
    /// bound is 1.5 times this). A follower that hears no leader calls an election
    /// after the leader lease (the upper bound) plus its timeout: 2.5 to 3 times this.
    #[arg(long, env = "MIROIR_ELECTION_TIMEOUT_MS", default_value_t = 200)]
    pub election_timeout_ms: u64,
    /// Take a snapshot after this many log entries since the last one.
    #[arg(long, env = "MIROIR_SNAPSHOT_EVERY", default_value_t = 5000)]
    pub snapshot_every: u64,
    /// Log entries kept behind a snapshot for slow followers.
    #[arg(long, env = "MIROIR_KEEP_LOGS", default_value_t = 1000)]
    pub keep_logs: u64,
    /// TEST ONLY, UNSAFE: answer reads from this member's local state without
    /// confirming leadership (no ReadIndex), so a partitioned member serves
    /// stale data. Exists so the partition suite can show it catches stale reads.
    #[arg(long, env = "MIROIR_UNSAFE_LOCAL_READS", hide = true)]
    pub unsafe_local_reads: bool,
    /// TEST ONLY, UNSAFE: open shard-map watches from this member's local
    /// state without a read barrier, so a member cut off from its peers hands
    /// a (re)starting router an old map. Exists so the partition suite can
    /// show it catches a router going back in epoch.
    #[arg(long, env = "MIROIR_UNSAFE_STALE_WATCHES", hide = true)]
    pub unsafe_stale_watches: bool,
    /// TEST ONLY, UNSAFE: grant leases to any process under any router id,
    /// so two routers may write under one id at once. Exists so the tests can
    /// show they catch a shared id.
    #[arg(long, env = "MIROIR_UNSAFE_SHARED_ROUTER_IDS", hide = true)]
    pub unsafe_shared_router_ids: bool,
    /// TEST ONLY, UNSAFE: as leader, let workflows go past their fence
    /// without waiting for the routers to acknowledge it, so a write a router
    /// cleared before the fence can land after a swap's flip or a deletion.
    /// Exists so the tests can show they catch such a write.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_ROUTER_WAIT", hide = true)]
    pub unsafe_skip_router_wait: bool,
    /// TEST ONLY, UNSAFE: as leader, let repairs return behind copies to
    /// serving without copying anything to them, so a copy that missed
    /// writes serves reads again. Exists so the tests and the partition
    /// suite can show they catch it.
    #[arg(long, env = "MIROIR_UNSAFE_SERVE_UNREPAIRED", hide = true)]
    pub unsafe_serve_unrepaired: bool,
    /// TEST ONLY: accept the Admin service's test commands (`SetCopyRole`),
    /// which change a shard map the way only a workflow should.
    #[arg(long, env = "MIROIR_TEST_COMMANDS", hide = true)]
    pub test_commands: bool,
    /// TEST ONLY: as leader, wait this long before carrying out a workflow
    /// phase's step, as `PHASE=MS` (repeatable; e.g. `wait_routers=3000`).
    #[arg(long, hide = true)]
    pub test_pause_workflow_phase: Vec<String>,
    /// TEST ONLY: as leader, before a repair writes what it compared, create
    /// `FILE.reached` and wait until FILE exists (a test lands a client write
    /// in between).
    #[arg(long, hide = true)]
    pub test_gate_before_repair_write: Option<PathBuf>,
    /// TEST ONLY, UNSAFE: repairs do not re-check what they wrote once the
    /// node has applied it, so a client write that raced a repair can be left
    /// overwritten by an older version. Exists so a test can show it.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_RECHECK", hide = true)]
    pub unsafe_skip_recheck: bool,
    /// TEST ONLY, UNSAFE: migrations switch to the new copies without the
    /// delta pass and without repairing them, so writes that raced the copy
    /// are missing from the copies that now serve. Exists so the tests and
    /// the partition suite can show they catch it.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_DELTA_PASS", hide = true)]
    pub unsafe_skip_delta_pass: bool,
    /// TEST ONLY, UNSAFE: migrations cut over without waiting for the
    /// sources' task queues, so the delta pass misses writes still queued
    /// there. Exists so the tests can show they catch it.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_SOURCE_WAIT", hide = true)]
    pub unsafe_skip_source_wait: bool,
}

#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    pub ca: Vec<u8>,
}

/// A validated configuration.
#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    pub id: CoordinatorId,
    pub data_dir: PathBuf,
    /// Initial voters and their addresses (for bootstrap only).
    pub peers: BTreeMap<CoordinatorId, String>,
    pub advertise: String,
    pub admin_key: Option<String>,
    pub tls: Option<TlsFiles>,
    pub heartbeat: Duration,
    pub election_timeout: Duration,
    pub snapshot_every: u64,
    pub keep_logs: u64,
    /// The key the leader's workflows present to the nodes.
    pub node_key: Option<crate::fleet::NodeKey>,
    /// The cap on one node call.
    pub node_timeout: Duration,
    /// Test-only switches (all off unless named on the command line).
    pub unsafe_switches: UnsafeSwitches,
    /// Test-only pause points of the leader's workflows.
    pub workflow_pauses: crate::workflows::PausePoints,
}

/// TEST-ONLY switches that each remove one safety mechanism, so that the
/// partition suite (jepsen/) can show its checkers notice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnsafeSwitches {
    /// Reads skip the read barrier (see `--unsafe-local-reads`).
    pub local_reads: bool,
    /// Watches open without a read barrier (see `--unsafe-stale-watches`).
    pub stale_watches: bool,
    /// Leases go to any process under any id (see `--unsafe-shared-router-ids`).
    pub shared_router_ids: bool,
    /// Workflows do not wait for routers past a fence (see `--unsafe-skip-router-wait`).
    pub skip_router_wait: bool,
    /// Repairs serve copies again without copying (see `--unsafe-serve-unrepaired`).
    pub serve_unrepaired: bool,
    /// Repairs write without re-checking (see `--unsafe-skip-recheck`).
    pub skip_recheck: bool,
    /// Cutovers skip the delta pass (see `--unsafe-skip-delta-pass`).
    pub skip_delta_pass: bool,
    /// Cutovers do not wait for the sources' queues (see `--unsafe-skip-source-wait`).
    pub skip_source_wait: bool,
    /// The Admin service's test commands are accepted (see `--test-commands`).
    pub test_commands: bool,
}

impl CoordinatorArgs {
    pub fn into_config(self) -> Result<CoordinatorConfig, ConfigError> {
        let (id, peers) = match (&self.service, self.id) {
            (Some(service), _) => {
                let pod = self
                    .pod_name
                    .clone()
                    .or_else(|| std::env::var("HOSTNAME").ok())
                    .ok_or(ConfigError::NoId)?;
                statefulset_peers(&pod, service, self.replicas, self.listen.port())?
            }
            (None, Some(id)) => (id, parse_peers(&self.peers)?),
            (None, None) => return Err(ConfigError::NoId),
        };
        if id == 0 {
            return Err(ConfigError::ZeroId);
        }
        let advertise = match (&self.advertise, peers.get(&id)) {
            (Some(a), _) => a.clone(),
            (None, Some(a)) => a.clone(),
            (None, None) if peers.is_empty() => self.listen.to_string(),
            (None, None) => return Err(ConfigError::NotInPeers(id)),
        };
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(c), Some(k)) => {
                let read =
                    |p: &PathBuf| std::fs::read(p).map_err(|e| ConfigError::Read(p.clone(), e));
                let cert = read(c)?;
                let ca = match &self.tls_ca {
                    Some(p) => read(p)?,
                    None => cert.clone(),
                };
                Some(TlsFiles {
                    key: read(k)?,
                    cert,
                    ca,
                })
            }
            (None, None) => None,
            _ => return Err(ConfigError::HalfTls),
        };
        if self.heartbeat_ms == 0 || self.election_timeout_ms < self.heartbeat_ms * 2 {
            return Err(ConfigError::Raft(
                "the election timeout must be at least two heartbeats".into(),
            ));
        }
        Ok(CoordinatorConfig {
            id,
            data_dir: self.data_dir,
            peers,
            advertise,
            admin_key: self.admin_key.filter(|k| !k.is_empty()),
            tls,
            heartbeat: Duration::from_millis(self.heartbeat_ms),
            election_timeout: Duration::from_millis(self.election_timeout_ms),
            snapshot_every: self.snapshot_every.max(1),
            keep_logs: self.keep_logs,
            node_key: self.node_key.and_then(crate::fleet::NodeKey::new),
            node_timeout: Duration::from_millis(self.node_timeout_ms.max(1)),
            unsafe_switches: UnsafeSwitches {
                local_reads: self.unsafe_local_reads,
                stale_watches: self.unsafe_stale_watches,
                shared_router_ids: self.unsafe_shared_router_ids,
                skip_router_wait: self.unsafe_skip_router_wait,
                serve_unrepaired: self.unsafe_serve_unrepaired,
                skip_recheck: self.unsafe_skip_recheck,
                skip_delta_pass: self.unsafe_skip_delta_pass,
                skip_source_wait: self.unsafe_skip_source_wait,
                test_commands: self.test_commands,
            },
            workflow_pauses: crate::workflows::PausePoints::parse(&self.test_pause_workflow_phase)
                .map_err(ConfigError::Invalid)?
                .with_write_gate(self.test_gate_before_repair_write),
        })
    }
}

/// Parses `1=host:port,2=host:port`.
pub fn parse_peers(entries: &[String]) -> Result<BTreeMap<CoordinatorId, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for e in entries.iter().map(|e| e.trim()).filter(|e| !e.is_empty()) {
        let (id, addr) = e
            .split_once('=')
            .ok_or_else(|| ConfigError::BadPeer(e.to_string()))?;
        let id: CoordinatorId = id
            .trim()
            .parse()
            .map_err(|_| ConfigError::BadPeer(e.to_string()))?;
        let addr = addr.trim();
        if addr.is_empty() || !addr.contains(':') {
            return Err(ConfigError::BadPeer(e.to_string()));
        }
        if id == 0 {
            return Err(ConfigError::ZeroId);
        }
        if out.insert(id, addr.to_string()).is_some() {
            return Err(ConfigError::DuplicatePeer(id));
        }
    }
    Ok(out)
}

/// StatefulSet pods are `NAME-ORDINAL`; coordinator ids are ordinal + 1 and
/// peers are reached by their stable DNS names through the headless service.
pub fn statefulset_peers(
    pod: &str,
    service: &str,
    replicas: u32,
    port: u16,
) -> Result<(CoordinatorId, BTreeMap<CoordinatorId, String>), ConfigError> {
    let (set, ordinal) = pod
        .rsplit_once('-')
        .and_then(|(set, n)| n.parse::<u64>().ok().map(|n| (set, n)))
        .ok_or_else(|| ConfigError::BadPodName(pod.to_string()))?;
    let peers = (0..u64::from(replicas))
        .map(|i| (i + 1, format!("{set}-{i}.{service}:{port}")))
        .collect();
    Ok((ordinal + 1, peers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peers_parse() {
        let p = parse_peers(&["1=a:1".into(), " 2 = b:2 ".into()]).unwrap();
        assert_eq!(p[&1], "a:1");
        assert_eq!(p[&2], "b:2");
        assert!(matches!(
            parse_peers(&["1=a:1".into(), "1=b:2".into()]),
            Err(ConfigError::DuplicatePeer(1))
        ));
        assert!(parse_peers(&["x=a:1".into()]).is_err());
        assert!(parse_peers(&["1=a".into()]).is_err());
        assert!(matches!(
            parse_peers(&["0=a:1".into()]),
            Err(ConfigError::ZeroId)
        ));
    }

    /// Pod `name-2` is coordinator 3, and peers use the headless service's DNS names.
    #[test]
    fn statefulset_derivation() {
        let (id, peers) =
            statefulset_peers("miroir-coordinator-2", "miroir-coordinator.search", 3, 7701)
                .unwrap();
        assert_eq!(id, 3);
        assert_eq!(
            peers[&1],
            "miroir-coordinator-0.miroir-coordinator.search:7701"
        );
        assert_eq!(peers.len(), 3);
        assert!(statefulset_peers("nope", "svc", 3, 1).is_err());
    }
}
