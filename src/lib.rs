//! Miroir shards and replicates Meilisearch behind a Raft-replicated control plane.
//!
//! # Layout
//! - [`placement`]: which shard a primary key belongs to, and which nodes hold a shard.
//! - [`state`]: the replicated state and its typed commands (pure rules, no I/O).
//! - [`coordinator`]: the Raft member: sled storage, gRPC services, bootstrap, metrics.
//! - [`ctl`]: the operator CLI behind `miroir-ctl`.
//! - [`router`]: the Meilisearch-compatible data plane (in progress: batch placement, filters, merging).
//! - [`pb`]: generated gRPC types and their conversions to and from [`state`].

pub mod coordinator;
pub mod ctl;
pub mod logging;
pub mod pb;
pub mod placement;
pub mod router;
pub mod state;
