//! Query parameters and request bodies as Meilisearch reads them, with its errors.
//!
//! - [`numbers`]: query-string numbers (re-exported here, their first home).
//! - [`search`]: search parameters, their error codes, and `GET /search` as a body.
//! - [`documents`]: the parameters of the document routes (`customMetadata`, `skipCreation`, ...).
//! - [`stats`]: the stats routes' parameters.
//! - [`tasks`]: the filters of the task routes.

pub mod documents;
pub mod numbers;
pub mod search;
pub mod stats;
pub mod tasks;

pub use numbers::*;
