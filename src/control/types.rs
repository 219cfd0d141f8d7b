//! Answers of the coordinators that have no type in `state`, with their
//! conversions from the generated messages.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::pb::v1;
use crate::state::version::{ClockGrant, Version};
use crate::state::{CommandError, Epoch, IndexUid, Node, ShardMap, TaskRecord, TaskStatus};

/// A lease on an epoch: the router may write until `lease` after it sent
/// the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    pub lease: Duration,
    pub epoch: Epoch,
    /// The cluster's `unavailable_shard_policy` is `fail`.
    pub fail_on_missing_shards: bool,
    /// What the version clock needs: the leader's time, ceiling, floor, bound.
    pub clock: ClockGrant,
}

impl From<v1::LeaseGrant> for LeaseGrant {
    fn from(g: v1::LeaseGrant) -> Self {
        LeaseGrant {
            lease: Duration::from_millis(g.lease_ms),
            epoch: Epoch(g.epoch),
            fail_on_missing_shards: g.unavailable_shard_policy == "fail",
            clock: ClockGrant {
                leader_unix_ms: g.leader_unix_ms,
                ceiling: Version(g.version_ceiling),
                floor: Version(g.version_floor),
                max_skew_ms: g.max_clock_skew_ms,
            },
        }
    }
}

/// Task uids `first..first + count`, this router's alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskIdBlock {
    pub first: u64,
    pub count: u32,
}

impl From<v1::TaskIdBlock> for TaskIdBlock {
    fn from(b: v1::TaskIdBlock) -> Self {
        TaskIdBlock {
            first: b.first,
            count: b.count,
        }
    }
}

/// A webhook with the uuid Meilisearch's API names it by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub uuid: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

impl From<v1::Webhook> for Webhook {
    fn from(w: v1::Webhook) -> Self {
        Webhook {
            uuid: w.uuid,
            url: w.url,
            headers: w.headers.into_iter().collect(),
        }
    }
}

impl From<Webhook> for v1::Webhook {
    fn from(w: Webhook) -> Self {
        v1::Webhook {
            uuid: w.uuid,
            url: w.url,
            headers: w.headers.into_iter().collect(),
        }
    }
}

/// Which task records to list: newest first from uid `from` (0: the newest).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskQuery {
    pub from: u64,
    pub limit: u32,
    pub index_uids: Vec<String>,
    pub statuses: Vec<TaskStatus>,
}

/// A page of task records.
#[derive(Debug, Clone, Default)]
pub struct TaskPage {
    pub tasks: Vec<TaskRecord>,
    /// Every match, whatever the page.
    pub total: u64,
    /// The uid the next page starts at.
    pub next: Option<u64>,
}

/// One message of the shard-map watch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardMapUpdate {
    /// The whole state: an index it does not name was deleted meanwhile.
    pub full: bool,
    pub changed: Vec<ShardMap>,
    pub deleted: Vec<IndexUid>,
    /// The whole node list, when it changed (or `full`); else empty.
    pub nodes: Vec<Node>,
    /// The coordinator's applied index when it sent this.
    pub applied_index: u64,
    /// The cluster's newest epoch.
    pub epoch: Epoch,
}

impl TryFrom<v1::ShardMapEvent> for ShardMapUpdate {
    type Error = CommandError;

    fn try_from(ev: v1::ShardMapEvent) -> Result<Self, CommandError> {
        Ok(ShardMapUpdate {
            full: ev.full,
            changed: ev
                .changed
                .into_iter()
                .map(ShardMap::try_from)
                .collect::<Result<_, _>>()?,
            deleted: ev.deleted.into_iter().map(IndexUid).collect(),
            nodes: ev
                .nodes
                .into_iter()
                .map(Node::try_from)
                .collect::<Result<_, _>>()?,
            applied_index: ev.applied_index,
            epoch: Epoch(ev.epoch),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An event with one unreadable map is refused whole, never half taken in.
    #[test]
    fn a_malformed_event_is_refused_whole() {
        let good = v1::ShardMap {
            index_uid: "a".into(),
            epoch: 1,
            shards: vec![v1::ShardAssignment {
                shard: 0,
                read: vec!["n".into()],
                write: vec!["n".into()],
                fence: "open".into(),
                copies: vec![v1::ShardCopy {
                    node: "n".into(),
                    role: "serving".into(),
                }],
            }],
            physical_index: "a".into(),
        };
        let mut bad = good.clone();
        bad.shards[0].fence = "ajar".into();
        let ev = |m: v1::ShardMap| v1::ShardMapEvent {
            full: true,
            changed: vec![m],
            epoch: 3,
            ..Default::default()
        };
        let u = ShardMapUpdate::try_from(ev(good)).unwrap();
        assert_eq!(u.changed[0].index, IndexUid("a".into()));
        assert_eq!(u.epoch, Epoch(3));
        assert!(ShardMapUpdate::try_from(ev(bad)).is_err());
    }
}
