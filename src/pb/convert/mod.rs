//! `From`/`TryFrom` between generated messages and domain types, one file per type.

mod config;
mod index;
mod node;
mod repair;
mod shard_map;
mod task;
mod tombstone;
mod workflow;
