//! The router's lease on the epoch it routes with (DESIGN section 6, I2).
//!
//! A background task asks the coordinators for a lease on the newest epoch
//! this router has applied, renews it at a third of its length, and asks at
//! once when the watch brings a new epoch (so fences are acknowledged
//! quickly). The lease counts from when the request was *sent*, on this
//! router's monotonic clock, so it always ends before the coordinators' view
//! of it. Writes need a live lease, and a node's reply counts only if it
//! arrives before the lease the write was sent under ends.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};
use tokio_util::sync::CancellationToken;

use crate::control::ControlClient;
use crate::router::topology::{Topology, TopologyCache};
use crate::router::write::clock::VersionClock;

/// A lease held: writes under `epoch` may be acknowledged until `until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Held {
    pub epoch: u64,
    pub until: Instant,
}

#[derive(Debug)]
pub struct LeaseHolder {
    tx: watch::Sender<Option<Held>>,
    /// Writes under way, by the epoch of the map they were checked against.
    inflight: Mutex<BTreeMap<u64, usize>>,
    drained: Notify,
    /// The cluster's `unavailable_shard_policy` is `fail`: a search missing
    /// a shard answers 503 instead of a partial result. Comes with each lease.
    fail_on_missing_shards: AtomicBool,
    /// Document versions, kept within the skew bound by each lease.
    pub clock: VersionClock,
}

impl Default for LeaseHolder {
    fn default() -> Self {
        Self::new(VersionClock::default())
    }
}

/// A write under way; counted until dropped.
pub struct InFlight<'a> {
    holder: &'a LeaseHolder,
    epoch: u64,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let mut w = self.holder.inflight.lock().expect("inflight lock");
        if let Some(n) = w.get_mut(&self.epoch) {
            *n -= 1;
            if *n == 0 {
                w.remove(&self.epoch);
            }
        }
        metrics::gauge!("miroir_router_writes_in_flight").set(w.values().sum::<usize>() as f64);
        drop(w);
        self.holder.drained.notify_waiters();
    }
}

impl LeaseHolder {
    pub fn new(clock: VersionClock) -> Self {
        LeaseHolder {
            tx: watch::Sender::new(None),
            inflight: Mutex::new(BTreeMap::new()),
            drained: Notify::new(),
            fail_on_missing_shards: AtomicBool::new(false),
            clock,
        }
    }

    /// Registers a write and takes the topology it must be checked against,
    /// atomically with respect to [`LeaseHolder::drain_below`]: a newer epoch
    /// is acknowledged only after every write checked under an older one ends.
    pub fn enter(&self, cache: &TopologyCache) -> (InFlight<'_>, Arc<Topology>) {
        let mut w = self.inflight.lock().expect("inflight lock");
        let t = cache.snapshot();
        *w.entry(t.epoch).or_default() += 1;
        metrics::gauge!("miroir_router_writes_in_flight").set(w.values().sum::<usize>() as f64);
        (
            InFlight {
                holder: self,
                epoch: t.epoch,
            },
            t,
        )
    }

    /// Waits until no write checked under an epoch before `epoch` is under
    /// way, or until `deadline` (after which their replies no longer count).
    async fn drain_below(&self, epoch: u64, deadline: Instant) {
        loop {
            let notified = self.drained.notified();
            let busy = {
                let w = self.inflight.lock().expect("inflight lock");
                w.range(..epoch).next().is_some()
            };
            if !busy || Instant::now() >= deadline {
                return;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let _ = tokio::time::timeout(left, notified).await;
        }
    }

    /// The lease, if it is live now.
    pub fn current(&self) -> Option<Held> {
        let held = *self.tx.borrow();
        held.filter(|h| h.until > Instant::now())
    }

    /// The live lease, waiting up to `at_most` for one.
    pub async fn wait(&self, at_most: Duration) -> Option<Held> {
        if let Some(h) = self.current() {
            return Some(h);
        }
        let mut rx = self.tx.subscribe();
        let live = |h: &Option<Held>| h.is_some_and(|h| h.until > Instant::now());
        let found = match tokio::time::timeout(at_most, rx.wait_for(live)).await {
            Ok(Ok(h)) => *h,
            _ => None,
        };
        found
    }

    pub fn fails_on_missing_shards(&self) -> bool {
        self.fail_on_missing_shards.load(Ordering::Relaxed)
    }

    fn set(&self, held: Held) {
        self.tx.send_replace(Some(held));
    }
}

/// No node call of a write left in time: the lease it was planned under
/// ended first (the router was slow or paused), so nothing was sent.
pub(crate) fn lease_ended() -> crate::meili::MeiliError {
    crate::meili::MeiliError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "miroir_no_lease",
        "system",
        "This router's lease ended before the write could be sent, so no node received it; retry."
            .into(),
    )
}

/// Whether every node call of a write was held back by [`lease_ended`].
pub(crate) fn none_sent<'r, T: 'r>(
    results: impl Iterator<Item = &'r Result<T, crate::fleet::NodeError>>,
) -> bool {
    // At least one request was meant to leave (no requests is not a lease ending).
    let mut any = false;
    for r in results {
        any = true;
        if !matches!(r, Err(crate::fleet::NodeError::NotSent { .. })) {
            return false;
        }
    }
    any
}

/// Keeps a lease until shutdown.
pub async fn keep(
    control: ControlClient,
    cache: TopologyCache,
    holder: Arc<LeaseHolder>,
    shutdown: CancellationToken,
) {
    let mut topology = cache.subscribe();
    while !shutdown.is_cancelled() {
        let epoch = cache.snapshot().epoch;
        // Acknowledge a new epoch only once the writes checked under older
        // ones are done (or can no longer count): the coordinators take the
        // acknowledgement as "nothing older is still landing".
        let held = *holder.tx.borrow();
        if let Some(old) = held {
            if old.epoch < epoch {
                holder.drain_below(epoch, old.until).await;
            }
        }
        let sent = Instant::now();
        let sent_unix = holder.clock.now_unix_ms();
        let res = control.acquire_lease(crate::state::Epoch(epoch)).await;
        let pause = match res {
            Ok(grant) => {
                let lease = grant.lease;
                let received_unix = holder.clock.now_unix_ms();
                holder.clock.granted(grant.clock, sent_unix, received_unix);
                holder
                    .fail_on_missing_shards
                    .store(grant.fail_on_missing_shards, Ordering::Relaxed);
                holder.set(Held {
                    epoch,
                    until: sent + lease,
                });
                metrics::counter!("miroir_router_lease_renewals_total").increment(1);
                lease / 3
            }
            Err(crate::control::ControlError::AlreadyExists(m)) => {
                // Another live process uses this router's id: an operator must fix it.
                tracing::warn!(error = %m, "no lease: this router id is taken");
                metrics::counter!("miroir_router_lease_refusals_total").increment(1);
                Duration::from_millis(500)
            }
            Err(s) => {
                // Behind the cluster's epoch: the watch will catch up; others: retry soon.
                tracing::debug!(error = %s, "no lease");
                metrics::counter!("miroir_router_lease_refusals_total").increment(1);
                Duration::from_millis(100)
            }
        };
        let until = tokio::time::Instant::now() + pause;
        // Renew early when the watch brings a newer epoch than the lease's.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(until) => break,
                r = topology.changed() => {
                    if r.is_err() { return }
                    if topology.borrow_and_update().epoch > epoch { break }
                }
                _ = shutdown.cancelled() => return,
            }
        }
    }
}
