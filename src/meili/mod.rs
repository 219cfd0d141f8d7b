//! Meilisearch's own vocabulary, shared by the router (which must answer as
//! Meilisearch does) and the devnode (which stands in for it).
//!
//! # Layout
//! - [`error`]: Meilisearch's error responses and their codes.
//! - [`indexes`]: index uids, `PATCH /indexes/{uid}` bodies, swaps and renames.
//! - [`params`]: query parameters and bodies of the search, document, stats and task routes.
//! - [`documents`]: document payloads (JSON, NDJSON, CSV) and primary-key rules.
//! - [`attributes`]: the attributes Miroir keeps on documents, and hiding them from clients.
//! - [`auth`]: what an API key grants, and tenant tokens.
//! - [`federation`]: federated multi-search's window, hit order and answer.
//! - [`stamp`]: timestamps, durations and identifiers as Meilisearch prints them.

pub mod attributes;
pub mod auth;
pub mod documents;
pub mod error;
pub mod federation;
pub mod indexes;
pub mod params;
pub mod stamp;

// The paths these modules had before they were grouped.
pub use attributes::{hidden as hidden_attributes, reserved};
pub use auth::{keys, tenant_token};
pub use documents::{payload, primary_key};
pub use indexes::{swap as index_swap, uid as index_uid, update as index_update};
pub use params::{
    documents as document_params, search as search_params, stats as stats_params,
    tasks as task_filter,
};

pub use error::MeiliError;
