//! Prometheus metrics of a coordinator: Raft progress gauges fed from
//! openraft's metrics, and repair gauges sampled from the applied state
//! (served by [`crate::exporter`]).

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

/// Samples the applied state's repair picture every few seconds: copies behind (and for too
/// long), and each index's last anti-entropy pass.
pub async fn export_repair_metrics(app: App, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        let now = crate::workflows::now_ms();
        app.state.read(|s| {
            let alert_ms = s.settings.int("repair_behind_alert_s") * 1000;
            let mut per_index: std::collections::BTreeMap<String, u64> =
                s.indexes.keys().map(|i| (i.0.clone(), 0)).collect();
            let mut too_long = 0;
            for b in s.behind.all() {
                *per_index.entry(b.index.0.clone()).or_default() += 1;
                too_long += u64::from(now.saturating_sub(b.behind.marked_at_ms) > alert_ms);
            }
            for (index, n) in per_index {
                metrics::gauge!("miroir_copies_behind", "index" => index).set(n as f64);
            }
            metrics::gauge!("miroir_copies_behind_too_long").set(too_long as f64);
            for (index, l) in &s.anti_entropy.last {
                let i = index.0.clone();
                metrics::gauge!("miroir_anti_entropy_last_pass_timestamp_seconds", "index" => i.clone())
                    .set(l.finished_at_ms as f64 / 1000.0);
                metrics::gauge!("miroir_anti_entropy_last_pass_mismatches", "index" => i.clone())
                    .set(l.counts.mismatches as f64);
                metrics::gauge!("miroir_anti_entropy_dirty_streak", "index" => i).set(f64::from(l.dirty_streak));
            }
        });
    }
}

/// Migration gauges, every two seconds on the leader: whether one runs (and is stuck), each
/// index's phase, documents copied and copy rate, how long a fence has been up, and how far
/// each router's acknowledged epoch lags the newest.
pub async fn export_migration_metrics(app: App, shutdown: CancellationToken) {
    let every = Duration::from_secs(2);
    let mut tick = tokio::time::interval(every);
    let mut last: std::collections::BTreeMap<String, u64> = Default::default();
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if app.ensure_leader().is_err() {
            continue;
        }
        let now = crate::workflows::now_ms();
        let epoch = app.state.read(|s| {
            let current = s.migrations.current();
            let running = current.is_some_and(|m| m.status.runs());
            let stuck = current.is_some_and(|m| m.status.as_str() == "stuck");
            metrics::gauge!("miroir_migration_running").set(f64::from(u8::from(running)));
            metrics::gauge!("miroir_migration_stuck").set(f64::from(u8::from(stuck)));
            for w in current
                .iter()
                .flat_map(|m| m.workflows.iter())
                .filter_map(|id| s.workflows.get(*id))
            {
                let Some(im) = w.moves.as_ref() else { continue };
                let i = w.index.0.clone();
                let position = w
                    .kind
                    .phases()
                    .iter()
                    .position(|p| *p == w.phase)
                    .unwrap_or(0);
                metrics::gauge!("miroir_migration_phase", "index" => i.clone())
                    .set(position as f64);
                metrics::gauge!("miroir_migration_documents_copied", "index" => i.clone())
                    .set(im.copied as f64);
                let before = last.insert(i.clone(), im.copied).unwrap_or(im.copied);
                let rate = im.copied.saturating_sub(before) as f64 / every.as_secs_f64();
                metrics::gauge!("miroir_migration_copy_rate", "index" => i.clone()).set(rate);
                metrics::gauge!("miroir_migration_cutover_attempts", "index" => i.clone())
                    .set(f64::from(im.cutover_attempts));
                let held = im.fenced_at_ms.map_or(0, |f| now.saturating_sub(f));
                metrics::gauge!("miroir_migration_fence_held_seconds", "index" => i)
                    .set(held as f64 / 1000.0);
            }
            s.last_epoch.0
        });
        for (router, acked) in app.leases.live(std::time::Instant::now()) {
            metrics::gauge!("miroir_router_epoch_lag", "router" => router)
                .set(epoch.saturating_sub(acked) as f64);
        }
    }
}
