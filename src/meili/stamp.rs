//! Timestamps (RFC 3339, as Meilisearch prints them), ISO 8601 durations and unique identifiers.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use xxhash_rust::xxh3::xxh3_128_with_seed;

/// Nanoseconds since the Unix epoch; a clock before 1970 reads as the epoch.
pub fn now_nanos() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// `2026-11-24T05:14:32.008215534Z`.
pub fn rfc3339(nanos: u128) -> String {
    let secs = (nanos / 1_000_000_000) as i64;
    let frac = (nanos % 1_000_000_000) as u32;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{frac:09}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Seconds since the epoch of `YYYY-MM-DDTHH:MM:SS[.f](Z|+HH:MM)`, or of a bare date; `None` if malformed.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let num = |r: std::ops::Range<usize>| s.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    if s.get(4..5)? != "-"
        || s.get(7..8)? != "-"
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&d)
    {
        return None;
    }
    let days = days_from_civil(y, m as u32, d as u32);
    if s.len() == 10 {
        return Some(days * 86_400);
    }
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.chars().take_while(char::is_ascii_digit).count();
        rest = &frac[digits..];
    }
    let offset = match rest {
        "Z" | "z" | "" => 0,
        _ => {
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            let h: i64 = rest.get(1..3)?.parse().ok()?;
            let m: i64 = rest.get(4..6)?.parse().ok()?;
            sign * (h * 3600 + m * 60)
        }
    };
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - offset)
}

/// `PT0.004544780S`.
pub fn iso_duration(d: Duration) -> String {
    format!("PT{}.{:09}S", d.as_secs(), d.subsec_nanos())
}

// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// 128 unpredictable-enough bits: the clock, a process counter and the process-wide random hasher seed.
/// Good for identifiers in a test server, not for secrets.
pub fn random_u128() -> u128 {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let seed = {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(n);
        h.finish()
    };
    xxh3_128_with_seed(&now_nanos().to_le_bytes(), seed ^ n)
}

/// A version-4-shaped UUID string.
pub fn uuid_v4() -> String {
    let b = random_u128();
    let b = (b & !(0xF000u128 << 64)) | (0x4000u128 << 64); // version nibble
    let b = (b & !(0xC000u128 << 48)) | (0x8000u128 << 48); // variant bits
    uuid_string(b)
}

/// A version-7-shaped UUID string (time-ordered), like Meilisearch's `requestUid`.
pub fn uuid_v7() -> String {
    let millis = (now_nanos() / 1_000_000) & 0xFFFF_FFFF_FFFF;
    let r = random_u128() & ((1u128 << 80) - 1);
    let b = (millis << 80) | r;
    let b = (b & !(0xF000u128 << 64)) | (0x7000u128 << 64);
    let b = (b & !(0xC000u128 << 48)) | (0x8000u128 << 48);
    uuid_string(b)
}

fn uuid_string(b: u128) -> String {
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Formatting and parsing agree, and known instants print as expected.
    #[test]
    fn timestamps_round_trip() {
        let nanos = 1_795_497_272_008_215_534u128;
        let s = rfc3339(nanos);
        assert_eq!(s, "2026-11-24T05:14:32.008215534Z");
        assert_eq!(parse_rfc3339(&s), Some(1_795_497_272));
        assert_eq!(parse_rfc3339("1970-01-01"), Some(0));
        assert_eq!(parse_rfc3339("nope"), None);
    }

    /// UUIDs have the canonical 8-4-4-4-12 shape and carry their version.
    #[test]
    fn uuids_are_well_formed() {
        let u = uuid_v4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_ne!(uuid_v4(), uuid_v4());
        assert_eq!(&uuid_v7()[14..15], "7");
    }
}
