//! Prometheus metrics of a coordinator: Raft progress gauges fed from
//! openraft's metrics (served by [`crate::exporter`]).

use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::app::App;

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
