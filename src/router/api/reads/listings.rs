//! Listings that span every shard: documents (with a global offset and
//! limit), index and global stats that count each document once, the index
//! list, and the task list.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use futures::future::join_all;
use serde_json::{json, Map, Value};

use crate::fleet::{with_shards, Page};
use crate::meili::stats_params::StatsParams;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::read::merge::{cmp_hits, strip_reserved, SortRule};
use crate::router::read::plan::plan_read;
use crate::router::reply::{json_object, no_reachable_copy, ApiError};
use crate::router::tasks::lookup::lookup;
use crate::router::tasks::view::view;
use crate::state::IndexUid;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/indexes/{uid}/documents/fetch", post(fetch_documents))
        .route("/indexes/{uid}/stats", get(index_stats))
        .route("/stats", get(global_stats))
        .route("/tasks", get(list_tasks))
}

fn unavailable(uid: &str) -> MeiliError {
    no_reachable_copy(format!(
        "Some shards of index `{uid}` have no reachable node."
    ))
}

/// Primary-key order across nodes: integers before strings, each in its natural order.
fn by_id(a: &Value, b: &Value, pk: &str) -> Ordering {
    match (&a[pk], &b[pk]) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .total_cmp(&y.as_f64().unwrap_or(0.0)),
        (Value::Number(_), _) => Ordering::Less,
        (_, Value::Number(_)) => Ordering::Greater,
        (x, y) => x.as_str().cmp(&y.as_str()),
    }
}

/// Up to this many matching documents, a listing comes in primary-key order
/// (every node is read to the end); beyond it, node by node, each node in its
/// own order, so that a page never costs more than its window on each node.
/// Either way consecutive pages neither overlap nor skip.
pub const SORTED_UP_TO: u64 = 1000;

/// One fetch over every shard, then the client's window taken: see
/// [`SORTED_UP_TO`] for the order.
async fn fetch(s: &Shared, uid: &str, client: Map<String, Value>) -> Result<Value, ApiError> {
    let offset = client.get("offset").and_then(Value::as_u64).unwrap_or(0) as usize;
    let limit = client.get("limit").and_then(Value::as_u64).unwrap_or(20) as usize;
    let window = offset.saturating_add(limit);
    let t = s.cache.snapshot();
    let plan = plan_read(&t, &IndexUid(uid.to_string()), 0, &[], None)
        .ok_or_else(|| MeiliError::index_not_found(uid))?;
    if !plan.unavailable.is_empty() {
        return Err(unavailable(uid).into());
    }
    let pk = crate::router::primary_key::current(&s.control, &s.cache, uid)
        .await?
        .unwrap_or_default();
    let sort: Vec<SortRule> = match client.get("sort") {
        Some(Value::Array(rules)) => rules
            .iter()
            .filter_map(|r| r.as_str().and_then(SortRule::parse))
            .collect(),
        _ => vec![],
    };
    // The primary key and the sort fields are what the merge orders by: each
    // node returns them, and those the client did not ask for are removed.
    let asked: Option<Vec<Value>> = match client.get("fields") {
        Some(Value::Array(f)) if !f.iter().any(|v| v == "*") => Some(f.clone()),
        _ => None,
    };
    let merged_by: Vec<&str> = std::iter::once(pk.as_str())
        .chain(sort.iter().map(|r| r.field.as_str()))
        .collect();
    let fields = asked.as_ref().map(|f| {
        let mut f = f.clone();
        for k in &merged_by {
            if !f.iter().any(|v| v == k) {
                f.push(Value::from(*k));
            }
        }
        Value::Array(f)
    });
    // Nodes in a fixed order (the plan's), so that every page agrees.
    let nodes: Vec<(String, Vec<crate::state::ShardId>)> = plan
        .nodes
        .iter()
        .map(|(n, shards)| (t.nodes[n].address.clone(), shards.clone()))
        .collect();
    let ask = |i: usize, count: usize| {
        let (base, shards) = &nodes[i];
        let mut body = client.clone();
        body.insert("offset".into(), json!(0));
        body.insert("limit".into(), json!(count));
        body.insert("filter".into(), with_shards(client.get("filter"), shards));
        if let Some(f) = &fields {
            body.insert("fields".into(), f.clone());
        }
        let physical = &plan.physical;
        async move {
            let r = s.nodes.fetch_documents(base, physical, body).await;
            part(r, uid, physical)
        }
    };
    let mut parts = vec![];
    for p in join_all((0..nodes.len()).map(|i| ask(i, window))).await {
        parts.push(p?);
    }
    let total: u64 = parts.iter().map(|p| p.total).sum();
    let docs: Vec<Value> = if !sort.is_empty() {
        // Each node sorted its own documents; its first `window` hold
        // whatever of it falls in the window.
        let mut all: Vec<Value> = parts.into_iter().flat_map(|p| p.docs).collect();
        all.sort_by(|a, b| cmp_hits(a, b, &sort, Some(&pk)));
        all.into_iter().skip(offset).take(limit).collect()
    } else if total <= SORTED_UP_TO {
        // Small enough to sort whole: read the rest of any node cut short.
        for (i, p) in parts.iter_mut().enumerate() {
            if (p.docs.len() as u64) < p.total {
                *p = ask(i, p.total as usize).await?;
            }
        }
        let mut all: Vec<Value> = parts.into_iter().flat_map(|p| p.docs).collect();
        all.sort_by(|a, b| by_id(a, b, &pk));
        all.into_iter().skip(offset).take(limit).collect()
    } else {
        node_by_node(parts, offset, window)
    };
    let results: Vec<Value> = docs
        .into_iter()
        .map(|mut d| {
            strip_reserved(&mut d, false);
            if let (Some(asked), Some(o)) = (&asked, d.as_object_mut()) {
                for k in &merged_by {
                    if !asked.iter().any(|v| v == k) {
                        o.remove(*k);
                    }
                }
            }
            d
        })
        .collect();
    Ok(json!({"results": results, "offset": offset, "limit": limit, "total": total}))
}

