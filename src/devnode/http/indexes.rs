//! Index routes: lifecycle, stats, settings (whole and per setting), search, facet search and
//! multi-search.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use crate::devnode::node::{Answer, Body, Shared};
use crate::devnode::search::facets;
use crate::devnode::search::query;
use crate::devnode::search::results;
use crate::devnode::settings;
use crate::devnode::store::TaskOp;
use crate::meili::error::{wrong_type, MeiliError};
use crate::meili::params::number;

/// Index uids: an integer or a string of a-zA-Z0-9-_ up to 512 bytes.
pub fn valid_uid(uid: &str) -> Result<(), MeiliError> {
    let ok = !uid.is_empty()
        && uid.len() <= 512
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(MeiliError::invalid_index_uid(uid))
    }
}

/// `offset` and `limit` query parameters (defaults 0 and 20), with the route's error codes.
pub fn paging(
    params: &[(String, String)],
    codes: (&'static str, &'static str),
) -> Result<(usize, usize), MeiliError> {
    let get = |name: &str, code: &'static str, default: usize| -> Result<usize, MeiliError> {
        Ok(number(params, name, code)?.map_or(default, |n| n as usize))
    };
    Ok((get("offset", codes.0, 0)?, get("limit", codes.1, 20)?))
}

pub async fn list(
    State(node): State<Shared>,
    headers: HeaderMap,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    node.authorize(&headers, "indexes.get", None)?;
    let (offset, limit) = paging(&params, ("invalid_index_offset", "invalid_index_limit"))?;
    let state = node.lock();
    let all: Vec<Value> = state.store.indexes.values().map(|i| i.to_json()).collect();
    let total = all.len();
    let results: Vec<Value> = all.into_iter().skip(offset).take(limit).collect();
    Ok(
        Json(json!({"results": results, "offset": offset, "limit": limit, "total": total}))
            .into_response(),
    )
}

pub async fn create(State(node): State<Shared>, headers: HeaderMap, body: Body) -> Answer {
    let body = body.json()?;
    let Value::Object(obj) = &body else {
        return Err(wrong_type("bad_request", "", "an object", &body));
    };
    if let Some(k) = obj.keys().find(|k| *k != "uid" && *k != "primaryKey") {
        return Err(MeiliError::bad_request(format!(
            "Unknown field `{k}`: expected one of `uid`, `primaryKey`"
        )));
    }
    let uid = match obj.get("uid") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(wrong_type("invalid_index_uid", ".uid", "a string", other)),
        None => {
            return Err(MeiliError::invalid(
                "missing_index_uid",
                "Missing field `uid`",
            ))
        }
    };
    valid_uid(&uid).map_err(|mut e| {
        e.message = format!("Invalid value at `.uid`: {}", e.message);
        e
    })?;
    let primary_key = match obj.get("primaryKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(wrong_type(
                "invalid_index_primary_key",
                ".primaryKey",
                "a string",
                other,
            ))
        }
    };
    node.authorize(&headers, "indexes.create", Some(&uid))?;
    Ok(node.enqueue(&uid, TaskOp::IndexCreation { primary_key }, None))
}

pub async fn get_one(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "indexes.get", Some(&uid))?;
    let state = node.lock();
    Ok(Json(state.store.index(&uid)?.to_json()).into_response())
}

pub async fn update(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "indexes.update", Some(&uid))?;
    let body = body.json()?;
    let primary_key = match body.get("primaryKey") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(wrong_type(
                "invalid_index_primary_key",
                ".primaryKey",
                "a string",
                other,
            ))
        }
    };
    Ok(node.enqueue(&uid, TaskOp::IndexUpdate { primary_key }, None))
}

pub async fn delete(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "indexes.delete", Some(&uid))?;
    Ok(node.enqueue(&uid, TaskOp::IndexDeletion, None))
}

pub async fn stats(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "stats.get", Some(&uid))?;
    let state = node.lock();
    let indexing = state.tasks.is_indexing(&uid);
    Ok(Json(state.store.index(&uid)?.stats(indexing)).into_response())
}

pub async fn get_settings(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "settings.get", Some(&uid))?;
    let state = node.lock();
    Ok(Json(Value::Object(state.store.index(&uid)?.settings.clone())).into_response())
}

