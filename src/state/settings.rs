//! Cluster-wide settings, kept in the state machine so that every coordinator
//! and router agrees on them. Each known key has a default, a validator and a
//! description; keys under `user.` are free-form operator annotations.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::error::CommandError;
use super::index::{MAX_REPLICATION_FACTOR, MAX_SHARDS};

/// Prefix of free-form keys (operators' notes, the partition suite's registers).
pub const USER_PREFIX: &str = "user.";
const USER_VALUE_MAX: usize = 4096;

#[derive(Debug, Clone, Copy)]
pub enum Kind {
    /// An integer within an inclusive range.
    Int { min: u64, max: u64 },
    /// One of a fixed set of words.
    OneOf(&'static [&'static str]),
    /// A 5-field cron expression in UTC (minute hour day-of-month month
    /// day-of-week), or `off`.
    Cron,
    /// A duration as people write it (`500ms`, `30s`, `5m`, `1h 30m`), within a range.
    Duration { min_ms: u64, max_ms: u64 },
}

#[derive(Debug)]
pub struct Spec {
    pub key: &'static str,
    pub default: &'static str,
    pub kind: Kind,
    pub description: &'static str,
}

pub const SPECS: &[Spec] = &[
    Spec {
        key: "default_shards",
        default: "64",
        kind: Kind::Int { min: 1, max: MAX_SHARDS as u64 },
        description: "shards S of an index created without an explicit count",
    },
    Spec {
        key: "default_replication_factor",
        default: "1",
        kind: Kind::Int { min: 1, max: MAX_REPLICATION_FACTOR as u64 },
        description: "copies of each shard inside each replica group (RF) for new indexes",
    },
    Spec {
        key: "lease_ms",
        default: "5000",
        kind: Kind::Int { min: 500, max: 60_000 },
        description: "how long a router may write under a shard-map epoch without renewing its lease",
    },
    Spec {
        key: "max_clock_skew_ms",
        default: "500",
        kind: Kind::Int { min: 10, max: 10_000 },
        description: "how far a router's clock may be from the coordinator leader's before it refuses to write (document versions order writes more than twice this apart)",
    },
    Spec {
        key: "tombstone_retention_s",
        default: "604800",
        kind: Kind::Int { min: 3600, max: 365 * 86_400 },
        description: "how long a delete's tombstone is kept; a copy behind for longer is rebuilt whole (at least the anti-entropy interval)",
    },
    Spec {
        key: "drain_timeout",
        default: "5m",
        kind: Kind::Duration { min_ms: 1_000, max_ms: 7 * 86_400_000 },
        description: "how long a migration's cutover keeps retrying (fence lifted when over its budget, another catch-up round, fence again) before the migration pauses and reports itself stuck",
    },
    Spec {
        key: "fence_budget",
        default: "1s",
        kind: Kind::Duration { min_ms: 100, max_ms: 60_000 },
        description: "how long one cutover may hold a shard's writes (drain in-flight writes, delta pass) before it lifts the fence and retries after another catch-up round",
    },
    Spec {
        key: "migration_delta_pass",
        default: "on",
        kind: Kind::OneOf(&["on", "off"]),
        description: "whether cutover runs a delta pass under the fence (`off`: moved copies start behind and are repaired before the old copies go; refused while anti-entropy is off)",
    },
    Spec {
        key: "migration_window",
        default: "* * * * *",
        kind: Kind::Cron,
        description: "when a migration may start: the minutes a 5-field cron expression in UTC matches (`* 1-4 * * 1-5`: 01:00 to 04:59 on weekdays; default: any time), or `off` (never, unless started with --force)",
    },
    Spec {
        key: "migration_docs_per_s",
        default: "0",
        kind: Kind::Int { min: 0, max: 10_000_000 },
        description: "documents per second a migration copies to each new copy (0: no limit); `migrate start --throttle` overrides it per migration",
    },
    Spec {
        key: "anti_entropy_schedule",
        default: "0 3 * * *",
        kind: Kind::Cron,
        description: "when scheduled anti-entropy passes start: a 5-field cron expression in UTC (minute hour day month weekday), or `off`; each pass goes through every index in turn",
    },
    Spec {
        key: "anti_entropy_auto_repair",
        default: "on",
        kind: Kind::OneOf(&["on", "off"]),
        description: "whether scheduled anti-entropy passes repair what they find (`off`: they only report it, as `anti-entropy verify` does)",
    },
    Spec {
        key: "anti_entropy_shards_per_pass",
        default: "0",
        kind: Kind::Int { min: 0, max: MAX_SHARDS as u64 },
        description: "shards of each index one scheduled pass compares (0: all); the next pass goes on from the shard this one stopped at",
    },
    Spec {
        key: "anti_entropy_docs_per_s",
        default: "20000",
        kind: Kind::Int { min: 0, max: 10_000_000 },
        description: "documents per second an anti-entropy pass or a repair reads from each copy (0: no limit)",
    },
    Spec {
        key: "anti_entropy_read_concurrency",
        default: "2",
        kind: Kind::Int { min: 1, max: 64 },
        description: "copies an anti-entropy pass reads at once",
    },
    Spec {
        key: "repair_behind_alert_s",
        default: "3600",
        kind: Kind::Int { min: 60, max: 30 * 86_400 },
        description: "a copy behind for longer than this many seconds is counted in `miroir_copies_behind_too_long` (and alerts)",
    },
    Spec {
        key: "unavailable_shard_policy",
        default: "partial",
        kind: Kind::OneOf(&["partial", "fail"]),
        description: "when no replica of a shard answers: `partial` results marked degraded, or `fail` with 503",
    },
    Spec {
        key: "task_retention",
        default: "100000",
        kind: Kind::Int { min: 1000, max: 10_000_000 },
        description: "task records kept in the registry; the oldest are dropped beyond this",
    },
];

