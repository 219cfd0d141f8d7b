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

/// Combines the shard restriction with the client's filter, in whichever of
/// Meilisearch's two forms the client used: a string expression, or an array
/// (whose elements are ANDed, nested arrays ORed).
pub fn with_shards(client: Option<&Value>, shards: &[ShardId]) -> Value {
    let ours = shard_filter(shards);
    match client {
        None | Some(Value::Null) => Value::from(ours),
        Some(Value::String(s)) if s.trim().is_empty() => Value::from(ours),
        Some(Value::String(s)) => Value::from(format!("{ours} AND ({s})")),
        Some(Value::Array(items)) => {
            let mut all = vec![Value::from(ours)];
            all.extend(items.iter().cloned());
            Value::Array(all)
        }
        // Anything else is the client's error; the node reports it in its own words.
        Some(other) => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The shard list is ANDed with either form of the client's filter.
    #[test]
    fn composes_with_both_filter_forms() {
        let s = [ShardId(1), ShardId(7)];
        assert_eq!(with_shards(None, &s), json!("_miroir_shard IN [1, 7]"));
        assert_eq!(
            with_shards(Some(&json!("genre = drama OR year > 2000")), &s),
            json!("_miroir_shard IN [1, 7] AND (genre = drama OR year > 2000)")
        );
        assert_eq!(
            with_shards(
                Some(&json!(["genre = drama", ["year = 1", "year = 2"]])),
                &s
            ),
            json!([
                "_miroir_shard IN [1, 7]",
                "genre = drama",
                ["year = 1", "year = 2"]
            ])
        );
        assert_eq!(
            with_shards(Some(&json!("  ")), &s),
            json!("_miroir_shard IN [1, 7]")
        );
        assert_eq!(with_shards(Some(&json!(42)), &s), json!(42));
    }
}
