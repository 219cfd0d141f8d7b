//! Tombstones (DESIGN section 6): every delete a router sends is first
//! recorded here, so that no copy, catch-up or repair brings a deleted
//! document back (I4). One record per delete request, kept for
//! `tombstone_retention_s`; a copy behind for longer is rebuilt whole.
//!
//! Kept small because the state and its snapshots hold them all: a record
//! is its version (which also dates it, so no separate timestamp), its task
//! and what it deleted, serialized as a short JSON array; records sit in
//! commit order per index, so expired ones leave from the front.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, TaskUid};
use crate::state::version::Version;

/// Most ids one tombstone holds (Meilisearch's payload limit allows more,
/// but a delete that large is better sent as a filter).
pub const MAX_IDS: usize = 100_000;
const MAX_FILTER: usize = 64 * 1024;

/// What a delete removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Deleted {
    /// By id (`DELETE /documents/{id}`, `delete-batch`); ids in their
    /// canonical form (integers in decimal, as placement reads them).
    #[serde(rename = "i")]
    Ids(Vec<String>),
    /// By filter, as the client sent it (JSON text).
    #[serde(rename = "f")]
    Filter(String),
    /// Every document of the index.
    #[serde(rename = "a")]
    All,
}

impl Deleted {
    pub fn kind(&self) -> &'static str {
        match self {
            Deleted::Ids(_) => "ids",
            Deleted::Filter(_) => "filter",
            Deleted::All => "all",
        }
    }

    pub fn validate(&self) -> Result<(), CommandError> {
        match self {
            Deleted::Ids(ids) if ids.is_empty() => Err(CommandError::invalid(
                "a tombstone by ids names at least one id",
            )),
            Deleted::Ids(ids) if ids.len() > MAX_IDS => Err(CommandError::invalid(format!(
                "a tombstone holds at most {MAX_IDS} ids; delete more by filter"
            ))),
            Deleted::Filter(f) if f.is_empty() || f.len() > MAX_FILTER => Err(
                CommandError::invalid(format!("a tombstone's filter is 1 to {MAX_FILTER} bytes")),
            ),
            _ => Ok(()),
        }
    }
}

/// One delete: its version (the router's clock when it ran), its task, and
/// what it deleted. Documents of an older version that match it are gone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Compact", into = "Compact")]
pub struct Tombstone {
    pub version: Version,
    pub task: Option<TaskUid>,
    pub deleted: Deleted,
}

/// `[version, task (0 = none), deleted]`.
#[derive(Serialize, Deserialize)]
struct Compact(u64, u64, Deleted);

impl From<Compact> for Tombstone {
    fn from(Compact(v, t, deleted): Compact) -> Self {
        Tombstone {
            version: Version(v),
            task: (t != 0).then_some(TaskUid(t)),
            deleted,
        }
    }
}

impl From<Tombstone> for Compact {
    fn from(t: Tombstone) -> Self {
        Compact(t.version.0, t.task.map_or(0, |t| t.0), t.deleted)
    }
}

/// Every index's tombstones, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tombstones {
    by_index: BTreeMap<IndexUid, VecDeque<Tombstone>>,
}

/// Counts for one index, for operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TombstoneCounts {
    pub records: u64,
    pub oldest: Option<Version>,
    pub newest: Option<Version>,
}

impl Tombstones {
    pub fn record(&mut self, index: &IndexUid, t: Tombstone) {
        self.by_index.entry(index.clone()).or_default().push_back(t);
    }

    /// Drops the records older than `cutoff` (those whose version dates
    /// them before the retention window); returns how many went.
    pub fn purge(&mut self, cutoff: Version) -> u64 {
        let mut gone = 0;
        self.by_index.retain(|_, list| {
            while list.front().is_some_and(|t| t.version < cutoff) {
                list.pop_front();
                gone += 1;
            }
            !list.is_empty()
        });
        gone
    }

