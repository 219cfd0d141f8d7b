//! What lowering `lease_ms` leaves behind: leases granted under the old,
//! longer value may still be live, and a leader elected meanwhile cannot know
//! them. It owes them the old length, until the last of them must have ended.

use serde::{Deserialize, Serialize};

/// How far apart the coordinators' wall clocks may be. Only used to keep an
/// old lease length owed a little longer than the proposer's clock says.
pub const WALL_CLOCK_SKEW_MS: u64 = 1_000;

/// Leases up to `ms` long may have been granted until wall time `until_ms`
/// minus `ms` (the moment `lease_ms` was last lowered from it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseCeiling {
    pub ms: u64,
    pub until_ms: u64,
}

impl LeaseCeiling {
    /// Notes that `lease_ms` went from `old` to `new` at wall time `at_ms`.
    pub fn on_change(&mut self, old: u64, new: u64, at_ms: u64) {
        if new >= old {
            return;
        }
        let still_owed = if self.until_ms > at_ms { self.ms } else { 0 };
        self.ms = still_owed.max(old);
        self.until_ms = self.until_ms.max(at_ms + old);
    }

    /// The lease length a leader taking over at wall time `now_ms` must
    /// assume its predecessor granted, given today's `lease_ms`.
    pub fn owed(&self, lease_ms: u64, now_ms: u64) -> u64 {
        match now_ms < self.until_ms + WALL_CLOCK_SKEW_MS {
            true => lease_ms.max(self.ms),
            false => lease_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lowering the lease keeps the old length owed for one old lease (plus
    /// the skew allowance), across several lowerings in a row; raising it
    /// owes nothing extra.
    #[test]
    fn lowering_keeps_the_old_length_owed() {
        let mut c = LeaseCeiling::default();
        c.on_change(2_000, 30_000, 100);
        assert_eq!(c.owed(30_000, 100), 30_000);
        c.on_change(30_000, 10_000, 1_000);
        c.on_change(10_000, 1_000, 2_000);
        assert_eq!(
            c.owed(1_000, 2_000),
            30_000,
            "the first lowering is still owed"
        );
        assert_eq!(c.owed(1_000, 31_000 + WALL_CLOCK_SKEW_MS - 1), 30_000);
        assert_eq!(c.owed(1_000, 31_000 + WALL_CLOCK_SKEW_MS), 1_000);
    }
}
