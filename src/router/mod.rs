//! The router: Miroir's Meilisearch-compatible data plane.
//!
//! # Layout
//! - [`documents`]: primary-key checks, reserved fields and shard tagging of a write batch.
//! - [`filter`]: the per-node filter that restricts a search to the shards it serves.
//! - [`merge`]: one Meilisearch answer from many nodes' answers.
//! - [`nodes`]: HTTP calls to Meilisearch nodes.
//! - [`plan`]: which node answers for which shards of a search, with fallbacks.
//! - [`scatter`]: one search over many nodes, with replica fallback.
//! - [`search`]: the client's paging and sorting, and the request each node receives.
//! - [`topology`]: the cached shard maps and nodes, which outlive the control plane.
//! - [`control`]: the coordinators: the shard-map watch, with failover between them.

pub mod control;
pub mod documents;
pub mod filter;
pub mod merge;
pub mod nodes;
pub mod plan;
pub mod scatter;
pub mod search;
pub mod topology;