/// One node's part of a listing (its documents from the start of its shards' order, and how many
/// it holds in all), or the error to give the client: the node's refusal, or the index's shards
/// unavailable.
fn part(
    r: Result<Page, crate::fleet::NodeError>,
    uid: &str,
    physical: &str,
) -> Result<Page, ApiError> {
    match r {
        Ok(page) => Ok(page),
        Err(crate::fleet::NodeError::Refused { status, mut body }) => {
            crate::meili::error::name_client_index(&mut body, physical, uid);
            Err(ApiError::Node { status, body })
        }
        Err(_) => Err(unavailable(uid).into()),
    }
}

/// The window `[offset, window)` of the listing that puts each node's
/// documents after the previous node's. Each part holds its node's first
/// `window` documents, which covers whatever of it falls in the window.
fn node_by_node(parts: Vec<Page>, offset: usize, window: usize) -> Vec<Value> {
    let mut out = vec![];
    let mut start = 0usize;
    for p in parts {
        let total = p.total as usize;
        if start < window && offset < start + total {
            let from = offset.saturating_sub(start);
            let to = (window - start).min(total).min(p.docs.len());
            out.extend(p.docs.into_iter().take(to).skip(from));
        }
        start += total;
    }
    out
}

async fn fetch_documents(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(fetch(&s, &uid, json_object(&body)?).await?))
}

/// `GET /indexes/{uid}/documents`: the query string as a fetch body.
pub async fn list_documents(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let mut client = Map::new();
    for (k, v) in q {
        let value = match k.as_str() {
            "offset" | "limit" => v.parse::<u64>().map(Value::from).unwrap_or(Value::from(v)),
            "retrieveVectors" => v.parse::<bool>().map(Value::from).unwrap_or(Value::from(v)),
            "fields" | "sort" | "ids" => {
                Value::Array(v.split(',').map(|f| Value::from(f.trim())).collect())
            }
            _ => Value::from(v),
        };
        client.insert(k, value);
    }
    Ok(Json(fetch(&s, &uid, client).await?))
}