pub async fn update_settings(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "settings.update", Some(&uid))?;
    let patch = settings::validate_patch(&body.json()?)?;
    Ok(node.enqueue(&uid, TaskOp::SettingsUpdate(patch.clone()), Some(patch)))
}

pub async fn reset_settings(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "settings.update", Some(&uid))?;
    let details = settings::reset_details();
    let patch: Map<String, Value> = details.keys().map(|k| (k.clone(), Value::Null)).collect();
    Ok(node.enqueue(&uid, TaskOp::SettingsUpdate(patch), Some(details)))
}

fn setting_name(name: &str) -> Result<&'static str, MeiliError> {
    settings::from_route(name)
        .ok_or_else(|| MeiliError::bad_request(format!("Unknown setting `{name}`.")))
}

pub async fn get_setting(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path((uid, name)): Path<(String, String)>,
) -> Answer {
    valid_uid(&uid)?;
    let name = setting_name(&name)?;
    node.authorize(&headers, "settings.get", Some(&uid))?;
    let state = node.lock();
    Ok(Json(
        state
            .store
            .index(&uid)?
            .settings
            .get(name)
            .cloned()
            .unwrap_or(Value::Null),
    )
    .into_response())
}

pub async fn update_setting(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path((uid, name)): Path<(String, String)>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    let name = setting_name(&name)?;
    node.authorize(&headers, "settings.update", Some(&uid))?;
    let value = settings::validate_one(name, &body.json()?)?;
    let patch: Map<String, Value> = [(name.to_string(), value)].into_iter().collect();
    Ok(node.enqueue(&uid, TaskOp::SettingsUpdate(patch.clone()), Some(patch)))
}

pub async fn reset_setting(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path((uid, name)): Path<(String, String)>,
) -> Answer {
    valid_uid(&uid)?;
    let name = setting_name(&name)?;
    node.authorize(&headers, "settings.update", Some(&uid))?;
    let patch: Map<String, Value> = [(name.to_string(), Value::Null)].into_iter().collect();
    let details: Map<String, Value> = [(name.to_string(), settings::reset_value(name))]
        .into_iter()
        .collect();
    Ok(node.enqueue(&uid, TaskOp::SettingsUpdate(patch), Some(details)))
}

pub async fn search_post(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "search", Some(&uid))?;
    let q = query::parse(&body.json()?, "", false)?;
    let state = node.lock();
    Ok(Json(results::search(&state.store, &uid, &q)?).into_response())
}

pub async fn search_get(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "search", Some(&uid))?;
    let q = query::parse(
        &crate::meili::search_params::from_params(&params)?,
        "",
        false,
    )?;
    let state = node.lock();
    Ok(Json(results::search(&state.store, &uid, &q)?).into_response())
}

pub async fn facet_search(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "search", Some(&uid))?;
    let body = body.json()?;
    let state = node.lock();
    Ok(Json(facets::facet_search(state.store.index(&uid)?, &body)?).into_response())
}

pub async fn fields(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "fields.post", Some(&uid))?;
    let body = body.json()?;
    let state = node.lock();
    let index = state.store.index(&uid)?;
    Ok(Json(crate::devnode::fields::list_fields(index, &body)?).into_response())
}

pub async fn multi_search(State(node): State<Shared>, headers: HeaderMap, body: Body) -> Answer {
    let body = body.json()?;
    // Authorize before taking the lock: `authorize` locks the state itself.
    let mut uids = Vec::new();
    for q in body
        .get("queries")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(uid) = q.get("indexUid").and_then(Value::as_str) {
            uids.push(uid.to_string());
        }
    }
    if uids.is_empty() {
        node.authorize(&headers, "search", None)?;
    }
    let denied: Vec<(String, MeiliError)> = uids
        .iter()
        .filter_map(|u| {
            node.authorize(&headers, "search", Some(u))
                .err()
                .map(|e| (u.clone(), e))
        })
        .collect();
    let state = node.lock();
    let answer = results::multi_search(&state.store, &body, |uid| {
        match denied.iter().find(|(u, _)| u == uid) {
            Some((_, e)) => Err(e.clone()),
            None => Ok(()),
        }
    })?;
    Ok(Json(answer).into_response())
}

/// `POST /indexes/{uid}/compact`.
pub async fn compact(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "indexes.compact", Some(&uid))?;
    Ok(node.enqueue(&uid, TaskOp::Compaction, None))
}
