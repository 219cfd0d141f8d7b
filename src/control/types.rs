//! Answers of the coordinators that have no type in `state`, with their
//! conversions from the generated messages.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::pb::v1;
use crate::state::Epoch;

/// A lease on an epoch: the router may write until `lease` after it sent
/// the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseGrant {
    pub lease: Duration,
    pub epoch: Epoch,
    /// The cluster's `unavailable_shard_policy` is `fail`.
    pub fail_on_missing_shards: bool,
}

impl From<v1::LeaseGrant> for LeaseGrant {
    fn from(g: v1::LeaseGrant) -> Self {
        LeaseGrant {
            lease: Duration::from_millis(g.lease_ms),
            epoch: Epoch(g.epoch),
            fail_on_missing_shards: g.unavailable_shard_policy == "fail",
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
    pub statuses: Vec<String>,
}

/// A page of task records.
#[derive(Debug, Clone, Default)]
pub struct TaskPage {
    pub tasks: Vec<v1::TaskRecord>,
    /// Every match, whatever the page.
    pub total: u64,
    /// The uid the next page starts at.
    pub next: Option<u64>,
}

/// What the router needs of an index's description.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexDescription {
    pub primary_key: Option<String>,
}
