//! Federated multi-search as Meilisearch answers it: the federation window,
//! the order of merged hits, and the answer's shape. Shared by the router
//! (which merges shards' answers) and the devnode (which ranks itself).

use std::cmp::Ordering;

use serde_json::{json, Value};

use super::error::wrong_type;
use super::{stamp, MeiliError};

/// `federation.offset` and `federation.limit` (0 and 20 by default).
pub fn window(fed: &Value) -> Result<(usize, usize), MeiliError> {
    let num = |k: &str, default: usize| match fed.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64().unwrap_or(0) as usize),
        Some(v) => Err(wrong_type(
            "invalid_multi_search_federation_options",
            &format!(".federation.{k}"),
            "a positive integer",
            v,
        )),
    };
    Ok((num("offset", 0)?, num("limit", 20)?))
}

/// Where a hit stands: its weighted score, its query's position, its rank
/// in that query.
pub type Place = (f64, usize, usize);

/// Higher weighted scores first; ties by query position, then by rank.
pub fn order(a: &Place, b: &Place) -> Ordering {
    b.0.partial_cmp(&a.0)
        .unwrap_or(Ordering::Equal)
        .then(a.1.cmp(&b.1))
        .then(a.2.cmp(&b.2))
}

/// The federated answer around the page of hits.
pub fn answer(hits: Vec<Value>, took_ms: u64, offset: usize, limit: usize, total: u64) -> Value {
    json!({
        "hits": hits,
        "processingTimeMs": took_ms,
        "limit": limit,
        "offset": offset,
        "estimatedTotalHits": total,
        "requestUid": stamp::uuid_v7(),
    })
}
