//! The router: Miroir's Meilisearch-compatible data plane.
//!
//! # Layout
//! - [`api`]: the HTTP surface, one file per Meilisearch resource, and the route table.
//! - [`context`]: what every handler shares (topology, nodes, coordinators, lease, task ids).
//! - [`reply`]: Meilisearch-shaped errors and answers, partial answers marked as such.
//! - [`auth`]: the master key and API keys, checked before every route but `/health`.
//! - [`read`]: plan, scatter and merge of searches and listings.
//! - [`write`]: batches placed on shards, the lease and fence gate, quorum, writes to every node.
//! - [`tasks`]: task uids, task records and their Meilisearch view, the finisher, webhooks.
//! - [`topology`]: the cached shard maps and nodes, which outlive the control plane.
//! - [`primary_key`]: an index's primary key, cached per map epoch, for reads and writes alike.
//! - [`routed_epoch`]: `X-Miroir-Epoch`, the shard-map epoch a request followed.
//! - [`unsafe_switches`]: test-only switches for the partition suite.

pub mod api;
pub mod auth;
pub mod context;
pub mod primary_key;
pub mod read;
pub mod reply;
pub mod routed_epoch;
pub mod tasks;
pub mod topology;
pub mod unsafe_switches;
pub mod write;

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::control::{client_tls, ClientAuth, ControlClient, Dialer};

