//! Document routes: additions and partial updates (JSON, NDJSON, CSV), listing and fetching with
//! filters, and deletion by id, by batch, by filter, or all.

use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Value};

use crate::devnode::filter;
use crate::devnode::http::indexes::{paging, valid_uid};
use crate::devnode::node::{Answer, Body, Shared};
use crate::devnode::store::TaskOp;
use crate::devnode::store::{project, Document};
use crate::meili::error::{wrong_type, MeiliError};
use crate::meili::payload;

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

async fn add(
    node: Shared,
    headers: HeaderMap,
    uid: String,
    params: Vec<(String, String)>,
    body: Body,
    merge: bool,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.add", Some(&uid))?;
    let query = crate::meili::document_params::DocumentsWrite::parse(&params)?;
    let documents = payload::documents(
        &body.bytes,
        body.content_type.as_deref(),
        query.csv_delimiter,
    )?;
    Ok(node.enqueue(
        &uid,
        TaskOp::DocumentAddition {
            documents,
            primary_key: query.primary_key,
            merge,
            skip_creation: query.skip_creation,
        },
        // Routers keep customMetadata on their own tasks and never send it.
        None,
    ))
}

pub async fn replace(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    body: Body,
) -> Answer {
    add(node, headers, uid, params, body, false).await
}

pub async fn update(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
    body: Body,
) -> Answer {
    add(node, headers, uid, params, body, true).await
}

/// What `GET /documents` and `POST /documents/fetch` both ask for.
struct Listing {
    offset: usize,
    limit: usize,
    fields: Option<Vec<String>>,
    filter: Value,
    ids: Option<Vec<String>>,
    sort: Vec<String>,
}

/// Listing shared by `GET /documents` and `POST /documents/fetch`.
fn listing(node: &Shared, uid: &str, l: Listing) -> Answer {
    let Listing {
        offset,
        limit,
        fields,
        filter,
        ids,
        sort,
    } = l;
    let state = node.lock();
    let index = state.store.index(uid)?;
    let keys = crate::devnode::search::sort::document_sort_keys(index, &sort)?;
    let parsed = filter::parse_value(
        &filter,
        "invalid_document_filter",
        Some(&index.filterable()),
    )?;
    let mut matching: Vec<&Document> = index
        .documents()
        .map(|(_, d)| d)
        .filter(|d| parsed.as_ref().is_none_or(|f| f.matches(d)))
        .filter(|d| {
            ids.as_ref().is_none_or(|ids| {
                let pk = index.primary_key.as_deref().unwrap_or("id");
                d.get(pk)
                    .and_then(|v| crate::meili::primary_key::document_id(v).ok())
                    .is_some_and(|id| ids.contains(&id))
            })
        })
        .collect();
    // A stable sort: equal documents keep their insertion order, as in Meilisearch.
    matching.sort_by(|a, b| {
        keys.iter().fold(std::cmp::Ordering::Equal, |o, (f, asc)| {
            o.then_with(|| crate::devnode::search::sort::compare_field(a, b, f, *asc))
        })
    });
    let results: Vec<Value> = matching
        .iter()
        .skip(offset)
        .take(limit)
        .map(|d| Value::Object(project(d, fields.as_deref())))
        .collect();
    Ok(
        Json(
            json!({"results": results, "offset": offset, "limit": limit, "total": matching.len()}),
        )
        .into_response(),
    )
}

fn csv_list(v: Option<&str>) -> Option<Vec<String>> {
    v.map(|s| {
        s.split(',')
            .map(|x| x.trim().to_string())
            .filter(|x| !x.is_empty())
            .collect()
    })
}

pub async fn list(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.get", Some(&uid))?;
    let (offset, limit) = paging(
        &params,
        ("invalid_document_offset", "invalid_document_limit"),
    )?;
    let filter = param(&params, "filter")
        .map(|f| Value::String(f.into()))
        .unwrap_or(Value::Null);
    let ids = csv_list(param(&params, "ids"));
    let sort = csv_list(param(&params, "sort")).unwrap_or_default();
    listing(
        &node,
        &uid,
        Listing {
            offset,
            limit,
            fields: csv_list(param(&params, "fields")),
            filter,
            ids,
            sort,
        },
    )
}