/// Settings that were replaced, and what replaced them.
fn renamed(key: &str) -> Option<&'static str> {
    match key {
        "anti_entropy_interval_s" => Some("anti_entropy_schedule (a cron expression, or `off`)"),
        "drain_timeout_s" => Some(
            "drain_timeout (a duration such as 90s or 5m: how long a cutover keeps retrying before the migration reports itself stuck)",
        ),
        _ => None,
    }
}

/// A duration setting's value in milliseconds.
pub fn parse_duration_ms(value: &str) -> Option<u64> {
    humantime::parse_duration(value.trim())
        .ok()
        .and_then(|d| u64::try_from(d.as_millis()).ok())
}

pub fn spec(key: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.key == key)
}

/// A setting's value and the revision that last changed it (0 = default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setting {
    pub value: String,
    pub version: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// Only settings that were set; the rest take their spec's default.
    values: BTreeMap<String, Setting>,
}

/// One setting as shown to operators.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SettingView {
    pub key: String,
    pub value: String,
    pub version: u64,
    pub description: String,
}

impl Settings {
    /// Checks a key and value without looking at state.
    pub fn validate(key: &str, value: &str) -> Result<(), CommandError> {
        if let Some(name) = key.strip_prefix(USER_PREFIX) {
            if name.is_empty() || name.len() > 128 {
                return Err(CommandError::invalid(
                    "a user key is `user.` followed by 1 to 128 characters",
                ));
            }
            if value.len() > USER_VALUE_MAX {
                return Err(CommandError::invalid(format!(
                    "value of {key} is {} bytes; user values hold at most {USER_VALUE_MAX}",
                    value.len()
                )));
            }
            return Ok(());
        }
        if let Some(new) = renamed(key) {
            return Err(CommandError::not_found(format!(
                "setting `{key}` was replaced: use {new}"
            )));
        }
        let Some(spec) = spec(key) else {
            let known: Vec<&str> = SPECS.iter().map(|s| s.key).collect();
            return Err(CommandError::not_found(format!(
                "unknown setting `{key}`; known settings: {}, or any `user.` key",
                known.join(", ")
            )));
        };
        match spec.kind {
            Kind::Int { min, max } => match value.parse::<u64>() {
                Ok(v) if (min..=max).contains(&v) => Ok(()),
                _ => Err(CommandError::invalid(format!(
                    "invalid value `{value}` for {key}: give a whole number from {min} to {max}"
                ))),
            },
            Kind::Cron => super::schedule::Schedule::parse(value)
                .map(|_| ())
                .map_err(|e| {
                    CommandError::invalid(format!("invalid value `{value}` for {key}: {e}"))
                }),
            Kind::Duration { min_ms, max_ms } => match parse_duration_ms(value) {
                Some(ms) if (min_ms..=max_ms).contains(&ms) => Ok(()),
                _ => Err(CommandError::invalid(format!(
                    "invalid value `{value}` for {key}: give a duration from {} to {}, such as 30s or 5m",
                    humantime::format_duration(std::time::Duration::from_millis(min_ms)),
                    humantime::format_duration(std::time::Duration::from_millis(max_ms)),
                ))),
            },
            Kind::OneOf(words) if words.contains(&value) => Ok(()),
            Kind::OneOf(words) => Err(CommandError::invalid(format!(
                "invalid value `{value}` for {key}: use one of {}",
                words.join(", ")
            ))),
        }
    }

