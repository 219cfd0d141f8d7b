//! Miroir tasks: uids from the coordinators' blocks, one record per client
//! write naming the node tasks behind it, and the Meilisearch-shaped view of
//! a record (succeeded only when every node task needed has succeeded).
//!
//! # Layout
//! - [`ids`]: task uids a block at a time, and committing records.
//! - [`view`]: a task as clients see it, and the status its node tasks add up to.
//! - [`lookup`]: a task brought up to date from its node tasks.
//! - [`details`]: a finished task's details from its node tasks, counted once.
//! - [`filter`]: a scan of the task records with Meilisearch's task filters.
//! - [`finisher`]: finishes open tasks in the background (and so fires webhooks).
//! - [`webhooks`]: webhooks fired once per Miroir task (their routes are in `api::webhooks`).

pub mod details;
pub mod filter;
pub mod finisher;
pub mod ids;
pub mod lookup;
pub mod view;
pub mod webhooks;
