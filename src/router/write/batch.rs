//! Turning a client's batch of documents into per-shard documents: every
//! primary key is checked before any node is touched, client documents may
//! not carry Miroir's reserved fields, and each document gets its shard.

use serde_json::{Map, Value};

use crate::meili::primary_key::valid_id_str;
use crate::meili::reserved::{is_reserved, SHARD_FIELD, VERSION_FIELD};
use crate::placement::{shard_for_key, PrimaryKeyValue};
use crate::state::{ShardId, Version};

/// Why a batch was refused; nothing of it reaches any node.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BatchError {
    #[error("Document doesn't have a `{primary_key}` attribute: `{document}`.")]
    MissingId {
        primary_key: String,
        document: String,
    },
    #[error("Document identifier `{0}` is invalid. A document identifier can be of type integer or string, only composed of alphanumeric characters (a-z A-Z 0-9), hyphens (-) and underscores (_), and can not be more than 511 bytes.")]
    InvalidId(String),
    #[error("Attribute `{0}` is reserved by Miroir: rename it (attributes starting with `_miroir` are reserved).")]
    Reserved(String),
    #[error("The `json` payload must be an array of objects or a single object; found a {0}.")]
    NotAnObject(&'static str),
}

impl BatchError {
    /// Meilisearch's error code (or Miroir's, for Miroir's own rules).
    pub fn code(&self) -> &'static str {
        match self {
            BatchError::MissingId { .. } => "missing_document_id",
            BatchError::InvalidId(_) => "invalid_document_id",
            BatchError::Reserved(_) => "miroir_reserved_field",
            BatchError::NotAnObject(_) => "malformed_payload",
        }
    }
}

/// The shard of one document, after checking its primary key.
pub fn shard_of(
    doc: &Map<String, Value>,
    primary_key: &str,
    shards: u32,
) -> Result<ShardId, BatchError> {
    let id = doc.get(primary_key).ok_or_else(|| BatchError::MissingId {
        primary_key: primary_key.to_string(),
        document: Value::Object(doc.clone()).to_string(),
    })?;
    let key = match id {
        Value::String(s) if valid_id_str(s) => PrimaryKeyValue::String(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => {
            let i = n
                .as_i64()
                .map(i128::from)
                .or_else(|| n.as_u64().map(i128::from));
            PrimaryKeyValue::Integer(i.unwrap_or_default())
        }
        other => return Err(BatchError::InvalidId(other.to_string())),
    };
    Ok(shard_for_key(&key, shards))
}

/// Checks a whole batch, then tags every document with its shard. Either
/// every document is placed or the batch is refused.
pub fn place_batch(
    docs: Vec<Value>,
    primary_key: &str,
    shards: u32,
) -> Result<Vec<(ShardId, Value)>, BatchError> {
    let mut placed = Vec::with_capacity(docs.len());
    for doc in docs {
        let Value::Object(mut obj) = doc else {
            return Err(BatchError::NotAnObject(kind(&doc)));
        };
        if let Some(k) = obj.keys().find(|k| is_reserved(k)) {
            return Err(BatchError::Reserved(k.clone()));
        }
        let shard = shard_of(&obj, primary_key, shards)?;
        obj.insert(SHARD_FIELD.to_string(), Value::from(shard.0));
        placed.push((shard, Value::Object(obj)));
    }
    Ok(placed)
}

/// Places an already checked batch again, for another shard count (the map a
/// write is finally gated on may not be the one it was first placed by).
pub fn re_place(
    placed: Vec<(ShardId, Value)>,
    primary_key: &str,
    shards: u32,
) -> Result<Vec<(ShardId, Value)>, BatchError> {
    placed
        .into_iter()
        .map(|(_, doc)| {
            let Value::Object(mut obj) = doc else {
                return Err(BatchError::NotAnObject(kind(&doc)));
            };
            let shard = shard_of(&obj, primary_key, shards)?;
            obj.insert(SHARD_FIELD.to_string(), Value::from(shard.0));
            Ok((shard, Value::Object(obj)))
        })
        .collect()
}

/// Gives every document of a placed batch the batch's version.
pub fn stamp_version(placed: &mut [(ShardId, Value)], version: Version) {
    for (_, doc) in placed {
        if let Value::Object(obj) = doc {
            obj.insert(VERSION_FIELD.to_string(), Value::from(version.0));
        }
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A valid batch is placed whole, each document tagged with its shard;
    /// `42` and `"42"` land together.
    #[test]
    fn places_every_document() {
        let docs = vec![
            json!({"id": 42, "t": "a"}),
            json!({"id": "42"}),
            json!({"id": "doc-1"}),
        ];
        let placed = place_batch(docs, "id", 64).unwrap();
        assert_eq!(placed.len(), 3);
        assert_eq!(placed[0].0, placed[1].0);
        for (shard, doc) in &placed {
            assert_eq!(doc[SHARD_FIELD], json!(shard.0));
        }
    }

    /// Placed again for another shard count, each document carries the
    /// shard it has under that count, as if it had been placed by it first.
    #[test]
    fn re_placing_follows_the_new_shard_count() {
        let docs: Vec<Value> = (0..50).map(|i| json!({"id": i})).collect();
        let by_two = place_batch(docs.clone(), "id", 2).unwrap();
        let again = re_place(by_two, "id", 7).unwrap();
        assert_eq!(again, place_batch(docs, "id", 7).unwrap());
    }

    /// One bad document refuses the whole batch, with Meilisearch's error code.
    #[test]
    fn refuses_bad_batches() {
        let bad = |docs: Vec<Value>| place_batch(docs, "id", 8).unwrap_err().code();
        assert_eq!(
            bad(vec![json!({"id": 1}), json!({"title": "x"})]),
            "missing_document_id"
        );
        assert_eq!(bad(vec![json!({"id": "has space"})]), "invalid_document_id");
        assert_eq!(bad(vec![json!({"id": 1.5})]), "invalid_document_id");
        assert_eq!(bad(vec![json!({"id": ""})]), "invalid_document_id");
        assert_eq!(
            bad(vec![json!({"id": "x".repeat(512)})]),
            "invalid_document_id"
        );
        assert_eq!(
            bad(vec![json!({"id": 1, "_miroir_shard": 3})]),
            "miroir_reserved_field"
        );
        assert_eq!(
            bad(vec![json!({"id": 1, "_miroir_version": 3})]),
            "miroir_reserved_field"
        );
        assert_eq!(bad(vec![json!([1])]), "malformed_payload");
        let msg = place_batch(vec![json!({"id": "has space"})], "id", 8)
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("Document identifier `\"has space\"` is invalid."),
            "{msg}"
        );
    }
}