/// Flags of `miroir-router`.
#[derive(Debug, Clone, clap::Args)]
pub struct RouterArgs {
    /// Where clients reach the Meilisearch-compatible API.
    #[arg(long, env = "MIROIR_ROUTER_LISTEN", default_value = "0.0.0.0:7700")]
    pub listen: std::net::SocketAddr,
    /// The coordinators' gRPC addresses (any number; the router moves between them).
    #[arg(
        long,
        env = "MIROIR_COORDINATORS",
        value_delimiter = ',',
        required = true
    )]
    pub coordinators: Vec<String>,
    /// The key clients must present, as with Meilisearch's master key.
    #[arg(long, env = "MEILI_MASTER_KEY", hide_env_values = true)]
    pub master_key: Option<String>,
    /// The key the router uses on every Meilisearch node (defaults to the master key).
    #[arg(long, env = "MIROIR_NODE_KEY", hide_env_values = true)]
    pub node_key: Option<String>,
    /// CA certificate (PEM) to verify the coordinators' TLS certificates;
    /// turns TLS on for every coordinator connection.
    #[arg(long, env = "MIROIR_TLS_CA")]
    pub tls_ca: Option<std::path::PathBuf>,
    /// The coordinators' admin key, if they require one.
    #[arg(long, env = "MIROIR_ADMIN_KEY", hide_env_values = true)]
    pub admin_key: Option<String>,
    /// This router's name for its lease and task-id blocks; must differ between
    /// routers (leases are kept by name). Default: `router-` and a random suffix.
    #[arg(long, env = "MIROIR_ROUTER_ID")]
    pub router_id: Option<String>,
    /// Largest request body accepted, in bytes (Meilisearch's default: 100 MB).
    #[arg(long, env = "MIROIR_MAX_PAYLOAD_BYTES", default_value_t = api::body_limit::DEFAULT_LIMIT)]
    pub max_payload_bytes: usize,
    /// Serve Prometheus metrics (lease renewals, fence waits, late acks,
    /// webhooks, watch breaks) at http://ADDR/metrics.
    #[arg(long, env = "MIROIR_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// How long a node may take to answer one request, in milliseconds.
    #[arg(long, env = "MIROIR_NODE_TIMEOUT_MS", default_value_t = 10_000)]
    pub node_timeout_ms: u64,
    /// TEST ONLY, UNSAFE: count a node's failed write as acknowledged, so an
    /// acknowledged write can be lost. For the partition suite's own tests.
    #[arg(long, env = "MIROIR_UNSAFE_ACK_FAILED_WRITES", hide = true)]
    pub unsafe_ack_failed_writes: bool,
    /// TEST ONLY, UNSAFE: write without a live lease and count late replies,
    /// so a router cut off from the coordinators keeps writing with an old map.
    #[arg(long, env = "MIROIR_UNSAFE_IGNORE_LEASE", hide = true)]
    pub unsafe_ignore_lease: bool,
    /// TEST ONLY, UNSAFE: send a write even after the lease it was planned
    /// under has ended (a router resumed from a pause sends with an old map).
    #[arg(long, env = "MIROIR_UNSAFE_SEND_AFTER_LEASE", hide = true)]
    pub unsafe_send_after_lease: bool,
    /// TEST ONLY: hold every write this long between its lease check and its
    /// first node call, in milliseconds (stands in for a paused router).
    #[arg(
        long,
        env = "MIROIR_TEST_PAUSE_BEFORE_SEND_MS",
        hide = true,
        default_value_t = 0
    )]
    pub test_pause_before_send_ms: u64,
    /// TEST ONLY: hold every document write this long between placing it on
    /// shards and its lease and fence check, in milliseconds.
    #[arg(
        long,
        env = "MIROIR_TEST_PAUSE_BEFORE_GATE_MS",
        hide = true,
        default_value_t = 0
    )]
    pub test_pause_before_gate_ms: u64,
    /// TEST ONLY: shift this router's clock by this many milliseconds (may
    /// be negative), to test the clock-skew bound on document versions.
    #[arg(
        long,
        env = "MIROIR_TEST_CLOCK_OFFSET_MS",
        hide = true,
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    pub test_clock_offset_ms: i64,
    /// TEST ONLY, UNSAFE: issue document versions from this router's clock
    /// alone (no skew check against the leader, no ceiling, no floor), so
    /// versions can go backwards across routers and restarts.
    #[arg(long, env = "MIROIR_UNSAFE_UNCHECKED_VERSIONS", hide = true)]
    pub unsafe_unchecked_versions: bool,
    /// TEST ONLY, UNSAFE: send deletes without recording their tombstones.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_TOMBSTONES", hide = true)]
    pub unsafe_skip_tombstones: bool,
    /// TEST ONLY, UNSAFE: count filling and behind copies toward a write's
    /// quorum, so a write can be acknowledged by copies no one reads.
    #[arg(long, env = "MIROIR_UNSAFE_COUNT_EVERY_COPY", hide = true)]
    pub unsafe_count_every_copy: bool,
    /// TEST ONLY, UNSAFE: admit tenant tokens without their search rules' filters.
    #[arg(long, env = "MIROIR_UNSAFE_IGNORE_TENANT_RULES", hide = true)]
    pub unsafe_ignore_tenant_rules: bool,
    /// TEST ONLY, UNSAFE: acknowledge writes without reporting the copies
    /// they missed, so a copy that missed writes goes on serving, unrepaired.
    #[arg(long, env = "MIROIR_UNSAFE_SKIP_MISSES", hide = true)]
    pub unsafe_skip_misses: bool,
    /// Failures in a row (no answer at all) after which a node is suspect:
    /// calls to it fail at once, without waiting out the node timeout, for
    /// `--suspect-hold-ms`; 0 turns this off.
    #[arg(long, env = "MIROIR_SUSPECT_AFTER", default_value_t = 3)]
    pub suspect_after: u32,
    /// How long calls to a suspect node fail without being sent, in ms.
    #[arg(long, env = "MIROIR_SUSPECT_HOLD_MS", default_value_t = 2_000)]
    pub suspect_hold_ms: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    #[error("invalid coordinator address: {0}")]
    Coordinator(#[from] tonic::transport::Error),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[from] reqwest::Error),
    #[error("invalid admin key: {0}")]
    Key(String),
    #[error("TLS: {0}")]
    Tls(String),
    #[error("HTTP server failed: {0}")]
    Serve(#[from] std::io::Error),
}

/// Runs a router on an already-bound listener until `shutdown` fires.
pub async fn run(
    args: RouterArgs,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), RouterError> {
    let auth = ClientAuth::new(args.admin_key.as_deref()).map_err(RouterError::Key)?;
    let tls = match &args.tls_ca {
        Some(p) => Some(client_tls(&std::fs::read(p).map_err(|e| {
            RouterError::Tls(format!("cannot read {}: {e}", p.display()))
        })?)),
        None => None,
    };
    if let Some(addr) = args.metrics_listen {
        let listener = TcpListener::bind(addr).await?;
        if let Some(handle) = crate::exporter::install_recorder() {
            tokio::spawn(crate::exporter::serve(listener, handle, shutdown.clone()));
        }
    }
    let router_id = args
        .router_id
        .clone()
        .unwrap_or_else(|| format!("router-{}", &crate::meili::stamp::uuid_v4()[..8]));
    tracing::info!(%router_id, "router starting");
    let unsafe_switches = unsafe_switches::UnsafeSwitches {
        ack_failed_writes: args.unsafe_ack_failed_writes,
        ignore_lease: args.unsafe_ignore_lease,
        send_after_lease: args.unsafe_send_after_lease,
        unchecked_versions: args.unsafe_unchecked_versions,
        skip_tombstones: args.unsafe_skip_tombstones,
        count_every_copy: args.unsafe_count_every_copy,
        ignore_tenant_rules: args.unsafe_ignore_tenant_rules,
        skip_misses: args.unsafe_skip_misses,
    };
    let pause_points = unsafe_switches::PausePoints {
        before_send: Duration::from_millis(args.test_pause_before_send_ms),
        before_gate: Duration::from_millis(args.test_pause_before_gate_ms),
    };
    if unsafe_switches.any() {
        tracing::warn!(
            ?unsafe_switches,
            "test-only unsafe switches are on: acknowledged writes may be lost"
        );
    }
    let control = ControlClient::new(
        &args.coordinators,
        Dialer::new(tls, auth),
        router_id.clone(),
    )?;
    let cache = topology::TopologyCache::default();
    tokio::spawn(control.clone().watch(cache.clone(), shutdown.clone()));
    let clock =
        write::clock::VersionClock::new(args.test_clock_offset_ms, args.unsafe_unchecked_versions);
    let lease = Arc::new(write::lease::LeaseHolder::new(clock));
    tokio::spawn(write::lease::keep(
        control.clone(),
        cache.clone(),
        lease.clone(),
        shutdown.clone(),
    ));
    let node_key = args
        .node_key
        .or_else(|| args.master_key.clone())
        .and_then(crate::fleet::NodeKey::new);
    let shared = Arc::new(context::Shared {
        cache,
        nodes: crate::fleet::NodeClient::with_suspicion(
            node_key,
            Duration::from_millis(args.node_timeout_ms),
            crate::fleet::Suspicion {
                after: args.suspect_after,
                hold: Duration::from_millis(args.suspect_hold_ms),
            },
        )?,
        master_key: args.master_key,
        turn: Default::default(),
        control,
        ids: Default::default(),
        router_id,
        api_keys: Default::default(),
        facts: Default::default(),
        lease,
        max_payload_bytes: args.max_payload_bytes,
        unsafe_switches,
        pause_points,
    });
    tokio::spawn(tasks::finisher::run(shared.clone(), shutdown.clone()));
    tracing::info!(addr = ?listener.local_addr().ok(), "router serving");
    axum::serve(listener, api::routes(shared))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await?;
    Ok(())
}
