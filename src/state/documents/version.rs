//! Document versions (DESIGN section 6): `_miroir_version` on every document
//! a router writes, and the version at which every delete ran.
//!
//! A version is a hybrid logical clock value: milliseconds since the Miroir
//! epoch in the high bits and a counter in the low [`COUNTER_BITS`], kept
//! below 2^53 because Meilisearch compares numbers as doubles (that lasts
//! until about 2302). Order is (version, primary key); a document without a
//! version counts as [`Version::ZERO`].
//!
//! The rule that keeps versions ordered across routers lives in [`Hlc`]: a
//! router's clock must be within `max_clock_skew_ms` of the leader's (checked
//! at every lease), it never issues more than the ceiling its lease carries,
//! and it starts no lower than the floor its id was claimed with, so two
//! writes more than twice the skew bound apart are ordered by their versions
//! whichever routers made them, and one router's versions only go up, across
//! its restarts too.

use serde::{Deserialize, Serialize};

/// 2024-01-01T00:00:00Z in Unix milliseconds.
pub const MIROIR_EPOCH_UNIX_MS: u64 = 1_704_067_200_000;
/// Versions issued in one millisecond before the clock part moves on.
pub const COUNTER_BITS: u32 = 10;
/// The largest version Meilisearch can compare exactly.
pub const MAX_VERSION: u64 = (1 << 53) - 1;

#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Version(pub u64);

impl Version {
    /// Documents written without a version.
    pub const ZERO: Version = Version(0);

    /// The first version of Unix millisecond `unix_ms` (zero before the epoch).
    pub fn at_unix_ms(unix_ms: u64) -> Version {
        let ms = unix_ms.saturating_sub(MIROIR_EPOCH_UNIX_MS);
        Version((ms << COUNTER_BITS).min(MAX_VERSION))
    }

    /// The Unix millisecond this version's clock part names.
    pub fn unix_ms(self) -> u64 {
        (self.0 >> COUNTER_BITS) + MIROIR_EPOCH_UNIX_MS
    }

    pub fn counter(self) -> u64 {
        self.0 & ((1 << COUNTER_BITS) - 1)
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// What a lease grant says about time, for the version clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClockGrant {
    /// The leader's clock when it granted the lease (Unix ms).
    pub leader_unix_ms: u64,
    /// The most a router may issue under this lease.
    pub ceiling: Version,
    /// The least a router may issue: above anything its id's previous
    /// process can have issued.
    pub floor: Version,
    /// `max_clock_skew_ms` when the lease was granted.
    pub max_skew_ms: u64,
}

impl ClockGrant {
    /// The ceiling the leader grants with a lease at `leader_unix_ms`: no
    /// router within the skew bound reaches it before its lease ends.
    pub fn ceiling_for(leader_unix_ms: u64, lease_ms: u64, max_skew_ms: u64) -> Version {
        Version::at_unix_ms(leader_unix_ms + lease_ms + max_skew_ms)
    }

    /// The floor for a router id claimed at `leader_unix_ms`: its previous
    /// process's lease ended before the claim, so it issued at most its
    /// last ceiling, which lies within the skew bound of the claim.
    pub fn floor_for_claim(leader_unix_ms: u64, max_skew_ms: u64) -> Version {
        Version::at_unix_ms(leader_unix_ms + max_skew_ms + 1)
    }
}

/// Why a router may not issue a version now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    #[error("no lease has told this router the coordinators' time yet; retry shortly")]
    Unknown,
    #[error(
        "this router's clock is {off_ms} ms {dir} the coordinator leader's, more than the \
         {bound_ms} ms allowed (`max_clock_skew_ms`), so its document versions could misorder \
         writes: fix its time synchronisation (NTP); it writes again once it is within the bound",
        dir = if *.ahead { "ahead of" } else { "behind" }
    )]
    Skewed {
        off_ms: u64,
        ahead: bool,
        bound_ms: u64,
    },
    #[error(
        "this router reached the version ceiling of its lease ({ceiling}); it writes again \
         after its next renewal"
    )]
    Ceiling { ceiling: Version },
}

/// A router's version clock. Pure: the caller passes its clock readings.
#[derive(Debug, Clone, Default)]
pub struct Hlc {
    last: Version,
    floor: Version,
    ceiling: Version,
    /// Set by the last grant when this router's clock was too far off.
    skewed: Option<ClockError>,
    granted: bool,
}