    /// Forgets an index's tombstones (the index is gone; a re-created one
    /// has a new physical index, which no old copy can reach).
    pub fn forget(&mut self, index: &IndexUid) {
        self.by_index.remove(index);
    }

    /// Moves the tombstones of the uids in `moves` (old uid, new uid) to
    /// their new uids, all at once: they belong to the physical index, which
    /// a rename or swap hands to another uid.
    pub fn rename(&mut self, moves: &[(IndexUid, IndexUid)]) {
        crate::state::ids::move_keys(&mut self.by_index, moves);
    }

    /// The oldest version still kept, over every index.
    pub fn oldest(&self) -> Option<Version> {
        self.by_index
            .values()
            .filter_map(|l| l.front().map(|t| t.version))
            .min()
    }

    pub fn counts(&self, index: &IndexUid) -> TombstoneCounts {
        let Some(list) = self.by_index.get(index) else {
            return TombstoneCounts::default();
        };
        TombstoneCounts {
            records: list.len() as u64,
            oldest: list.iter().map(|t| t.version).min(),
            newest: list.iter().map(|t| t.version).max(),
        }
    }

    pub fn indexes(&self) -> impl Iterator<Item = &IndexUid> {
        self.by_index.keys()
    }

    /// An index's records with a version above `after`, oldest first, at
    /// most `limit` (what a catch-up applies since the version it had).
    pub fn since(&self, index: &IndexUid, after: Version, limit: usize) -> Vec<Tombstone> {
        self.by_index
            .get(index)
            .into_iter()
            .flatten()
            .filter(|t| t.version > after)
            .take(limit)
            .cloned()
            .collect()
    }

    /// An index's newest `limit` records, newest first (for operators).
    pub fn newest(&self, index: &IndexUid, limit: usize) -> Vec<Tombstone> {
        self.by_index
            .get(index)
            .into_iter()
            .flat_map(|l| l.iter().rev())
            .take(limit)
            .cloned()
            .collect()
    }

    pub fn total(&self) -> u64 {
        self.by_index.values().map(|l| l.len() as u64).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: u64, deleted: Deleted) -> Tombstone {
        Tombstone {
            version: Version(v),
            task: Some(TaskUid(v)),
            deleted,
        }
    }

    #[test]
    fn records_are_compact_and_round_trip() {
        let one = t(7, Deleted::Ids(vec!["doc-1".into()]));
        let text = serde_json::to_string(&one).unwrap();
        assert_eq!(text, r#"[7,7,{"i":["doc-1"]}]"#);
        assert_eq!(serde_json::from_str::<Tombstone>(&text).unwrap(), one);
        let all = Tombstone {
            task: None,
            ..t(9, Deleted::All)
        };
        assert_eq!(serde_json::to_string(&all).unwrap(), r#"[9,0,"a"]"#);
    }

    #[test]
    fn purge_drops_the_expired_front_and_empty_indexes() {
        let (a, b) = (IndexUid("a".into()), IndexUid("b".into()));
        let mut ts = Tombstones::default();
        ts.record(&a, t(1, Deleted::All));
        ts.record(&a, t(5, Deleted::Filter("\"x = 1\"".into())));
        ts.record(&b, t(2, Deleted::Ids(vec!["1".into()])));
        assert_eq!(ts.total(), 3);
        assert_eq!(ts.oldest(), Some(Version(1)));
        assert_eq!(ts.purge(Version(3)), 2);
        assert_eq!(ts.counts(&a).records, 1);
        assert_eq!(ts.indexes().count(), 1, "b had nothing left");
        assert_eq!(ts.since(&a, Version(4), 10).len(), 1);
        assert!(ts.since(&a, Version(5), 10).is_empty());
        ts.forget(&a);
        assert_eq!(ts.total(), 0);
    }

    #[test]
    fn bad_tombstones_are_refused() {
        assert!(Deleted::Ids(vec![]).validate().is_err());
        assert!(Deleted::Filter(String::new()).validate().is_err());
        assert!(Deleted::All.validate().is_ok());
    }
}
