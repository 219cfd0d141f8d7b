//! Talking to Meilisearch nodes, for the router and for the coordinators' workflows alike (so neither
//! imports the other). Nothing here knows whether a node is real Meilisearch or a devnode.
//!
//! # Layout
//! - [`client`]: one HTTP call to one node, with failures classified (unreachable or refused).
//! - [`shard_filter`]: the filter that restricts a node's answer to the shards asked of it.

pub mod client;
pub mod shard_filter;

pub use client::{NodeClient, NodeError, NodeKey};
pub use shard_filter::{shard_filter, with_shards};
