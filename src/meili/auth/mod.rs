//! Meilisearch's access rules.
//!
//! - [`keys`]: what an API key grants (actions and their wildcards, index patterns, expiry).
//! - [`tenant_token`]: tenant tokens: their claims, signature and search rules.

pub mod keys;
pub mod tenant_token;
