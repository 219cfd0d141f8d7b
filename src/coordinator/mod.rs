//! The coordinator: a Raft member holding Miroir's control state.
//!
//! # Layout
//! - [`config`]: flags and their validation.
//! - [`typ`]: openraft type aliases.
//! - [`store`]: sled log store and state machine (durable before acknowledged).
//! - [`network`]: outbound peer RPCs, one channel per peer.
//! - [`app`]: propose with leader forwarding, linearizable reads, membership.
//! - [`proposer`]: group commit of concurrent commands into one log entry.
//! - [`grpc`]: the RaftTransport, Admin and Router services.
//! - [`bootstrap`]: first-start initialization, exactly once.
//! - [`metrics`]: Prometheus gauges and histograms.
//! - [`auth`]: the admin key.

pub mod app;
pub mod auth;
pub mod bootstrap;
pub mod config;
pub mod confirm;
pub mod error;
pub mod executor;
pub mod fencing;
pub mod grpc;
pub mod leases;
pub mod metrics;
pub mod network;
pub mod proposer;
pub mod store;
pub mod typ;

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Identity, Server, ServerTlsConfig};

pub use config::{CoordinatorArgs, CoordinatorConfig};

use crate::control::{client_tls, ClientAuth, Dialer};
use crate::pb::v1::admin_server::AdminServer;
use crate::pb::v1::raft_transport_server::RaftTransportServer;
use crate::pb::v1::router_server::RouterServer;
use app::App;
use auth::RequireKey;
use network::Peers;

/// Largest gRPC message: snapshots travel in one piece.
pub const MAX_MESSAGE: usize = 256 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the data directory {0}: {1}")]
    Storage(std::path::PathBuf, sled::Error),
    #[error("invalid Raft configuration: {0}")]
    Raft(String),
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("gRPC server failed: {0}")]
    Serve(tonic::transport::Error),
    #[error("invalid admin key: {0}")]
    Key(String),
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(String),
    #[error("cannot set up the HTTP client for the nodes: {0}")]
    NodeClient(String),
}

/// Openraft's configuration from ours.
pub fn raft_config(c: &CoordinatorConfig) -> Result<Arc<openraft::Config>, StartError> {
    let election = c.election_timeout.as_millis() as u64;
    openraft::Config {
        cluster_name: "miroir".into(),
        heartbeat_interval: c.heartbeat.as_millis() as u64,
        election_timeout_min: election,
        election_timeout_max: election + election / 2,
        install_snapshot_timeout: 10_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(c.snapshot_every),
        max_in_snapshot_log_to_keep: c.keep_logs,
        ..Default::default()
    }
    .validate()
    .map(Arc::new)
    .map_err(|e| StartError::Raft(e.to_string()))
}

/// Runs a coordinator on an already-bound listener until `shutdown` fires.
pub async fn run(
    config: CoordinatorConfig,
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let (logs, sm) = store::open(&config.data_dir)
        .map_err(|e| StartError::Storage(config.data_dir.clone(), e))?;
    let had_state = logs.has_state().unwrap_or(true);
    let shared = sm.shared();
    let auth = ClientAuth::new(config.admin_key.as_deref()).map_err(StartError::Key)?;
    let dialer = Dialer::new(config.tls.as_ref().map(|t| client_tls(&t.ca)), auth);
    let peers = Peers::new(dialer);
    let raft = typ::Raft::new(
        config.id,
        raft_config(&config)?,
        peers.clone(),
        logs.clone(),
        sm,
    )
    .await
    .map_err(|e| StartError::Raft(e.to_string()))?;
    let app = App {
        id: config.id,
        raft: raft.clone(),
        state: shared,
        peers,
        logs,
        proposer: proposer::Proposer::start(raft.clone()),
        leases: Default::default(),
        confirmations: std::sync::Arc::new(confirm::rounds()),
        nodes: crate::fleet::NodeClient::new(config.node_key.clone(), config.node_timeout)
            .map_err(|e| StartError::NodeClient(e.to_string()))?,
        unsafe_switches: config.unsafe_switches,
    };
    if config.unsafe_switches.local_reads {
        tracing::warn!("--unsafe-local-reads is on: reads may be stale (test-only switch)");
    }
    if config.unsafe_switches.stale_watches {
        tracing::warn!(
            "--unsafe-stale-watches is on: routers may be handed old maps (test-only switch)"
        );
    }

    let prometheus = crate::exporter::install_recorder();
    if let (Some(l), Some(h)) = (metrics_listener, prometheus) {
        tokio::spawn(crate::exporter::serve(l, h, shutdown.clone()));
    }
    tokio::spawn(metrics::export_raft_metrics(app.clone(), shutdown.clone()));
    tokio::spawn(metrics::export_repair_metrics(
        app.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(metrics::export_migration_metrics(
        app.clone(),
        shutdown.clone(),
    ));
    {
        let a = app.clone();
        tokio::spawn(confirm::run(
            app.confirmations.clone(),
            confirm::ROUND,
            move || {
                let a = a.clone();
                async move { a.read_barrier().await.is_ok() }
            },
            shutdown.clone(),
        ));
    }
    tokio::spawn(crate::workflows::run(
        app.clone(),
        config.workflow_pauses.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(bootstrap::name_cluster_when_leader(
        app.clone(),
        shutdown.clone(),
    ));
    {
        let app = app.clone();
        let peers = config.peers.clone();
        tokio::spawn(async move { bootstrap::maybe_initialize(&app, &peers, had_state).await });
    }

    let serve = serve_grpc(&config, app.clone(), listener, shutdown.clone()).await;
    shutdown.cancel();
    if let Err(e) = raft.shutdown().await {
        tracing::warn!(error = %e, "raft shutdown");
    }
    tracing::info!(id = config.id, "coordinator stopped");
    serve
}

async fn serve_grpc(
    config: &CoordinatorConfig,
    app: App,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), StartError> {
    let key = RequireKey::new(config.admin_key.as_deref());
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_serving::<AdminServer<grpc::admin_service::AdminService>>()
        .await;
    health
        .set_serving::<RouterServer<grpc::router_service::RouterService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| StartError::Reflection(e.to_string()))?;
    let reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(crate::pb::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1alpha()
        .map_err(|e| StartError::Reflection(e.to_string()))?;

    let raft_svc = RaftTransportServer::new(grpc::raft_service::RaftService::new(app.clone()))
        .max_decoding_message_size(MAX_MESSAGE)
        .max_encoding_message_size(MAX_MESSAGE);
    let admin_svc = AdminServer::new(grpc::admin_service::AdminService::new(app.clone()));
    let router_svc = RouterServer::new(grpc::router_service::RouterService::new(
        app,
        shutdown.clone(),
    ));

    let mut builder = Server::builder();
    if let Some(tls) = &config.tls {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(&tls.cert, &tls.key)))
            .map_err(|e| StartError::Tls(e.to_string()))?;
    }
    tracing::info!(id = config.id, addr = ?listener.local_addr().ok(), "serving gRPC");
    builder
        .add_service(tonic::service::interceptor::InterceptedService::new(
            raft_svc,
            key.clone(),
        ))
        .add_service(tonic::service::interceptor::InterceptedService::new(
            admin_svc,
            key.clone(),
        ))
        .add_service(tonic::service::interceptor::InterceptedService::new(
            router_svc, key,
        ))
        .add_service(health_service)
        .add_service(reflection)
        .add_service(reflection_alpha)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), shutdown.cancelled())
        .await
        .map_err(StartError::Serve)
}
