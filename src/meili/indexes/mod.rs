//! Indexes in Meilisearch's words.
//!
//! - [`uid`]: what Meilisearch accepts as an index uid.
//! - [`update`]: a `PATCH /indexes/{uid}` body (primary key, new uid).
//! - [`swap`]: `POST /swap-indexes` and renames: the body, the checks, the task details.

pub mod swap;
pub mod uid;
pub mod update;