pub async fn fetch(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.get", Some(&uid))?;
    let body = body.json()?;
    let Value::Object(obj) = &body else {
        return Err(wrong_type("bad_request", "", "an object", &body));
    };
    let mut offset = 0;
    let mut limit = 20;
    let mut fields = None;
    let mut ids = None;
    let mut sort = vec![];
    for (k, v) in obj {
        let uint = |code| {
            v.as_u64()
                .map(|n| n as usize)
                .ok_or_else(|| wrong_type(code, &format!(".{k}"), "a positive integer", v))
        };
        let strings = |code| -> Result<Option<Vec<String>>, MeiliError> {
            match v {
                Value::Null => Ok(None),
                Value::Array(a) => Ok(Some(
                    a.iter()
                        .map(|x| {
                            x.as_str()
                                .map(String::from)
                                .unwrap_or_else(|| x.to_string())
                        })
                        .collect(),
                )),
                _ => Err(wrong_type(code, &format!(".{k}"), "an array", v)),
            }
        };
        match k.as_str() {
            "offset" => offset = uint("invalid_document_offset")?,
            "limit" => limit = uint("invalid_document_limit")?,
            "fields" => fields = strings("invalid_document_fields")?,
            "ids" => ids = strings("invalid_document_ids")?,
            "sort" => sort = strings("invalid_document_sort")?.unwrap_or_default(),
            "filter" | "retrieveVectors" => {}
            other => {
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{other}`: expected one of `offset`, `limit`, `fields`, `retrieveVectors`, `ids`, `filter`, `sort`"
                )))
            }
        }
    }
    let filter = obj.get("filter").cloned().unwrap_or(Value::Null);
    let l = Listing {
        offset,
        limit,
        fields,
        filter,
        ids,
        sort,
    };
    listing(&node, &uid, l)
}

pub async fn get_one(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path((uid, id)): Path<(String, String)>,
    Query(params): Query<Vec<(String, String)>>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.get", Some(&uid))?;
    let state = node.lock();
    let index = state.store.index(&uid)?;
    let doc = index
        .get(&id)
        .ok_or_else(|| MeiliError::document_not_found(&id))?;
    let fields = csv_list(param(&params, "fields"));
    Ok(Json(Value::Object(project(doc, fields.as_deref()))).into_response())
}

pub async fn delete_one(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path((uid, id)): Path<(String, String)>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.delete", Some(&uid))?;
    Ok(node.enqueue(&uid, TaskOp::DocumentDeletionByIds(vec![id]), None))
}

pub async fn delete_batch(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.delete", Some(&uid))?;
    let body = body.json()?;
    let Value::Array(items) = &body else {
        return Err(wrong_type("bad_request", "", "an array", &body));
    };
    let ids: Vec<String> = items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(wrong_type(
                "bad_request",
                "",
                "a string or an integer",
                other,
            )),
        })
        .collect::<Result<_, _>>()?;
    Ok(node.enqueue(&uid, TaskOp::DocumentDeletionByIds(ids), None))
}

pub async fn delete_by_filter(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    body: Body,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.delete", Some(&uid))?;
    let body = body.json()?;
    let filter = match body.get("filter") {
        Some(f) if !f.is_null() => f.clone(),
        _ => {
            return Err(MeiliError::invalid(
                "missing_document_filter",
                "Missing field `filter`",
            ))
        }
    };
    // Syntax is checked now; whether the attributes are filterable is checked when the task runs.
    filter::parse_value(&filter, "invalid_document_filter", None)?;
    Ok(node.enqueue(&uid, TaskOp::DocumentDeletionByFilter(filter), None))
}

pub async fn clear(
    State(node): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Answer {
    valid_uid(&uid)?;
    node.authorize(&headers, "documents.delete", Some(&uid))?;
    Ok(node.enqueue(&uid, TaskOp::DocumentClear, None))
}
