//! The filter a router sends each node: the shards that node serves for this
//! query AND the client's filter, so that a node holding extra copies (RF > 1)
//! never counts a document twice.

use serde_json::Value;

use crate::state::ShardId;

/// `_miroir_shard IN [..]`, the attribute every node has made filterable.
pub fn shard_filter(shards: &[ShardId]) -> String {
    let list: Vec<String> = shards.iter().map(|s| s.0.to_string()).collect();
    format!("_miroir_shard IN [{}]", list.join(", "))
}

/// Combines the shard restriction with the client's filter. The result is
/// always Meilisearch's array form (elements ANDed, nested arrays ORed), so
/// the client's own expression reaches the node untouched and any error the
/// node reports about it reads exactly as the client wrote it.
pub fn with_shards(client: Option<&Value>, shards: &[ShardId]) -> Value {
    let ours = Value::from(shard_filter(shards));
    match client {
        None | Some(Value::Null) => Value::Array(vec![ours]),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Array(vec![ours]),
        Some(Value::Array(items)) => {
            let mut all = vec![ours];
            all.extend(items.iter().cloned());
            Value::Array(all)
        }
        Some(other) => Value::Array(vec![ours, other.clone()]),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The shard list is ANDed with either form of the client's filter,
    /// which reaches the node unchanged.
    #[test]
    fn composes_with_both_filter_forms() {
        let s = [ShardId(1), ShardId(7)];
        let ours = "_miroir_shard IN [1, 7]";
        assert_eq!(with_shards(None, &s), json!([ours]));
        assert_eq!(
            with_shards(Some(&json!("genre = drama OR year > 2000")), &s),
            json!([ours, "genre = drama OR year > 2000"])
        );
        assert_eq!(
            with_shards(
                Some(&json!(["genre = drama", ["year = 1", "year = 2"]])),
                &s
            ),
            json!([ours, "genre = drama", ["year = 1", "year = 2"]])
        );
        assert_eq!(with_shards(Some(&json!("  ")), &s), json!([ours]));
        assert_eq!(with_shards(Some(&json!(42)), &s), json!([ours, 42]));
    }
}