impl Hlc {
    /// Takes what a lease said. `sent_unix_ms` and `received_unix_ms` are
    /// this router's clock when it asked and when the answer came: the
    /// leader read its clock somewhere in between.
    pub fn grant(&mut self, g: ClockGrant, sent_unix_ms: u64, received_unix_ms: u64) {
        let bound = g.max_skew_ms;
        self.skewed = if g.leader_unix_ms + bound < sent_unix_ms {
            Some(ClockError::Skewed {
                off_ms: sent_unix_ms - g.leader_unix_ms,
                ahead: true,
                bound_ms: bound,
            })
        } else if received_unix_ms + bound < g.leader_unix_ms {
            Some(ClockError::Skewed {
                off_ms: g.leader_unix_ms - received_unix_ms,
                ahead: false,
                bound_ms: bound,
            })
        } else {
            None
        };
        // Ceilings and floors only rise: a later grant from a leader with a
        // slower clock cannot take back what an earlier one allowed.
        self.ceiling = self.ceiling.max(g.ceiling);
        self.floor = self.floor.max(g.floor);
        self.granted = true;
    }

    /// The next version at this router's clock reading `now_unix_ms`:
    /// above every version it issued, at least the floor, at most the ceiling.
    pub fn next(&mut self, now_unix_ms: u64) -> Result<Version, ClockError> {
        if !self.granted {
            return Err(ClockError::Unknown);
        }
        if let Some(e) = &self.skewed {
            return Err(e.clone());
        }
        let v = Version::at_unix_ms(now_unix_ms)
            .max(Version(self.last.0 + 1))
            .max(self.floor);
        if v > self.ceiling {
            return Err(ClockError::Ceiling {
                ceiling: self.ceiling,
            });
        }
        self.last = v;
        Ok(v)
    }

    /// Issues versions without the skew check and the ceiling (the unsafe
    /// switch that tests use to show what the check prevents).
    pub fn next_unchecked(&mut self, now_unix_ms: u64) -> Version {
        let v = Version::at_unix_ms(now_unix_ms).max(Version(self.last.0 + 1));
        self.last = v;
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = MIROIR_EPOCH_UNIX_MS + 1_000_000;

    fn grant(leader: u64) -> ClockGrant {
        ClockGrant {
            leader_unix_ms: leader,
            ceiling: ClockGrant::ceiling_for(leader, 5000, 500),
            floor: Version::ZERO,
            max_skew_ms: 500,
        }
    }

    #[test]
    fn encoding_round_trips_and_fits_a_double() {
        let v = Version::at_unix_ms(T);
        assert_eq!(v.unix_ms(), T);
        assert_eq!(v.counter(), 0);
        assert_eq!(Version::at_unix_ms(0), Version::ZERO);
        // In 2300 a version is still exact as a double.
        let far = Version::at_unix_ms(10_413_792_000_000);
        assert!(far.0 < MAX_VERSION && (far.0 as f64) as u64 == far.0);
    }

    #[test]
    fn versions_rise_within_a_millisecond_and_when_the_clock_steps_back() {
        let mut c = Hlc::default();
        assert_eq!(c.next(T), Err(ClockError::Unknown));
        c.grant(grant(T), T, T);
        let a = c.next(T).unwrap();
        let b = c.next(T).unwrap();
        let back = c.next(T - 300).unwrap();
        assert!(a < b && b < back, "{a} {b} {back}");
        assert!(c.next(T + 1).unwrap() > back);
    }

    #[test]
    fn a_clock_beyond_the_bound_refuses_and_recovers() {
        let mut c = Hlc::default();
        c.grant(grant(T), T + 900, T + 901);
        assert!(matches!(
            c.next(T + 901),
            Err(ClockError::Skewed { ahead: true, .. })
        ));
        c.grant(grant(T), T - 900, T - 899);
        assert!(matches!(
            c.next(T - 899),
            Err(ClockError::Skewed { ahead: false, .. })
        ));
        c.grant(grant(T), T + 400, T + 401);
        assert!(c.next(T + 401).is_ok());
    }

    #[test]
    fn the_ceiling_and_the_floor_bound_what_is_issued() {
        let mut c = Hlc::default();
        let mut g = grant(T);
        g.floor = Version::at_unix_ms(T + 2000);
        c.grant(g, T, T);
        assert!(c.next(T).unwrap() >= g.floor, "floor");
        let past = T + 5000 + 500 + 1;
        assert!(matches!(c.next(past), Err(ClockError::Ceiling { .. })));
    }
}
