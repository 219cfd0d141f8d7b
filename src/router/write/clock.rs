//! This router's document-version clock: the pure [`Hlc`] fed with the wall
//! clock (shifted by the test-only offset) and with what each lease says
//! about the leader's time.

use std::sync::Mutex;

use axum::http::StatusCode;

use crate::meili::MeiliError;
use crate::state::version::{ClockError, ClockGrant, Hlc};
use crate::state::Version;

#[derive(Debug, Default)]
pub struct VersionClock {
    hlc: Mutex<Hlc>,
    /// TEST ONLY: added to the wall clock, to stand in for a router whose
    /// clock is off.
    offset_ms: i64,
    /// TEST ONLY, UNSAFE: issue versions from this router's clock alone.
    unchecked: bool,
}

impl VersionClock {
    pub fn new(offset_ms: i64, unchecked: bool) -> Self {
        VersionClock {
            hlc: Mutex::default(),
            offset_ms,
            unchecked,
        }
    }

    /// This router's wall clock, in Unix milliseconds.
    pub fn now_unix_ms(&self) -> u64 {
        let ms = (crate::meili::stamp::now_nanos() / 1_000_000) as i64;
        (ms + self.offset_ms).max(0) as u64
    }

    /// Takes a lease's clock part; `sent` and `received` are this clock's
    /// readings around the request.
    pub fn granted(&self, grant: ClockGrant, sent: u64, received: u64) {
        let mut hlc = self.hlc.lock().expect("clock lock");
        hlc.grant(grant, sent, received);
        if let Err(e @ ClockError::Skewed { .. }) = hlc.clone().next(received) {
            tracing::warn!(error = %e, "refusing writes: clock too far off");
            metrics::counter!("miroir_router_clock_refusals_total").increment(1);
        }
    }

    /// The version for a write made now.
    pub fn next(&self) -> Result<Version, MeiliError> {
        let now = self.now_unix_ms();
        let mut hlc = self.hlc.lock().expect("clock lock");
        if self.unchecked {
            return Ok(hlc.next_unchecked(now));
        }
        hlc.next(now).map_err(|e| {
            let code = match e {
                ClockError::Skewed { .. } => "miroir_clock_skew",
                ClockError::Unknown | ClockError::Ceiling { .. } => "miroir_no_lease",
            };
            MeiliError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "system",
                e.to_string(),
            )
        })
    }
}
