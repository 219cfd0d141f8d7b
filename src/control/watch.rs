//! Following the shard maps: a stream from one coordinator at a time, moved
//! to the next whenever it breaks or goes silent.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::control::client::ControlClient;
use crate::control::types::ShardMapUpdate;
use crate::pb::v1::router_client::RouterClient;
use crate::pb::v1::{ShardMapEvent, WatchShardMapsRequest};

/// A watch that brings nothing for this long (coordinators send a heartbeat
/// every second, each after a read barrier of at most a second) is dropped
/// for another coordinator.
const WATCH_SILENCE: Duration = Duration::from_secs(5);

/// Where the watch delivers what it learns (the router's topology cache), so
/// that this part needs nothing from the router.
pub trait ShardMapSink: Send + 'static {
    /// Takes in one update (heartbeats and unreadable events never reach it).
    fn apply(&self, update: ShardMapUpdate);
}

/// An event that only says the stream is alive: it changes nothing and
/// brings no epoch newer than `seen` (an epoch taken with no map changing
/// comes in an event like this, and must be taken in).
fn is_heartbeat(ev: &ShardMapEvent, seen: u64) -> bool {
    !ev.full
        && ev.changed.is_empty()
        && ev.deleted.is_empty()
        && ev.nodes.is_empty()
        && ev.epoch <= seen
}

impl ControlClient {
    /// Follows the shard maps until shutdown, moving to the next coordinator
    /// whenever the stream breaks. The sink keeps its last state meanwhile.
    pub async fn watch(self, sink: impl ShardMapSink, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        // The newest epoch handed to the sink.
        let mut seen = 0;
        while !shutdown.is_cancelled() {
            for (i, addr, ch) in self.order() {
                let mut client = RouterClient::new(ch);
                let mut req = tonic::Request::new(WatchShardMapsRequest {
                    router_id: self.router_id.clone(),
                });
                self.dialer.auth.apply(&mut req);
                let stream = tokio::select! {
                    r = client.watch_shard_maps(req) => r,
                    _ = shutdown.cancelled() => return,
                };
                let mut stream = match stream {
                    Ok(s) => s.into_inner(),
                    Err(e) => {
                        tracing::debug!(coordinator = %addr, error = %e.message(), "watch not established");
                        self.breaks.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                };
                self.preferred.store(i, Ordering::Relaxed);
                tracing::info!(coordinator = %addr, "following shard maps");
                loop {
                    let msg = tokio::select! {
                        m = tokio::time::timeout(WATCH_SILENCE, stream.message()) => match m {
                            Ok(m) => m,
                            // No heartbeat: the coordinator is paused or cut off.
                            Err(_) => Err(tonic::Status::deadline_exceeded("the shard-map watch went silent")),
                        },
                        _ = shutdown.cancelled() => return,
                    };
                    match msg {
                        Ok(Some(ev)) if is_heartbeat(&ev, seen) => {
                            backoff = Duration::from_millis(50);
                        }
                        Ok(Some(ev)) => {
                            backoff = Duration::from_millis(50);
                            seen = seen.max(ev.epoch);
                            match ShardMapUpdate::try_from(ev) {
                                Ok(update) => sink.apply(update),
                                Err(e) => {
                                    tracing::error!(error = %e, "malformed shard-map event ignored")
                                }
                            }
                        }
                        Ok(None) | Err(_) => {
                            tracing::warn!(coordinator = %addr, "shard-map watch broke; trying another coordinator");
                            self.breaks.fetch_add(1, Ordering::Relaxed);
                            metrics::counter!("miroir_router_watch_breaks_total").increment(1);
                            break;
                        }
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event with nothing but a newer epoch is taken in; one repeating
    /// an epoch already taken is a heartbeat.
    #[test]
    fn an_epoch_alone_is_not_a_heartbeat() {
        let ev = |epoch| ShardMapEvent {
            epoch,
            ..Default::default()
        };
        assert!(is_heartbeat(&ev(7), 7));
        assert!(!is_heartbeat(&ev(8), 7));
        let full = ShardMapEvent {
            full: true,
            ..ev(7)
        };
        assert!(!is_heartbeat(&full, 7));
    }
}
