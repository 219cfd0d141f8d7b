//! Search as a node answers it: matching and ranking, the query's parameters, how hits are shown,
//! paginated and federated results, and facets.
//!
//! # Layout
//! - [`ranking`]: matching, ranking rules, ranking score, sort and distinct.
//! - [`query`]: search parameters and their errors.
//! - [`sort`]: `sort` keys and how documents compare on them.
//! - [`terms`]: query words, typo budgets, synonyms, and how document words match them.
//! - [`hits`]: how a hit is shown (`_formatted`, `_matchesPosition`, `_rankingScore`).
//! - [`results`]: pagination, facets and (federated) multi-search responses.
//! - [`facets`]: facet distribution, facet stats and facet search.

pub mod facets;
pub mod hits;
pub mod query;
pub mod ranking;
pub mod results;
pub mod sort;
pub mod terms;
