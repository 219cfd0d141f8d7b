//! Meilisearch's own vocabulary, shared by the router (which must answer as
//! Meilisearch does) and the devnode (which stands in for it).
//!
//! # Layout
//! - [`error`]: Meilisearch's error responses and their codes.

pub mod error;

pub use error::MeiliError;
