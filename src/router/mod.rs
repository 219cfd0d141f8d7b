//! The router: Miroir's Meilisearch-compatible data plane.
//!
//! # Layout
//! - [`documents`]: primary-key checks, reserved fields and shard tagging of a write batch.
//! - [`filter`]: the per-node filter that restricts a search to the shards it serves.
//! - [`merge`]: one Meilisearch answer from many nodes' answers.

pub mod documents;
pub mod filter;
pub mod merge;
