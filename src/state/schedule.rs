//! When scheduled anti-entropy passes start: a cron expression in UTC (parsed by `croner`), or
//! `off`. Pure: the caller gives the times.

use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use croner::Cron;

/// Occurrences looked at to find the longest gap between two passes.
const GAP_SCAN: usize = 20_000;
/// How far ahead gaps are looked for: a year and a bit, so yearly schedules show theirs.
const GAP_HORIZON_MS: u64 = 400 * 86_400_000;

/// A Unix-millisecond time as people read it, in UTC (`2026-12-08 01:00 UTC`).
pub fn utc(ms: u64) -> String {
    Utc.timestamp_millis_opt(ms as i64)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| ms.to_string())
}

#[derive(Debug, Clone)]
pub struct Schedule {
    expression: String,
    cron: Option<Cron>,
}

impl Schedule {
    pub fn off() -> Self {
        Schedule {
            expression: "off".into(),
            cron: None,
        }
    }

    /// `off`, a 5-field cron expression (minute hour day-of-month month day-of-week), or one of
    /// `@hourly`, `@daily`, `@weekly`, `@monthly`.
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s == "off" {
            return Ok(Self::off());
        }
        let fields = s.split_whitespace().count();
        if !s.starts_with('@') && fields != 5 {
            return Err(format!(
                "give 5 fields (minute hour day-of-month month day-of-week), e.g. `0 3 * * *` for 03:00 UTC every day, or `off`; `{s}` has {fields}"
            ));
        }
        let cron = Cron::from_str(s).map_err(|e| format!("not a cron expression ({e})"))?;
        Ok(Schedule {
            expression: s.to_string(),
            cron: Some(cron),
        })
    }

    pub fn expression(&self) -> &str {
        &self.expression
    }

    pub fn is_off(&self) -> bool {
        self.cron.is_none()
    }

    /// The first start strictly after `after_ms` (Unix milliseconds).
    pub fn next_after(&self, after_ms: u64) -> Option<u64> {
        let cron = self.cron.as_ref()?;
        // From the whole second: starts fall on whole minutes.
        let at = Utc
            .timestamp_millis_opt((after_ms - after_ms % 1000) as i64)
            .single()?;
        let next: DateTime<Utc> = cron.find_next_occurrence(&at, false).ok()?;
        u64::try_from(next.timestamp_millis()).ok()
    }

    /// Whether the minute holding `at_ms` matches the expression (for windows: `* 1-4 * * *` is
    /// every minute from 01:00 to 04:59 UTC). Never when off.
    pub fn matches(&self, at_ms: u64) -> bool {
        let Some(cron) = self.cron.as_ref() else {
            return false;
        };
        let minute = at_ms - at_ms % 60_000;
        Utc.timestamp_millis_opt(minute as i64)
            .single()
            .is_some_and(|t| cron.is_time_matching(&t).unwrap_or(false))
    }

    /// Whether a pass is due at `now_ms` when the last one started at `last_ms`.
    pub fn due(&self, last_ms: u64, now_ms: u64) -> bool {
        self.next_after(last_ms).is_some_and(|n| n <= now_ms)
    }

    /// The longest time between two consecutive starts over the next year or so, in seconds
    /// (`None` when off). Tombstones must be kept at least this long.
    pub fn longest_gap_s(&self) -> Option<u64> {
        self.cron.as_ref()?;
        // From a fixed point, so the answer does not depend on when it is asked.
        let start = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        let mut last = self.next_after(start)?;
        let mut longest = 0;
        for _ in 0..GAP_SCAN {
            let Some(next) = self.next_after(last) else {
                break;
            };
            longest = longest.max(next - last);
            last = next;
            if last - start > GAP_HORIZON_MS {
                break;
            }
        }
        Some(longest / 1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A window is the minutes its expression matches.
    #[test]
    fn windows_match_their_minutes() {
        let w = Schedule::parse("* 1-4 * * *").unwrap();
        let day = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        assert!(!w.matches(day + 59 * 60_000));
        assert!(w.matches(day + 60 * 60_000));
        assert!(w.matches(day + 5 * 3_600_000 - 1));
        assert!(!w.matches(day + 5 * 3_600_000));
        assert!(!Schedule::off().matches(day));
        assert_eq!(w.next_after(day), Some(day + 3_600_000));
    }

    const DAY_MS: u64 = 86_400_000;

    /// Daily at 03:00 UTC: the next start, whether one is due, and a day between starts.
    #[test]
    fn daily_schedules() {
        let s = Schedule::parse("0 3 * * *").unwrap();
        let midnight = 1_767_225_600_000; // 2026-01-01T00:00Z
        assert_eq!(s.next_after(midnight), Some(midnight + 3 * 3_600_000));
        assert!(!s.due(midnight, midnight + 3_600_000));
        assert!(s.due(midnight, midnight + 4 * 3_600_000));
        assert_eq!(s.longest_gap_s(), Some(86_400));
        assert_eq!(
            Schedule::parse("@daily").unwrap().longest_gap_s(),
            Some(86_400)
        );
    }

    /// Monthly schedules have gaps of up to 31 days; `off` has none and is never due.
    #[test]
    fn gaps_and_off() {
        let monthly = Schedule::parse("0 0 1 * *").unwrap();
        assert_eq!(monthly.longest_gap_s(), Some(31 * 86_400));
        let off = Schedule::parse("off").unwrap();
        assert!(off.is_off() && off.longest_gap_s().is_none());
        assert!(!off.due(0, 100 * DAY_MS));
    }

    #[test]
    fn bad_expressions_say_why() {
        assert!(Schedule::parse("0 3 * *").unwrap_err().contains("5 fields"));
        assert!(
            Schedule::parse("0 0 3 * * *").is_err(),
            "seconds are not taken"
        );
        assert!(Schedule::parse("61 3 * * *").is_err());
        assert!(Schedule::parse("sometimes").is_err());
    }
}