    /// Rules between settings, checked against the others' current values:
    /// a tombstone outlives the longest gap between two anti-entropy passes,
    /// or a copy repaired after its tombstone expired could bring a deleted
    /// document back.
    pub fn check_together(&self, key: &str, value: &str) -> Result<(), CommandError> {
        self.check_delta_pass(key, value)?;
        const TOGETHER: [&str; 4] = [
            "tombstone_retention_s",
            "anti_entropy_schedule",
            "anti_entropy_shards_per_pass",
            "default_shards",
        ];
        if !TOGETHER.contains(&key) {
            return Ok(());
        }
        let current = |k: &str| match k == key {
            true => value.to_string(),
            false => self.get(k).map(|s| s.value).unwrap_or_default(),
        };
        let retention: u64 = current("tombstone_retention_s").parse().unwrap_or(0);
        let schedule = current("anti_entropy_schedule");
        let Ok(schedule) = super::schedule::Schedule::parse(&schedule) else {
            return Ok(());
        };
        // With a few shards per pass, a shard is compared once every so many rounds (counted
        // for an index of `default_shards` shards).
        let num = |k: &str| current(k).parse::<u64>().unwrap_or(0);
        let (per_pass, shards) = (
            num("anti_entropy_shards_per_pass"),
            num("default_shards").max(1),
        );
        let rounds = match per_pass {
            0 => 1,
            n => shards.div_ceil(n),
        };
        if let Some(gap) = schedule.longest_gap_s() {
            let each_shard = gap.saturating_mul(rounds);
            if each_shard > retention {
                return Err(CommandError::precondition(format!(
                    "tombstone_retention_s ({retention}) must be at least the longest time between two anti-entropy passes over one shard ({each_shard} s: gaps of `{}` up to {gap} s, every shard once in {rounds} rounds): a repair after a tombstone expired could bring a deleted document back; raise the retention first",
                    schedule.expression()
                )));
            }
        }
        Ok(())
    }

    /// Configuration C (no delta pass) leans on repair and anti-entropy: refused without them.
    fn check_delta_pass(&self, key: &str, value: &str) -> Result<(), CommandError> {
        let current = |k: &str| match k == key {
            true => value.to_string(),
            false => self.get(k).map(|s| s.value).unwrap_or_default(),
        };
        let no_delta = current("migration_delta_pass") == "off";
        let no_ae = current("anti_entropy_schedule") == "off";
        match (key, no_delta && no_ae) {
            ("migration_delta_pass" | "anti_entropy_schedule", true) => Err(CommandError::precondition(
                "migrations without a delta pass need anti-entropy (moved copies are repaired before they serve, and passes are the second line): keep migration_delta_pass on, or set an anti_entropy_schedule first",
            )),
            _ => Ok(()),
        }
    }

    /// Whether a word-valued setting is `on`.
    pub fn on(&self, key: &str) -> bool {
        self.get(key).is_some_and(|s| s.value == "on")
    }

    /// A cron-valued setting (always valid, since values are validated on set).
    pub fn cron(&self, key: &str) -> super::schedule::Schedule {
        let v = self.get(key).map(|s| s.value).unwrap_or_default();
        super::schedule::Schedule::parse(&v).unwrap_or_else(|_| super::schedule::Schedule::off())
    }

    /// The anti-entropy schedule (always valid, since values are validated on set).
    pub fn schedule(&self) -> super::schedule::Schedule {
        let v = self
            .get("anti_entropy_schedule")
            .map(|s| s.value)
            .unwrap_or_default();
        super::schedule::Schedule::parse(&v).unwrap_or_else(|_| super::schedule::Schedule::off())
    }

    /// What a key is for (empty for unknown keys).
    pub fn description(key: &str) -> String {
        match spec(key) {
            Some(s) => s.description.to_string(),
            None if key.starts_with(USER_PREFIX) => "operator annotation".to_string(),
            None => String::new(),
        }
    }

    pub fn get(&self, key: &str) -> Option<SettingView> {
        if spec(key).is_none() && !key.starts_with(USER_PREFIX) {
            return None;
        }
        let description = Self::description(key);
        let (value, version) = match (self.values.get(key), spec(key)) {
            (Some(s), _) => (s.value.clone(), s.version),
            (None, Some(spec)) => (spec.default.to_string(), 0),
            (None, None) => (String::new(), 0),
        };
        Some(SettingView {
            key: key.to_string(),
            value,
            version,
            description,
        })
    }

    /// Every known setting, then every user key that was set.
    pub fn all(&self) -> Vec<SettingView> {
        let mut out: Vec<SettingView> = SPECS.iter().filter_map(|s| self.get(s.key)).collect();
        out.extend(
            self.values
                .keys()
                .filter(|k| k.starts_with(USER_PREFIX))
                .filter_map(|k| self.get(k)),
        );
        out
    }

    pub fn version(&self, key: &str) -> u64 {
        self.values.get(key).map_or(0, |s| s.version)
    }

    pub fn set(&mut self, key: &str, value: &str, version: u64) {
        self.values.insert(
            key.to_string(),
            Setting {
                value: value.to_string(),
                version,
            },
        );
    }

