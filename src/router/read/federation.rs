//! Federated multi-search: every query runs across all shards as a normal
//! search, and the hits are merged into one list by ranking score times the
//! query's weight, each marked with `_federation` as Meilisearch does.

use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::meili::{federation, MeiliError};
use crate::router::context::Shared;
use crate::router::read::search::run_search_in;
use crate::router::reply::ApiError;

/// One query of the request, ready to run.
struct Query {
    index: String,
    body: Map<String, Value>,
    weight: f64,
    show_score: bool,
}

fn parse(queries: &[Value], fetch: u64) -> Result<Vec<Query>, MeiliError> {
    queries
        .iter()
        .enumerate()
        .map(|(i, q)| {
            let Some(mut body) = q.as_object().cloned() else {
                return Err(MeiliError::invalid(
                    "invalid_multi_search_queries",
                    format!("Invalid value at `.queries[{i}]`: expected an object"),
                ));
            };
            let index = body
                .remove("indexUid")
                .and_then(|u| u.as_str().map(str::to_string))
                .ok_or_else(|| {
                    MeiliError::invalid(
                        "missing_index_uid",
                        format!("Missing field `indexUid` inside `.queries[{i}]`"),
                    )
                })?;
            let weight = body
                .remove("federationOptions")
                .and_then(|o| o.get("weight").and_then(Value::as_f64))
                .unwrap_or(1.0);
            let show_score = body.get("showRankingScore") == Some(&Value::Bool(true));
            // Each query contributes at most the federation's window.
            body.insert("offset".into(), json!(0));
            body.insert("limit".into(), json!(fetch));
            body.insert("showRankingScore".into(), json!(true));
            Ok(Query {
                index,
                body,
                weight,
                show_score,
            })
        })
        .collect()
}

/// The federated answer, and the shards it lacks; or why not.
pub async fn search(
    s: &Shared,
    fed: &Value,
    queries: &[Value],
    tenant: &crate::router::auth::tenant::Tenant,
) -> Result<(Value, Vec<String>), ApiError> {
    let started = Instant::now();
    let (offset, limit) = federation::window(fed)?;
    let parsed = parse(queries, (offset + limit) as u64)?;
    let mut all: Vec<(f64, usize, usize, Value)> = vec![];
    let mut seen = std::collections::HashSet::new();
    let (mut total, mut missing) = (0u64, vec![]);
    let topology = crate::router::read::search::synced_topology(s).await?;
    for (i, q) in parsed.iter().enumerate() {
        let mut body = q.body.clone();
        crate::router::auth::tenant::restrict(tenant, &q.index, &mut body);
        let (answer, gaps) = run_search_in(s, &topology, &q.index, &body).await?;
        missing.extend(gaps);
        total += answer["estimatedTotalHits"].as_u64().unwrap_or(0);
        let hits = answer["hits"].as_array().cloned().unwrap_or_default();
        for (n, mut hit) in hits.into_iter().enumerate() {
            let score = hit["_rankingScore"].as_f64().unwrap_or(0.0);
            if let Some(h) = hit.as_object_mut() {
                if !q.show_score {
                    h.remove("_rankingScore");
                }
            }
            // The same document found by two queries of one index is shown once.
            if !seen.insert((q.index.clone(), hit.to_string())) {
                continue;
            }
            let weighted = score * q.weight;
            hit["_federation"] = json!({
                "indexUid": q.index, "queriesPosition": i, "weightedRankingScore": weighted,
            });
            all.push((weighted, i, n, hit));
        }
    }
    all.sort_by(|a, b| federation::order(&(a.0, a.1, a.2), &(b.0, b.1, b.2)));
    let hits: Vec<Value> = all
        .into_iter()
        .skip(offset)
        .take(limit)
        .map(|h| h.3)
        .collect();
    missing.sort();
    missing.dedup();
    let took = started.elapsed().as_millis() as u64;
    let body = federation::answer(hits, took, offset, limit, total);
    Ok((body, missing))
}
