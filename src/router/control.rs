//! The router's link to the control plane: one gRPC channel per coordinator,
//! a watch loop that follows the shard maps and moves to another coordinator
//! when its own one goes away.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::coordinator::auth::ClientAuth;
use crate::coordinator::network::Dialer;
use crate::pb::v1::router_client::RouterClient;
use crate::pb::v1::{ShardMapEvent, WatchShardMapsRequest};
use crate::router::topology::TopologyCache;

/// A watch that brings nothing for this long (coordinators send a heartbeat
/// every second, each after a read barrier of at most a second) is dropped
/// for another coordinator.
const WATCH_SILENCE: Duration = Duration::from_secs(5);

/// An event that only says the stream is alive.
fn is_heartbeat(ev: &ShardMapEvent) -> bool {
    !ev.full && ev.changed.is_empty() && ev.deleted.is_empty() && ev.nodes.is_empty()
}

#[derive(Clone)]
pub struct ControlPlane {
    channels: Arc<Vec<(String, Channel)>>,
    /// The coordinator that answered last; requests start there.
    preferred: Arc<AtomicUsize>,
    /// How many times the watch stream broke (exported as a metric).
    breaks: Arc<AtomicUsize>,
    dialer: Dialer,
    router_id: String,
}

impl ControlPlane {
    pub fn new(
        coordinators: &[String],
        dialer: Dialer,
        router_id: String,
    ) -> Result<Self, tonic::transport::Error> {
        let channels = coordinators
            .iter()
            .map(|a| dialer.channel(a).map(|c| (a.clone(), c)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ControlPlane {
            channels: Arc::new(channels),
            preferred: Arc::default(),
            breaks: Arc::default(),
            dialer,
            router_id,
        })
    }

    /// The address of the coordinator that answered last.
    pub fn current(&self) -> String {
        self.channels[self.preferred.load(Ordering::Relaxed)]
            .0
            .clone()
    }

    /// How many times the shard-map stream broke or could not be opened.
    pub fn breaks(&self) -> usize {
        self.breaks.load(Ordering::Relaxed)
    }

    /// The coordinators in the order to try them: the preferred one first.
    fn order(&self) -> impl Iterator<Item = (usize, &(String, Channel))> {
        let n = self.channels.len();
        let start = self.preferred.load(Ordering::Relaxed);
        (0..n).map(move |i| ((start + i) % n, &self.channels[(start + i) % n]))
    }

    /// Runs one unary call against the coordinators, the preferred one first,
    /// moving on only when a coordinator could not be reached (a request that
    /// reached one is never sent twice).
    pub async fn unary<T, F, Fut>(&self, f: F) -> Result<T, tonic::Status>
    where
        F: Fn(Channel, ClientAuth) -> Fut,
        Fut: std::future::Future<Output = Result<T, tonic::Status>>,
    {
        let mut last = tonic::Status::unavailable("no coordinator configured");
        for (i, (_, ch)) in self
            .order()
            .map(|(i, c)| (i, c.clone()))
            .collect::<Vec<_>>()
        {
            match f(ch, self.dialer.auth.clone()).await {
                Err(s)
                    if s.code() == tonic::Code::Unavailable && s.message().contains("connect") =>
                {
                    last = s
                }
                other => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return other;
                }
            }
        }
        Err(last)
    }

    /// A request carrying the coordinators' admin key, if any.
    pub fn request<M>(auth: &ClientAuth, msg: M) -> tonic::Request<M> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(Duration::from_secs(15));
        auth.apply(&mut r);
        r
    }

    /// Follows the shard maps until shutdown, moving to the next coordinator
    /// whenever the stream breaks. The cache keeps its last state meanwhile.
    pub async fn watch(self, cache: TopologyCache, shutdown: CancellationToken) {
        let mut backoff = Duration::from_millis(50);
        while !shutdown.is_cancelled() {
            for (i, (addr, ch)) in self
                .order()
                .map(|(i, c)| (i, c.clone()))
                .collect::<Vec<_>>()
            {
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
                        // Liveness only: never take an epoch from a heartbeat.
                        Ok(Some(ev)) if is_heartbeat(&ev) => {
                            backoff = Duration::from_millis(50);
                        }
                        Ok(Some(ev)) => {
                            backoff = Duration::from_millis(50);
                            if let Err(e) = cache.apply(ev) {
                                tracing::error!(error = %e, "malformed shard-map event ignored");
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
