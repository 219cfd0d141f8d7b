//! Documents as Meilisearch takes them.
//!
//! - [`payload`]: document payloads (JSON, NDJSON, CSV) parsed as Meilisearch does.
//! - [`primary_key`]: primary-key inference and document-id rules.

pub mod payload;
pub mod primary_key;