/// Stats of one index, counting each document once: documents are counted
/// on one replica of each shard (a filtered count). A replica group holds
/// every document exactly RF times, so field counts are its nodes' sums / RF.
async fn stats_of(s: &Shared, uid: &str, shown: StatsParams) -> Result<Value, ApiError> {
    let mut body = Map::new();
    body.insert("limit".into(), json!(0));
    let counted = fetch(s, uid, body).await?;
    let (bases, rf, physical) = {
        let t = s.cache.snapshot();
        let index = IndexUid(uid.to_string());
        let plan = plan_read(&t, &index, 0, &[], None).unwrap_or_default();
        let group = plan
            .nodes
            .keys()
            .next()
            .and_then(|n| t.nodes.get(n))
            .map(|n| n.group);
        let map = t.maps.get(&index);
        let in_group = |n: &&crate::state::NodeId| t.nodes.get(*n).map(|x| x.group) == group;
        let rf = map
            .and_then(|m| m.shards.first())
            .map_or(1, |a| a.writers().filter(in_group).count().max(1));
        let nodes: std::collections::BTreeSet<&crate::state::NodeId> = map
            .map(|m| {
                m.shards
                    .iter()
                    .flat_map(|a| a.writers())
                    .filter(in_group)
                    .collect()
            })
            .unwrap_or_default();
        (
            nodes
                .into_iter()
                .map(|n| t.nodes[n].address.clone())
                .collect::<Vec<_>>(),
            rf as u64,
            match plan.physical.is_empty() {
                true => uid.to_string(),
                false => plan.physical,
            },
        )
    };
    let answers = join_all(bases.iter().map(|b| s.nodes.index_stats(b, &physical))).await;
    let mut fields: Map<String, Value> = Map::new();
    let mut internal: Map<String, Value> = Map::new();
    let mut indexing = false;
    let (mut raw, mut embeddings, mut embedded) = (0u64, 0u64, 0u64);
    for a in answers.into_iter().flatten() {
        indexing |= a["isIndexing"].as_bool().unwrap_or(false);
        raw += a["rawDocumentDbSize"].as_u64().unwrap_or(0);
        embeddings += a["numberOfEmbeddings"].as_u64().unwrap_or(0);
        embedded += a["numberOfEmbeddedDocuments"].as_u64().unwrap_or(0);
        add_counts(&mut internal, &a["internalDatabaseSizes"]);
        for (k, v) in a["fieldDistribution"].as_object().into_iter().flatten() {
            if crate::meili::reserved::is_reserved(k) {
                continue;
            }
            let sum = fields.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
            fields.insert(k.clone(), json!(sum));
        }
    }
    for v in fields.values_mut() {
        *v = json!(v.as_u64().unwrap_or(0) / rf);
    }
    let documents = counted["total"].as_u64().unwrap_or(0);
    let raw = raw / rf;
    let mut out = json!({
        "numberOfDocuments": documents,
        "rawDocumentDbSize": shown.size(raw),
        "avgDocumentSize": shown.size(raw.checked_div(documents).unwrap_or(0)),
        "isIndexing": indexing,
        "numberOfEmbeddings": embeddings / rf,
        "numberOfEmbeddedDocuments": embedded / rf,
        "fieldDistribution": fields,
    });
    if shown.internal_sizes {
        // One replica group's databases, per copy: what one Meilisearch would hold.
        let sizes: Map<String, Value> = internal
            .into_iter()
            .map(|(k, v)| (k, shown.size(v.as_u64().unwrap_or(0) / rf)))
            .collect();
        out["internalDatabaseSizes"] = Value::Object(sizes);
    }
    Ok(out)
}

/// Adds a node's counts (`{name: n}`) into `into`.
fn add_counts(into: &mut Map<String, Value>, from: &Value) {
    for (k, v) in from.as_object().into_iter().flatten() {
        let sum = into.get(k).and_then(Value::as_u64).unwrap_or(0) + v.as_u64().unwrap_or(0);
        into.insert(k.clone(), json!(sum));
    }
}

