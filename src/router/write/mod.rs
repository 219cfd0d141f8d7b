//! Writes: a batch placed on its shards, the lease and fence gate every write passes, quorum per
//! replica group, and the writes every node of an index carries out.
//!
//! # Layout
//! - [`batch`]: primary-key checks, reserved fields and shard tagging of a write batch.
//! - [`gate`]: the lease and fence checks every write passes first.
//! - [`lease`]: the lease on the epoch writes are sent under.
//! - [`clock`]: the document-version clock, kept in step with the leader's through the lease.
//! - [`writer`]: task records, primary keys, and document writes with per-group quorum.
//! - [`broadcast`]: writes every node of an index carries out (settings, deletions).
//! - [`index_writes`]: index creation on every node (undone if one refuses) and removal.
//! - [`settings_check`]: settings read back from every node once applied.

pub mod batch;
pub mod broadcast;
pub mod clock;
pub mod gate;
pub mod index_writes;
pub mod lease;
pub mod settings_check;
pub mod writer;
