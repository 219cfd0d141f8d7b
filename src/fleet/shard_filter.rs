//! The filter a router sends each node: the shards that node serves for this
//! query AND the client's filter, so that a node holding extra copies (RF > 1)
//! never counts a document twice.

use serde_json::Value;

use crate::meili::reserved::SHARD_FIELD as FIELD;
use crate::state::ShardId;

/// The shards as a filter on `_miroir_shard`, the attribute every node has made filterable:
/// consecutive shards as ranges (`0 TO 63`), the rest in one `IN [..]`. A node evaluates a range
/// as one lookup, where `IN` with 64 values costs it about a quarter of a millisecond per search
/// (measured on Meilisearch 1.50).
pub fn shard_filter(shards: &[ShardId]) -> String {
    let mut ids: Vec<u32> = shards.iter().map(|s| s.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let (mut ranges, mut single) = (vec![], vec![]);
    let mut i = 0;
    while i < ids.len() {
        let mut j = i;
        while j + 1 < ids.len() && ids[j + 1] == ids[j] + 1 {
            j += 1;
        }
        if j - i >= 2 {
            ranges.push(format!("{FIELD} {} TO {}", ids[i], ids[j]));
        } else {
            single.extend(ids[i..=j].iter().map(u32::to_string));
        }
        i = j + 1;
    }
    if !single.is_empty() || ranges.is_empty() {
        ranges.push(format!("{FIELD} IN [{}]", single.join(", ")));
    }
    ranges.join(" OR ")
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

    /// Runs of three or more become ranges, the rest one list; every shard is named once.
    #[test]
    fn runs_become_ranges() {
        let ids = |v: &[u32]| v.iter().map(|&i| ShardId(i)).collect::<Vec<_>>();
        let all: Vec<u32> = (0..64).collect();
        assert_eq!(shard_filter(&ids(&all)), "_miroir_shard 0 TO 63");
        assert_eq!(
            shard_filter(&ids(&[9, 1, 2, 3, 4, 7, 20, 11, 12, 13])),
            "_miroir_shard 1 TO 4 OR _miroir_shard 11 TO 13 OR _miroir_shard IN [7, 9, 20]"
        );
        assert_eq!(shard_filter(&ids(&[5, 5])), "_miroir_shard IN [5]");
        assert_eq!(shard_filter(&[]), "_miroir_shard IN []");
    }
}