async fn index_stats(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let shown = StatsParams::parse(&q)?;
    Ok(Json(stats_of(&s, &uid, shown).await?))
}

async fn global_stats(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let shown = StatsParams::parse(&q)?;
    let uids: Vec<String> = s
        .cache
        .snapshot()
        .maps
        .keys()
        .map(|k| k.0.clone())
        .collect();
    let mut indexes = Map::new();
    for uid in uids {
        let stats = stats_of(&s, &uid, shown).await?;
        indexes.insert(uid, stats);
    }
    // Disk use is the fleet's (every copy takes space); the last update is the latest any node saw.
    let bases: Vec<String> = s
        .cache
        .snapshot()
        .nodes
        .values()
        .map(|n| n.address.clone())
        .collect();
    let answers = join_all(bases.iter().map(|b| s.nodes.node_stats(b))).await;
    let (mut size, mut used, mut last): (u64, u64, Option<String>) = (0, 0, None);
    for a in answers.into_iter().flatten() {
        size += a["databaseSize"].as_u64().unwrap_or(0);
        used += a["usedDatabaseSize"].as_u64().unwrap_or(0);
        if let Some(t) = a["lastUpdate"].as_str() {
            // RFC 3339 in UTC with fixed-width fields sorts as text.
            if last.as_deref().is_none_or(|l| l < t) {
                last = Some(t.to_string());
            }
        }
    }
    Ok(Json(
        json!({"databaseSize": shown.size(size), "usedDatabaseSize": shown.size(used), "lastUpdate": last, "indexes": indexes}),
    ))
}

/// `GET /tasks` with Meilisearch's filters (uids, batchUids, statuses, types,
/// indexUids, canceledBy, dates), newest first, paged by `from` and `limit`.
async fn list_tasks(
    State(s): State<Arc<Shared>>,
    Query(q): Query<Vec<(String, String)>>,
) -> Result<Json<Value>, ApiError> {
    let w = writer(&s);
    let (found, limit) = crate::router::tasks::filter::listed(&w, &q).await?;
    let mut results = vec![];
    for t in &found.tasks {
        results.push(shown(&w, t).await);
    }
    Ok(Json(
        json!({"results": results, "total": found.total, "limit": limit, "from": found.tasks.first().map(|t| t.uid), "next": found.next}),
    ))
}

/// A listed task as clients see it: an unfinished one brought up to date
/// from its node tasks.
pub(in crate::router) async fn shown(
    w: &crate::router::write::writer::Writer<'_>,
    t: &crate::state::TaskRecord,
) -> Value {
    match t.status.is_final() {
        true => view(t),
        false => lookup(w, t.uid).await.unwrap_or_else(|_| view(t)),
    }
}

#[cfg(test)]
mod paging_tests {
    use super::*;

    /// Pages of any size over nodes of any sizes list every document once,
    /// in node order.
    #[test]
    fn node_by_node_pages_neither_overlap_nor_skip() {
        let sizes = [5usize, 0, 7, 3, 1];
        let all: Vec<Value> = sizes
            .iter()
            .enumerate()
            .flat_map(|(n, &k)| (0..k).map(move |i| json!(format!("n{n}-{i}"))))
            .collect();
        for page in 1..=9 {
            let mut listed = vec![];
            let mut offset = 0;
            while offset < all.len() + page {
                let window = offset + page;
                let parts = sizes
                    .iter()
                    .enumerate()
                    .map(|(n, &k)| Page {
                        docs: (0..k.min(window))
                            .map(|i| json!(format!("n{n}-{i}")))
                            .collect(),
                        total: k as u64,
                    })
                    .collect();
                let got = node_by_node(parts, offset, window);
                assert!(got.len() <= page);
                listed.extend(got);
                offset += page;
            }
            assert_eq!(listed, all, "pages of {page}");
        }
    }
}
