//! Search responses: pagination (offset/limit or page/hitsPerPage), facets, multi-search and
//! federated multi-search.

use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::devnode::search::facets;
use crate::devnode::search::hits::render;
use crate::devnode::search::query::{self, SearchQuery};
use crate::devnode::search::ranking::{self, Ranked};
use crate::devnode::store::{Document, Store};
use crate::meili::error::{wrong_type, MeiliError};
use crate::meili::{federation, stamp};

fn max_total_hits(index: &crate::devnode::store::Index) -> usize {
    index.settings["pagination"]["maxTotalHits"]
        .as_u64()
        .unwrap_or(1000) as usize
}

/// One index search, answered as `POST /indexes/{uid}/search` does.
pub fn search(store: &Store, uid: &str, q: &SearchQuery) -> Result<Value, MeiliError> {
    let started = Instant::now();
    let index = store.index(uid)?;
    let ranked = ranking::rank(index, q)?;
    let total = ranked.hits.len();
    let cap = max_total_hits(index);
    let mut out = Map::new();
    let page_mode = q.page.is_some() || q.hits_per_page.is_some();
    let (offset, limit) = if page_mode {
        let per = q.hits_per_page.unwrap_or(20);
        let page = q.page.unwrap_or(1);
        (
            page.saturating_sub(1).saturating_mul(per),
            if page == 0 { 0 } else { per },
        )
    } else {
        (q.offset, q.limit)
    };
    let end = offset.saturating_add(limit).min(cap).min(total);
    let hits: Vec<Value> = ranked.hits[offset.min(end)..end]
        .iter()
        .map(|h| Value::Object(render(index, q, &ranked.terms, h)))
        .collect();
    out.insert("hits".into(), Value::Array(hits));
    out.insert("query".into(), json!(q.q));
    out.insert(
        "processingTimeMs".into(),
        json!(started.elapsed().as_millis() as u64),
    );
    if page_mode {
        let per = q.hits_per_page.unwrap_or(20);
        let total_hits = total.min(cap);
        out.insert("hitsPerPage".into(), json!(per));
        out.insert("page".into(), json!(q.page.unwrap_or(1)));
        out.insert(
            "totalPages".into(),
            json!(if per == 0 {
                0
            } else {
                total_hits.div_ceil(per)
            }),
        );
        out.insert("totalHits".into(), json!(total_hits));
    } else {
        out.insert("limit".into(), json!(q.limit));
        out.insert("offset".into(), json!(q.offset));
        out.insert("estimatedTotalHits".into(), json!(total));
    }
    if let Some(f) = &q.facets {
        let docs: Vec<&Document> = ranked.hits.iter().map(|h| h.doc).collect();
        let (dist, stats) = facets::distribution(index, &docs, f);
        out.insert("facetDistribution".into(), dist);
        out.insert("facetStats".into(), stats);
    }
    out.insert("requestUid".into(), json!(stamp::uuid_v7()));
    Ok(Value::Object(out))
}

/// `POST /multi-search`, plain or federated. `authorize` is asked about every index a query names.
pub fn multi_search(
    store: &Store,
    body: &Value,
    authorize: impl Fn(&str) -> Result<(), MeiliError>,
) -> Result<Value, MeiliError> {
    let Value::Object(obj) = body else {
        return Err(wrong_type("bad_request", "", "an object", body));
    };
    if let Some(k) = obj.keys().find(|k| *k != "queries" && *k != "federation") {
        return Err(MeiliError::bad_request(format!(
            "Unknown field `{k}`: expected one of `queries`, `federation`"
        )));
    }
    let queries = match obj.get("queries") {
        Some(Value::Array(q)) => q,
        Some(other) => {
            return Err(wrong_type(
                "invalid_multi_search_queries",
                ".queries",
                "an array",
                other,
            ))
        }
        None => {
            return Err(MeiliError::invalid(
                "missing_multi_search_queries",
                "Missing field `queries`",
            ))
        }
    };
    let mut parsed = Vec::new();
    for (i, raw) in queries.iter().enumerate() {
        let prefix = format!(".queries[{i}]");
        let q = query::parse(raw, &prefix, true)?;
        let Some(uid) = q.index_uid.clone() else {
            return Err(MeiliError::invalid(
                "missing_index_uid",
                format!("Missing field `indexUid` inside `{prefix}`"),
            ));
        };
        authorize(&uid).map_err(|e| prefixed(e, i))?;
        parsed.push((uid, q));
    }
    match obj.get("federation") {
        None | Some(Value::Null) => {
            let mut results = Vec::new();
            for (i, (uid, q)) in parsed.iter().enumerate() {
                let mut r = search(store, uid, q).map_err(|e| prefixed(e, i))?;
                if let Value::Object(m) = &mut r {
                    m.insert("indexUid".into(), json!(uid));
                }
                results.push(r);
            }
            Ok(json!({"results": results}))
        }
        Some(fed) => federated(store, fed, &parsed),
    }
}

fn prefixed(mut e: MeiliError, i: usize) -> MeiliError {
    e.message = format!("Inside `.queries[{i}]`: {}", e.message);
    e
}

/// Merges every query's hits by weighted ranking score; a document found twice is shown once.
fn federated(
    store: &Store,
    fed: &Value,
    queries: &[(String, SearchQuery)],
) -> Result<Value, MeiliError> {
    let started = Instant::now();
    let (offset, limit) = federation::window(fed)?;
    let mut all: Vec<(f64, usize, usize, &str, Value)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut ranked_sets: Vec<(usize, &str, Ranked, &SearchQuery)> = Vec::new();
    for (i, (uid, q)) in queries.iter().enumerate() {
        let index = store.index(uid).map_err(|e| prefixed(e, i))?;
        ranked_sets.push((
            i,
            uid.as_str(),
            ranking::rank(index, q).map_err(|e| prefixed(e, i))?,
            q,
        ));
    }
    for (i, uid, ranked, q) in &ranked_sets {
        let Ok(index) = store.index(uid) else {
            continue;
        };
        for (n, hit) in ranked.hits.iter().enumerate() {
            let key = (uid.to_string(), Value::Object(hit.doc.clone()).to_string());
            if !seen.insert(key) {
                continue;
            }
            let weighted = hit.score * q.weight;
            let mut shown = render(index, q, &ranked.terms, hit);
            shown.insert(
                "_federation".into(),
                json!({"indexUid": uid, "queriesPosition": i, "weightedRankingScore": weighted}),
            );
            all.push((weighted, *i, n, uid, Value::Object(shown)));
        }
    }
    all.sort_by(|a, b| federation::order(&(a.0, a.1, a.2), &(b.0, b.1, b.2)));
    let total = all.len();
    let hits: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|h| h.4)
        .collect();
    let took = started.elapsed().as_millis() as u64;
    Ok(federation::answer(hits, took, offset, limit, total as u64))
}
