//! Routes that read across shards: searches of every kind, similar documents, listings (documents,
//! stats, tasks), fields, and templates rendered by a node.

pub mod fields;
pub mod listings;
pub mod multi_search;
pub mod render;
pub mod search;
pub mod similar;
