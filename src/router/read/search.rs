//! One search over every shard of an index, as every search route runs it: the router waits for
//! its first shard maps, orders ties by primary key once known, and applies the index's
//! unavailable-shard policy.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::router::read::scatter::{self, ScatterError};
use crate::router::reply::{shards_unavailable, ApiError};
use crate::router::topology::Topology;
use crate::state::IndexUid;

/// One search over every shard: the merged answer and the shards it lacks, or why not.
pub async fn run_search(
    s: &Shared,
    uid: &str,
    client: &Map<String, Value>,
) -> Result<(Value, Vec<String>), ApiError> {
    run_search_in(s, &synced_topology(s).await?, uid, client).await
}

/// The router's view of the maps, once it has one: a router that just
/// started answers only once it knows the shard maps.
pub async fn synced_topology(s: &Shared) -> Result<Arc<Topology>, ApiError> {
    if !s.cache.wait_synced(std::time::Duration::from_secs(5)).await {
        let msg =
            "This router has not yet received the shard maps from the coordinators; retry shortly.";
        return Err(MeiliError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "miroir_topology_unavailable",
            "system",
            msg.into(),
        )
        .into());
    }
    Ok(s.cache.snapshot())
}

/// As [`run_search`], in the view `topology`: the queries of one
/// multi-search share one view, so none sees an index swap another misses.
pub async fn run_search_in(
    s: &Shared,
    topology: &Arc<Topology>,
    uid: &str,
    client: &Map<String, Value>,
) -> Result<(Value, Vec<String>), ApiError> {
    let topology = topology.clone();
    crate::router::routed_epoch::note(topology.epoch);
    let turn = s.turn.fetch_add(1, Ordering::Relaxed);
    // Ties are ordered by primary key once it is known; a search never waits
    // long for the coordinators to say it (reads must outlive them).
    let pk = async {
        tokio::time::timeout(
            std::time::Duration::from_millis(300),
            crate::router::primary_key::current(&s.control, &s.cache, uid),
        )
        .await
        .ok()
        .and_then(Result::ok)
        .flatten()
    };
    let facts = async {
        match crate::router::read::one_node::some_node_in(&topology, uid) {
            Ok((base, physical)) => s.facts.get(&s.nodes, &base, &physical).await,
            Err(_) => Default::default(),
        }
    };
    let (pk, facts) = futures::join!(pk, facts);
    // A search's own `distinct` wins over the index's setting, as in Meilisearch.
    let distinct = match client.get("distinct") {
        Some(_) => None,
        None => facts.distinct,
    };
    // With every attribute searchable, the search names the client's, so
    // that Miroir's fields (a shard number, a version) never match a query.
    let mut client = client.clone();
    if let (None, Some(fields)) = (client.get("attributesToSearchOn"), facts.search_on) {
        client.insert("attributesToSearchOn".into(), Value::from(fields));
    }
    let client = &client;
    match scatter::search(
        &s.nodes,
        &topology,
        &IndexUid(uid.to_string()),
        client,
        turn,
        scatter::MergeKeys { tie: pk, distinct },
    )
    .await
    {
        Ok(g) if !g.missing.is_empty() && s.lease.fails_on_missing_shards() => {
            let list: Vec<String> = g.missing.iter().map(|s| s.0.to_string()).collect();
            Err(shards_unavailable(uid, &list).into())
        }
        Ok(g) => Ok((g.body, g.missing.iter().map(|s| s.0.to_string()).collect())),
        Err(ScatterError::UnknownIndex(_)) => Err(MeiliError::index_not_found(uid).into()),
        Err(ScatterError::Param(p)) => Err(MeiliError::invalid(p.code, p.message).into()),
        Err(ScatterError::Refused { status, body }) => Err(ApiError::Node { status, body }),
    }
}
