//! Where documents live: a primary key picks a shard, and rendezvous hashing
//! picks the nodes of each replica group that hold a shard.
//!
//! Both functions are part of Miroir's on-disk contract: changing either one
//! moves documents. The golden vectors in the tests pin them.

use xxhash_rust::xxh3::xxh3_64;

use crate::state::{NodeId, ShardAssignment, ShardId};

/// A document's primary key as Meilisearch accepts it: a string or an integer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrimaryKeyValue<'a> {
    String(&'a str),
    Integer(i128),
}

impl PrimaryKeyValue<'_> {
    /// The bytes placement hashes: UTF-8 for strings, decimal ASCII for integers,
    /// so that `42` and `"42"` (one id to Meilisearch) land on the same shard.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        match self {
            PrimaryKeyValue::String(s) => s.as_bytes().to_vec(),
            PrimaryKeyValue::Integer(i) => i.to_string().into_bytes(),
        }
    }
}

/// `xxh3_64(canonical_pk_bytes) mod S`.
pub fn shard_for_key(key: &PrimaryKeyValue<'_>, shards: u32) -> ShardId {
    assert!(shards > 0, "an index has at least one shard");
    ShardId((xxh3_64(&key.canonical_bytes()) % u64::from(shards)) as u32)
}

/// The rendezvous weight of `node` for `shard`: `xxh3_64(le_u32(shard) ++ node_id_utf8)`.
pub fn rendezvous_weight(shard: ShardId, node: &NodeId) -> u64 {
    let mut buf = Vec::with_capacity(4 + node.0.len());
    buf.extend_from_slice(&shard.0.to_le_bytes());
    buf.extend_from_slice(node.0.as_bytes());
    xxh3_64(&buf)
}

/// The `rf` nodes of one group that hold `shard`: highest weight first, ties
/// broken by node id. Adding a node to a group of n moves about 1/(n+1) of
/// that group's shards and nothing else.
pub fn owners<'a>(
    shard: ShardId,
    group_nodes: impl IntoIterator<Item = &'a NodeId>,
    rf: usize,
) -> Vec<NodeId> {
    let mut scored: Vec<(u64, &NodeId)> = group_nodes
        .into_iter()
        .map(|n| (rendezvous_weight(shard, n), n))
        .collect();
    scored.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
    scored
        .into_iter()
        .take(rf)
        .map(|(_, n)| n.clone())
        .collect()
}

/// The one rule that computes a shard map's assignments: for every shard, the owners of each
/// replica group (`groups`, each the nodes that may hold copies), every copy read and written, no
/// fence. Anything that builds or checks a placement calls this, so the rule cannot drift.
pub fn assign(shards: u32, groups: &[Vec<NodeId>], rf: usize) -> Vec<ShardAssignment> {
    (0..shards)
        .map(|s| {
            let owners: Vec<NodeId> = groups
                .iter()
                .flat_map(|group| owners(ShardId(s), group, rf))
                .collect();
            ShardAssignment::serving(ShardId(s), owners)
        })
        .collect()
}

#[cfg(test)]
mod tests;
