//! TEST-ONLY switches that remove one safety mechanism each, so that the
//! partition suite (jepsen/) and the cluster tests can show their checks
//! notice, and pause points that hold a request where a test needs it.
//! Hidden flags, off by default; a router started with a switch logs a warning.

use std::time::Duration;

/// Which mechanisms are switched off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnsafeSwitches {
    /// Count a node's failed write as an acknowledgement (breaks I1).
    pub ack_failed_writes: bool,
    /// Write without a live lease, and count replies however late (breaks I2).
    pub ignore_lease: bool,
    /// Send a write to the nodes even once the lease it was planned under has
    /// ended (breaks I2 for a router paused between its check and its sends).
    pub send_after_lease: bool,
    /// Issue document versions from the router's own clock, unchecked
    /// (breaks version order across routers and restarts).
    pub unchecked_versions: bool,
    /// Send deletes without recording their tombstones (breaks I4 once
    /// copies are repaired).
    pub skip_tombstones: bool,
    /// Count filling and behind copies toward quorum (breaks I1: a write
    /// acknowledged by copies no one reads).
    pub count_every_copy: bool,
    /// Admit tenant tokens without adding their search rules' filters, so a
    /// tenant sees every document of the indexes it may search.
    pub ignore_tenant_rules: bool,
    /// Acknowledge writes without reporting the copies they missed (breaks
    /// I1: a copy that missed writes goes on serving reads, unrepaired).
    pub skip_misses: bool,
}

impl UnsafeSwitches {
    pub fn any(&self) -> bool {
        self.ack_failed_writes
            || self.ignore_lease
            || self.send_after_lease
            || self.unchecked_versions
            || self.skip_tombstones
            || self.count_every_copy
            || self.ignore_tenant_rules
            || self.skip_misses
    }
}

/// Where a test may hold a request. Safe: they only delay.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PausePoints {
    /// Between a write's lease check and its first node call, standing in
    /// for a router stopped (SIGSTOP) there.
    pub before_send: Duration,
    /// Between placing a batch on shards and clearing it through the lease
    /// and fence gate, so a test can change the index's map meanwhile.
    pub before_gate: Duration,
}

impl PausePoints {
    /// Waits at a pause point (returns at once when it is not set).
    pub async fn pause(&self, at: Duration) {
        if !at.is_zero() {
            // Counted as it starts, so a test knows a request is held here.
            metrics::counter!("miroir_router_test_pauses_total").increment(1);
            tokio::time::sleep(at).await;
        }
    }
}