    /// A known duration setting, in milliseconds.
    pub fn duration_ms(&self, key: &str) -> u64 {
        let v = self.get(key).map(|s| s.value).unwrap_or_default();
        parse_duration_ms(&v)
            .or_else(|| spec(key).and_then(|s| parse_duration_ms(s.default)))
            .unwrap_or(0)
    }

    /// A known integer setting (always valid, since values are validated on set).
    pub fn int(&self, key: &str) -> u64 {
        let v = self.get(key).map(|s| s.value).unwrap_or_default();
        v.parse()
            .unwrap_or_else(|_| spec(key).and_then(|s| s.default.parse().ok()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Defaults parse under their own validators.
    #[test]
    fn defaults_are_valid() {
        for s in SPECS {
            Settings::validate(s.key, s.default).unwrap();
        }
    }

    #[test]
    fn validation() {
        assert!(Settings::validate("lease_ms", "100").is_err());
        assert!(Settings::validate("lease_ms", "abc").is_err());
        assert!(Settings::validate("lease_ms", "2000").is_ok());
        assert!(matches!(
            Settings::validate("nope", "1"),
            Err(CommandError::NotFound(_))
        ));
        assert!(Settings::validate("unavailable_shard_policy", "fail").is_ok());
        assert!(Settings::validate("unavailable_shard_policy", "maybe").is_err());
        assert!(Settings::validate("user.k1", "anything").is_ok());
        assert!(Settings::validate("user.", "x").is_err());
    }

    /// Durations take the units people write; the old drain key names its replacement; no
    /// delta pass needs anti-entropy.
    #[test]
    fn durations_and_migration_settings() {
        assert!(Settings::validate("drain_timeout", "90s").is_ok());
        assert!(Settings::validate("drain_timeout", "1h 30m").is_ok());
        assert!(
            Settings::validate("drain_timeout", "10ms").is_err(),
            "below the range"
        );
        assert!(Settings::validate("drain_timeout", "soon").is_err());
        let e = Settings::validate("drain_timeout_s", "3600")
            .unwrap_err()
            .to_string();
        assert!(e.contains("drain_timeout ("), "{e}");
        let mut s = Settings::default();
        assert_eq!(s.duration_ms("fence_budget"), 1_000);
        s.set("fence_budget", "250ms", 1);
        assert_eq!(s.duration_ms("fence_budget"), 250);
        assert!(s.check_together("migration_delta_pass", "off").is_ok());
        s.set("anti_entropy_schedule", "off", 2);
        assert!(s.check_together("migration_delta_pass", "off").is_err());
        s.set("migration_delta_pass", "off", 3);
        assert!(s.check_together("migration_delta_pass", "on").is_ok());
    }

    /// Tombstones outlive the longest gap between passes: a daily schedule
    /// needs a day of retention, a monthly one a month.
    #[test]
    fn tombstones_outlive_the_gap_between_passes() {
        let mut s = Settings::default();
        assert!(s.check_together("tombstone_retention_s", "3600").is_err());
        assert!(s.check_together("tombstone_retention_s", "86400").is_ok());
        assert!(s
            .check_together("anti_entropy_schedule", "0 3 1 * *")
            .is_err());
        s.set("anti_entropy_schedule", "off", 1);
        assert!(s.check_together("tombstone_retention_s", "3600").is_ok());
        assert!(s
            .check_together("anti_entropy_schedule", "*/10 * * * *")
            .is_ok());
        assert!(Settings::validate("anti_entropy_schedule", "every day").is_err());
        // Daily, 64 shards, 8 per pass: each shard every 8 days, past 7 days of retention.
        let mut d = Settings::default();
        assert!(d
            .check_together("anti_entropy_shards_per_pass", "8")
            .is_err());
        assert!(d
            .check_together("anti_entropy_shards_per_pass", "16")
            .is_ok());
        d.set("anti_entropy_shards_per_pass", "16", 2);
        assert!(d.check_together("default_shards", "128").is_err());
        assert!(Settings::validate("anti_entropy_schedule", "off").is_ok());
        let old = Settings::validate("anti_entropy_interval_s", "60").unwrap_err();
        assert!(old.to_string().contains("anti_entropy_schedule"), "{old}");
    }

    #[test]
    fn versions_track_changes() {
        let mut s = Settings::default();
        assert_eq!(s.get("lease_ms").unwrap().version, 0);
        s.set("lease_ms", "3000", 17);
        assert_eq!(s.get("lease_ms").unwrap().value, "3000");
        assert_eq!(s.version("lease_ms"), 17);
        assert_eq!(s.int("lease_ms"), 3000);
        assert!(s.get("user.x").unwrap().value.is_empty());
    }
}
