//! Document payloads as Meilisearch reads them: a JSON array or object,
//! NDJSON, or CSV with typed headers, with Meilisearch's error messages.

use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::meili::error::MeiliError;

/// One document: a JSON object.
pub type Document = Map<String, Value>;

const ACCEPTED: &str =
    "Accepted values for the Content-Type header are: `application/json`, `application/x-ndjson`, `text/csv`";

/// Parses a document payload according to its content type; a CSV delimiter is
/// taken only with `text/csv`, as in Meilisearch.
pub fn documents(
    bytes: &[u8],
    content_type: Option<&str>,
    csv_delimiter: Option<u8>,
) -> Result<Vec<Document>, MeiliError> {
    let unsupported = |code: &'static str, message: String| {
        let mut e = MeiliError::invalid(code, message);
        e.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        e
    };
    let Some(ct) = content_type else {
        return Err(unsupported(
            "missing_content_type",
            format!("A Content-Type header is missing. {ACCEPTED}"),
        ));
    };
    let format = if ct.starts_with("application/json") {
        "json"
    } else if ct.starts_with("application/x-ndjson") {
        "ndjson"
    } else if ct.starts_with("text/csv") {
        "csv"
    } else {
        return Err(unsupported(
            "invalid_content_type",
            format!("The Content-Type `{ct}` is invalid. {ACCEPTED}"),
        ));
    };
    if csv_delimiter.is_some() && format != "csv" {
        let named = if format == "json" {
            "application/json"
        } else {
            "application/x-ndjson"
        };
        return Err(unsupported(
            "invalid_content_type",
            format!("The Content-Type `{named}` does not support the use of a csv delimiter. The csv delimiter can only be used with the Content-Type `text/csv`."),
        ));
    }
    let csv_delimiter = csv_delimiter.unwrap_or(b',');
    if bytes.iter().all(u8::is_ascii_whitespace) {
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
        "json" if bytes.trim_ascii_start().starts_with(b"[") => {
            serde_json::from_slice::<Vec<Document>>(bytes).map_err(|e| json_error(bytes, e))
        }
        "json" => Ok(vec![
            serde_json::from_slice::<Document>(bytes).map_err(|e| json_error(bytes, e))?
        ]),
        "ndjson" => {
            let text = String::from_utf8_lossy(bytes);
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .map(|l| object(serde_json::from_str(l).map_err(|e| json_error(l.as_bytes(), e))?))
                .collect()
        }
        _ => parse_csv(&String::from_utf8_lossy(bytes), csv_delimiter as char)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_payload(b: (&str, &str), delimiter: u8) -> Result<Vec<Document>, MeiliError> {
        let delimiter = (b.0 == "text/csv").then_some(delimiter);
        documents(b.1.as_bytes(), Some(b.0), delimiter)
    }

    fn body<'a>(ct: &'a str, text: &'a str) -> (&'a str, &'a str) {
        (ct, text)
    }

    /// JSON, NDJSON and CSV payloads give the same documents; malformed JSON is reported as Meilisearch does.
    #[test]
    fn payload_formats() {
        let json = parse_payload(body("application/json", r#"[{"id": 1, "n": 2.5}]"#), b',');
        let nd = parse_payload(
            body("application/x-ndjson", "{\"id\": 1, \"n\": 2.5}\n"),
            b',',
        );
        let csv = parse_payload(body("text/csv", "id:number,n:number\n1,2.5\n"), b',');
        assert_eq!(json.as_ref().ok(), nd.as_ref().ok());
        assert_eq!(json.as_ref().ok(), csv.as_ref().ok());
        let err = parse_payload(body("application/json", "[{\"id\": 1,"), b',').err();
        assert_eq!(
            err.map(|e| e.message),
            Some("The `json` payload provided is malformed. `Couldn't serialize document value: EOF while parsing an object at line 1 column 10`.".into())
        );
        let single = parse_payload(body("application/json", r#"{"id": "x"}"#), b',');
        assert_eq!(single.map(|d| d.len()).ok(), Some(1));
    }

    /// Recorded from Meilisearch 1.50: no content type, and a delimiter with JSON.
    #[test]
    fn content_types_are_checked_as_meilisearch_does() {
        let e = documents(b"[]", None, None).unwrap_err();
        assert_eq!((e.code, e.status.as_u16()), ("missing_content_type", 415));
        assert_eq!(e.message, "A Content-Type header is missing. Accepted values for the Content-Type header are: `application/json`, `application/x-ndjson`, `text/csv`");
        let e = documents(b"[]", Some("application/json"), Some(b';')).unwrap_err();
        assert_eq!(e.code, "invalid_content_type");
        assert_eq!(e.message, "The Content-Type `application/json` does not support the use of a csv delimiter. The csv delimiter can only be used with the Content-Type `text/csv`.");
    }
}
