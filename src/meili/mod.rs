//! Meilisearch's own vocabulary, shared by the router (which must answer as
//! Meilisearch does) and the devnode (which stands in for it).
//!
//! # Layout
//! - [`error`]: Meilisearch's error responses and their codes.
//! - [`federation`]: federated multi-search's window, hit order and answer.
//! - [`hidden_attributes`]: Miroir's attributes left out of Meilisearch's error messages.
//! - [`index_swap`]: `POST /swap-indexes` and renames: the body, the checks, the task details.
//! - [`index_uid`]: what Meilisearch accepts as an index uid.
//! - [`index_update`]: a `PATCH /indexes/{uid}` body (primary key, new uid).
//! - [`keys`]: what an API key grants (actions and their wildcards, index patterns, expiry).
//! - [`params`]: query-string parameters (numbers) as Meilisearch reads them.
//! - [`payload`]: document payloads (JSON, NDJSON, CSV) parsed as Meilisearch does.
//! - [`primary_key`]: primary-key inference and document-id rules.
//! - [`reserved`]: the attributes Miroir keeps on documents for itself (`_miroir_shard`).
//! - [`search_params`]: search parameters, their error codes, and `GET /search` as a body.
//! - [`task_filter`]: the filters of the task routes, parsed with Meilisearch's errors.
//! - [`stamp`]: timestamps, durations and identifiers as Meilisearch prints them.

pub mod document_params;
pub mod error;
pub mod federation;
pub mod hidden_attributes;
pub mod index_swap;
pub mod index_uid;
pub mod index_update;
pub mod keys;
pub mod params;
pub mod payload;
pub mod primary_key;
pub mod reserved;
pub mod search_params;
pub mod stamp;
pub mod stats_params;
pub mod task_filter;
pub mod tenant_token;

pub use error::MeiliError;
