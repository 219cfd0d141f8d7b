//! What a write must hold before it is sent to nodes (DESIGN section 6):
//! a live lease on the router's epoch, and a map in which none of the
//! batch's shards is fenced. Writes that meet a fence wait for the next
//! epoch (I3) rather than fail; only a fence that outlasts [`FENCE_WAIT`]
//! or a lease that cannot be had is reported, as a 503.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use crate::meili::MeiliError;
use crate::router::topology::Topology;
use crate::router::write::lease::{Held, InFlight};
use crate::router::write::writer::Writer;
use crate::state::{Fence, IndexUid, ShardMap};

/// How long a write waits for a fence to lift.
pub const FENCE_WAIT: Duration = Duration::from_secs(10);
/// How long a write waits for a lease (a renewal is normally under way).
const LEASE_WAIT: Duration = Duration::from_secs(3);

fn no_lease() -> MeiliError {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_no_lease",
        "system",
        "This router holds no lease from the coordinators, so it may not write (reads still work); \
         check that a coordinator majority is reachable, then retry."
            .into(),
    )
}

fn still_fenced(uid: &str) -> MeiliError {
    MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_write_fenced",
        "system",
        format!(
            "Writes to index `{uid}` are held by a fence (a migration cutover or a deletion) that did not lift within {}s; retry.",
            FENCE_WAIT.as_secs()
        ),
    )
}

/// A write cleared to go: the map, the lease, and its place among the
/// writes under way (held until the write's node calls are done).
pub struct Open<'a> {
    pub map: ShardMap,
    pub held: Held,
    /// The epoch of the router's topology `map` was checked against.
    pub epoch: u64,
    _inflight: InFlight<'a>,
}

impl Writer<'_> {
    /// The map to write with: this router's copy (valid under its lease),
    /// or, for an index it has not heard of yet, the coordinators'.
    pub(crate) async fn writing_map(&self, uid: &str) -> Result<Option<ShardMap>, MeiliError> {
        self.map_in(&self.cache.snapshot(), uid).await
    }

    async fn map_in(&self, t: &Topology, uid: &str) -> Result<Option<ShardMap>, MeiliError> {
        if let Some(m) = t.maps.get(&IndexUid(uid.to_string())) {
            return Ok(Some(m.clone()));
        }
        let map = self.shard_map(uid).await?;
        if let Some(m) = &map {
            self.learn(m).await?;
        }
        Ok(map)
    }

    /// Waits until none of `shards` (all, if None) is fenced in the map of
    /// `uid`; returns that map and the lease to send under. None if the index
    /// is not (or no longer) there.
    pub(crate) async fn open_for_writes(
        &self,
        uid: &str,
        shards: Option<&BTreeSet<u32>>,
    ) -> Result<Option<Open<'_>>, MeiliError> {
        let deadline = Instant::now() + FENCE_WAIT;
        let mut topology = self.cache.subscribe();
        let mut waited = false;
        loop {
            let (inflight, t) = self.lease.enter(self.cache);
            let Some(map) = self.map_in(&t, uid).await? else {
                return Ok(None);
            };
            let fenced = map
                .shards
                .iter()
                .filter(|a| shards.is_none_or(|s| s.contains(&a.shard.0)))
                .any(|a| a.fence == Fence::Fenced);
            if !fenced {
                if waited {
                    metrics::counter!("miroir_router_fence_waits_total").increment(1);
                }
                let held = if self.unsafe_switches.ignore_lease {
                    crate::router::write::lease::Held {
                        epoch: t.epoch,
                        until: Instant::now() + Duration::from_secs(86_400),
                    }
                } else {
                    self.lease.wait(LEASE_WAIT).await.ok_or_else(no_lease)?
                };
                if held.epoch > t.epoch {
                    // The lease was renewed while this write waited, and it
                    // acknowledges a newer epoch than the map checked above:
                    // the coordinators now count this router as past that
                    // map, so the write must not follow it. Check again.
                    continue;
                }
                return Ok(Some(Open {
                    map,
                    held,
                    epoch: t.epoch,
                    _inflight: inflight,
                }));
            }
            drop(inflight);
            waited = true;
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, topology.changed()).await {
                Ok(Ok(())) => {}
                _ => return Err(still_fenced(uid)),
            }
        }
    }
}
