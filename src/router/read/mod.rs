//! Reads: which node answers for which shards, the search each node receives, the scatter over
//! nodes with replica fallback, and the merge of their answers into one.
//!
//! # Layout
//! - [`plan`]: which node answers for which shards of a search, with fallbacks.
//! - [`query`]: the client's paging and sorting, and the request each node receives.
//! - [`scatter`]: one search over many nodes, with replica fallback.
//! - [`search`]: one search over every shard, as every search route runs it.
//! - [`merge`]: one Meilisearch answer from many nodes' answers.
//! - [`index_facts`]: the index settings searches must know (distinct attribute, searchable fields).
//! - [`federation`]: federated multi-search, merged by weighted ranking score.
//! - [`one_node`]: reads any one node of an index answers (its description, its settings).

pub mod federation;
pub mod index_facts;
pub mod merge;
pub mod one_node;
pub mod plan;
pub mod query;
pub mod scatter;
pub mod search;
