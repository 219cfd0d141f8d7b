//! Prometheus metrics: Raft progress gauges fed from openraft's metrics, and
//! the `/metrics` HTTP endpoint.

use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::app::App;

/// Installs the process-wide recorder (once per process).
pub fn install_recorder() -> Option<PrometheusHandle> {
    match PrometheusBuilder::new().install_recorder() {
        Ok(h) => Some(h),
        Err(e) => {
            tracing::warn!(error = %e, "metrics recorder not installed");
            None
        }
    }
}

/// Serves `GET /metrics` until shutdown.
pub async fn serve(listener: TcpListener, handle: PrometheusHandle, shutdown: CancellationToken) {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let h = handle.clone();
            async move { h.render() }
        }),
    );
    let res = axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await;
    if let Err(e) = res {
        tracing::error!(error = %e, "metrics server failed");
    }
}

/// Mirrors openraft's metrics into gauges, and samples sled's disk size.
pub async fn export_raft_metrics(app: App, shutdown: CancellationToken) {
    let mut rx = app.raft.metrics();
    let mut disk = tokio::time::interval(Duration::from_secs(5));
    loop {
        {
            let m = rx.borrow_and_update().clone();
            metrics::gauge!("miroir_coordinator_is_leader")
                .set(f64::from(u8::from(m.current_leader == Some(app.id))));
            metrics::gauge!("miroir_coordinator_term").set(m.current_term as f64);
            metrics::gauge!("miroir_coordinator_last_log_index")
                .set(m.last_log_index.unwrap_or(0) as f64);
            metrics::gauge!("miroir_coordinator_applied_index")
                .set(m.last_applied.map_or(0, |l| l.index) as f64);
            metrics::gauge!("miroir_coordinator_snapshot_index")
                .set(m.snapshot.map_or(0, |l| l.index) as f64);
            metrics::gauge!("miroir_coordinator_purged_index")
                .set(m.purged.map_or(0, |l| l.index) as f64);
        }
        tokio::select! {
            r = rx.changed() => if r.is_err() { return },
            _ = disk.tick() => {
                metrics::gauge!("miroir_coordinator_sled_disk_bytes").set(app.logs.size_on_disk() as f64);
                if let Ok(committed) = app.raft.with_raft_state(|st| st.committed).await {
                    metrics::gauge!("miroir_coordinator_commit_index").set(committed.map_or(0, |l| l.index) as f64);
                }
            }
            _ = shutdown.cancelled() => return,
        }
    }
}
