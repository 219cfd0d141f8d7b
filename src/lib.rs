//! Miroir shards and replicates Meilisearch behind a Raft-replicated control plane.
//!
//! # Layout
//! - [`placement`]: which shard a primary key belongs to, and which nodes hold a shard.
//! - [`state`]: the replicated state and its typed commands (pure rules, no I/O).
//! - [`control`]: the typed client of the coordinators' services, used by router and ctl.
//! - [`coordinator`]: the Raft member: sled storage, gRPC services, bootstrap, metrics.
//! - [`ctl`]: the operator CLI behind `miroir-ctl`.
//! - [`devnode`]: an in-memory Meilisearch stand-in for tests and demos (`miroir-devnode`).
//! - [`meili`]: Meilisearch's error shapes and rules, shared by the router and the devnode.
//! - [`fleet`]: talking to Meilisearch nodes, shared by the router and the coordinators.
//! - [`router`]: the Meilisearch-compatible data plane (`miroir-router`).
//! - [`exporter`]: the Prometheus `/metrics` endpoint of coordinators and routers.
//! - [`logging`]: log setup and the shutdown signals every server obeys.
//! - [`pb`]: generated gRPC types and their conversions to and from [`state`].

pub mod control;
pub mod coordinator;
pub mod ctl;
pub mod devnode;
pub mod exporter;
pub mod fleet;
pub mod logging;
pub mod meili;
pub mod pb;
pub mod placement;
pub mod router;
pub mod state;
pub mod workflows;
