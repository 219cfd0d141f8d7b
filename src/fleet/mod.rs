//! Talking to Meilisearch nodes, for the router and for the coordinators' workflows alike (so neither
//! imports the other). Nothing here knows whether a node is real Meilisearch or a devnode.
//!
//! # Layout
//! - [`client`]: one HTTP call to one node, with failures classified (unreachable or refused).
//! - [`fan_out`]: one request to many nodes; changes probe one node before the rest.
//! - [`node_tasks`]: a node's own tasks (accepted writes, polling until they finish).
//! - [`documents`]: writing a batch to one copy, reading a shard's documents page by page.
//! - [`indexes`]: an index and its settings on one node, `_miroir_shard` filterable from creation.
//! - [`changes`]: the changes every node of an index carries out alike, as typed values.
//! - [`shard_filter`]: the filter that restricts a node's answer to the shards asked of it.
//! - [`index_check`]: which nodes hold the physical indexes the shard maps name.
//! - [`versioned`]: a shard's documents in version order, from a version cursor.
//! - [`tombstones`]: applying deletes to a copy, only to documents older than each delete.
//! - [`suspects`]: nodes that just failed several times in a row, failed fast for a while.

pub mod changes;
pub mod client;
pub mod documents;
pub mod fan_out;
pub mod index_check;
pub mod indexes;
pub mod node_tasks;
pub mod shard_filter;
pub mod suspects;
pub mod tombstones;
pub mod versioned;

pub use changes::{IndexChange, SettingWrite};
pub use client::{NodeClient, NodeError, NodeKey};
pub use documents::{Page, ShardPages, WriteMode};
pub use fan_out::{fan_out, probe_then_rest, Refused};
pub use node_tasks::{Enqueued, NodeTaskState, WaitError};
pub use shard_filter::{shard_filter, with_shards};
pub use suspects::Suspicion;
pub use versioned::{version_of, Cursor, VersionedDoc, VersionedPages};
