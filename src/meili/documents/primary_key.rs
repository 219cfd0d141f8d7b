//! Primary keys: Meilisearch's inference rule and its document id validation.

use serde_json::{Map, Value};

use crate::meili::error::MeiliError;

/// Meilisearch's rule: the one attribute of the first document whose name ends in `id`, case-insensitive.
pub fn infer(first: &Map<String, Value>) -> Result<String, MeiliError> {
    let candidates: Vec<&String> = first
        .keys()
        .filter(|k| k.to_lowercase().ends_with("id"))
        .collect();
    match candidates.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(MeiliError::invalid(
            "index_primary_key_no_candidate_found",
            "The primary key inference failed as the engine did not find any field ending with `id` in its name. Please specify the primary key manually using the `primaryKey` query parameter.",
        )),
        [a, b, ..] => Err(MeiliError::invalid(
            "index_primary_key_multiple_candidates_found",
            format!(
                "The primary key inference failed as the engine found {} fields ending with `id` in their names: '{a}' and '{b}'. Please specify the primary key manually using the `primaryKey` query parameter.",
                candidates.len()
            ),
        )),
    }
}

/// The canonical form of a document id (integers as decimal text), or `invalid_document_id`.
pub fn document_id(value: &Value) -> Result<String, MeiliError> {
    let id = match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => return Ok(n.to_string()),
        Value::String(s) if valid_id_str(s) => s.clone(),
        _ => {
            return Err(MeiliError::invalid(
                "invalid_document_id",
                format!("Document identifier `{value}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes."),
            ))
        }
    };
    Ok(id)
}

/// An id as it appears in a URL path or a delete-batch list (no JSON quoting).
pub fn valid_id_str(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 511
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The id of `doc` under `primary_key`, or `missing_document_id` / `invalid_document_id`.
pub fn extract(doc: &Map<String, Value>, primary_key: &str) -> Result<String, MeiliError> {
    match doc.get(primary_key) {
        Some(v) => document_id(v),
        None => Err(MeiliError::invalid(
            "missing_document_id",
            format!(
                "Document doesn't have a `{primary_key}` attribute: `{}`.",
                Value::Object(doc.clone())
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    /// A single attribute ending in `id` (any case) is the key; none or several is an error.
    #[test]
    fn inference_follows_meilisearch_rule() {
        assert_eq!(
            infer(&obj(json!({"book_id": 1, "title": "x"}))).ok(),
            Some("book_id".into())
        );
        assert_eq!(infer(&obj(json!({"ID": 1}))).ok(), Some("ID".into()));
        assert_eq!(
            infer(&obj(json!({"name": "x"}))).err().map(|e| e.code),
            Some("index_primary_key_no_candidate_found")
        );
        let err = infer(&obj(json!({"a_id": 1, "b_id": 2}))).err();
        assert_eq!(
            err.as_ref().map(|e| e.code),
            Some("index_primary_key_multiple_candidates_found")
        );
        assert!(err.is_some_and(
            |e| e.message.contains("found 2 fields") && e.message.contains("'a_id' and 'b_id'")
        ));
    }

    /// Integers and strings of a-zA-Z0-9-_ up to 511 bytes are ids; integers and their text are the same id.
    #[test]
    fn ids_are_validated() {
        assert_eq!(document_id(&json!(42)).ok(), Some("42".into()));
        assert_eq!(document_id(&json!("42")).ok(), Some("42".into()));
        assert_eq!(document_id(&json!("a-11_B")).ok(), Some("a-11_B".into()));
        for bad in [
            json!("has space"),
            json!(1.5),
            json!(""),
            json!(null),
            json!("x".repeat(512)),
        ] {
            assert_eq!(
                document_id(&bad).err().map(|e| e.code),
                Some("invalid_document_id"),
                "{bad}"
            );
        }
        assert!(document_id(&json!("x".repeat(511))).is_ok());
        let msg = document_id(&json!("has space"))
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(msg.starts_with("Document identifier `\"has space\"` is invalid."));
    }

    /// A missing key quotes the document in compact JSON.
    #[test]
    fn missing_key_quotes_document() {
        let err = extract(&obj(json!({"title": "no id"})), "id").err();
        assert_eq!(
            err.map(|e| e.message),
            Some("Document doesn't have a `id` attribute: `{\"title\":\"no id\"}`.".into())
        );
    }
}
