//! Document routes: additions and partial updates (JSON, NDJSON, CSV), listing and fetching with
//! filters, and deletion by id, by batch, by filter, or all.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde_json::{json, Map, Value};

use super::filter;
use super::indexes::{paging, valid_uid};
use super::server::{Answer, Body, Shared};
use super::store::{project, Document};
use super::tasks::TaskOp;
use crate::meili::error::{wrong_type, MeiliError};

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses a document payload according to its content type.
fn parse_payload(body: &Body, csv_delimiter: u8) -> Result<Vec<Document>, MeiliError> {
    let ct = body.content_type.as_deref().unwrap_or("application/json");
    let format = if ct.starts_with("application/json") {
        "json"
    } else if ct.starts_with("application/x-ndjson") {
        "ndjson"
    } else if ct.starts_with("text/csv") {
        "csv"
    } else {
        let mut e = MeiliError::invalid(
            "invalid_content_type",
            format!("The Content-Type `{ct}` is invalid. Accepted values for the Content-Type header are: `application/json`, `application/x-ndjson`, `text/csv`"),
        );
        e.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return Err(e);
    };
    if body.bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(MeiliError::invalid(
            "missing_payload",
            format!("A {format} payload is missing."),
        ));
    }
    let malformed = |e: &dyn std::fmt::Display| {
        MeiliError::malformed(format, format!("Couldn't serialize document value: {e}"))
    };
    let json_error = |text: &[u8], e: serde_json::Error| malformed(&json_message(text, &e));
    let object = |v: Value| match v {
        Value::Object(m) => Ok(m),
        other => Err(malformed(&format!(
            "invalid type: {}, expected a map",
            crate::meili::error::type_name(&other)
        ))),
    };
    match format {
        // Typed parsing words errors as Meilisearch does ("EOF while parsing an object").
        "json" if body.bytes.trim_ascii_start().starts_with(b"[") => {
            serde_json::from_slice::<Vec<Document>>(&body.bytes)
                .map_err(|e| json_error(&body.bytes, e))
        }
        "json" => Ok(vec![serde_json::from_slice::<Document>(&body.bytes)
            .map_err(|e| json_error(&body.bytes, e))?]),
        "ndjson" => {
            let text = String::from_utf8_lossy(&body.bytes);
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| object(serde_json::from_str(l).map_err(|e| json_error(l.as_bytes(), e))?))
                .collect()
        }
        _ => parse_csv(&String::from_utf8_lossy(&body.bytes), csv_delimiter as char)
            .map_err(|e| malformed(&e)),
    }
}

/// serde_json's message, except that a truncated payload names the innermost open container,
/// as Meilisearch's streaming parser does ("EOF while parsing an object").
fn json_message(text: &[u8], e: &serde_json::Error) -> String {
    if !e.is_eof() {
        return e.to_string();
    }
    let (mut open, mut in_string, mut escaped) = (Vec::new(), false, false);
    for &b in text {
        match (in_string, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_string = false,
            (true, ..) => {}
            (false, _, b'"') => in_string = true,
            (false, _, b'{' | b'[') => open.push(b),
            (false, _, b'}' | b']') => {
                open.pop();
            }
            _ => {}
        }
    }
    let what = match open.last() {
        _ if in_string => "a string",
        Some(b'{') => "an object",
        Some(_) => "a list",
        None => "a value",
    };
    format!(
        "EOF while parsing {what} at line {} column {}",
        e.line(),
        e.column()
    )
}

/// CSV with a header row; a header `name:number` or `name:boolean` types its column.
fn parse_csv(text: &str, delimiter: char) -> Result<Vec<Document>, String> {
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted, mut chars) =
        (Vec::new(), String::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (c, false) if c == delimiter => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    let mut rows = rows
        .into_iter()
        .filter(|r| !(r.len() == 1 && r[0].is_empty()));
    let header: Vec<(String, String)> = rows
        .next()
        .ok_or("the CSV has no header")?
        .into_iter()
        .map(|h| match h.rsplit_once(':') {
            Some((n, t @ ("string" | "number" | "boolean"))) => (n.to_string(), t.to_string()),
            _ => (h, "string".to_string()),
        })
        .collect();
    rows.enumerate()
        .map(|(line, r)| {
            let mut doc = Map::new();
            for ((name, kind), raw) in header.iter().zip(r) {
                let v = match kind.as_str() {
                    _ if raw.is_empty() => Value::Null,
                    "number" => raw
                        .parse::<i64>()
                        .map(Value::from)
                        .or_else(|_| raw.parse::<f64>().map(Value::from))
                        .map_err(|_| {
                            format!(
                                "invalid number `{raw}` in column `{name}` at line {}",
                                line + 2
                            )
                        })?,
                    "boolean" => Value::Bool(raw.eq_ignore_ascii_case("true")),
                    _ => Value::String(raw),
                };
                doc.insert(name.clone(), v);
            }
            Ok(doc)
        })
        .collect()
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
    let delimiter = param(&params, "csvDelimiter")
        .and_then(|d| d.bytes().next())
        .unwrap_or(b',');
    let documents = parse_payload(&body, delimiter)?;
    let primary_key = param(&params, "primaryKey").map(String::from);
    Ok(node.enqueue(
        &uid,
        TaskOp::DocumentAddition {
            documents,
            primary_key,
            merge,
        },
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

/// Listing shared by `GET /documents` and `POST /documents/fetch`.
fn listing(
    node: &Shared,
    uid: &str,
    offset: usize,
    limit: usize,
    fields: Option<Vec<String>>,
    filter: &Value,
    ids: Option<Vec<String>>,
) -> Answer {
    let state = node.lock();
    let index = state.store.index(uid)?;
    let parsed = filter::parse_value(filter, "invalid_document_filter", Some(&index.filterable()))?;
    let matching: Vec<&Document> = index
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
    listing(
        &node,
        &uid,
        offset,
        limit,
        csv_list(param(&params, "fields")),
        &filter,
        ids,
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
            "filter" | "retrieveVectors" | "sort" => {}
            other => {
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{other}`: expected one of `offset`, `limit`, `fields`, `retrieveVectors`, `ids`, `filter`, `sort`"
                )))
            }
        }
    }
    let filter = obj.get("filter").cloned().unwrap_or(Value::Null);
    listing(&node, &uid, offset, limit, fields, &filter, ids)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn body(ct: &str, text: &str) -> Body {
        Body {
            bytes: text.as_bytes().to_vec(),
            content_type: Some(ct.into()),
        }
    }

    /// JSON, NDJSON and CSV payloads give the same documents; malformed JSON is reported as Meilisearch does.
    #[test]
    fn payload_formats() {
        let json = parse_payload(&body("application/json", r#"[{"id": 1, "n": 2.5}]"#), b',');
        let nd = parse_payload(
            &body("application/x-ndjson", "{\"id\": 1, \"n\": 2.5}\n"),
            b',',
        );
        let csv = parse_payload(&body("text/csv", "id:number,n:number\n1,2.5\n"), b',');
        assert_eq!(json.as_ref().ok(), nd.as_ref().ok());
        assert_eq!(json.as_ref().ok(), csv.as_ref().ok());
        let err = parse_payload(&body("application/json", "[{\"id\": 1,"), b',').err();
        assert_eq!(
            err.map(|e| e.message),
            Some("The `json` payload provided is malformed. `Couldn't serialize document value: EOF while parsing an object at line 1 column 10`.".into())
        );
        let single = parse_payload(&body("application/json", r#"{"id": "x"}"#), b',');
        assert_eq!(single.map(|d| d.len()).ok(), Some(1));
    }
}
