//! Typed identifiers, so that a node id is never mistaken for an index uid.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::CommandError;

/// A Meilisearch node's stable id (placement hashes its UTF-8 bytes).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub String);

/// A replica group: a pool of nodes that together hold every shard RF times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct GroupId(pub u32);

/// A client-visible index uid.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct IndexUid(pub String);

/// One of an index's S hash buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShardId(pub u32);

/// A shard-map version; strictly increasing across the whole cluster.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Epoch(pub u64);

/// A Miroir task uid, as clients see it in `taskUid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TaskUid(pub u64);

const NODE_ID_MAX: usize = 128;
/// Meilisearch's limit.
const INDEX_UID_MAX: usize = crate::meili::index_uid::MAX_LEN;
/// For new indexes, room is kept for the generation suffix of their
/// physical names (`__miroir_g` and a number).
const NEW_INDEX_UID_MAX: usize = 380;

impl NodeId {
    /// Node ids are short, printable and free of separators used by the CLI.
    pub fn parse(s: &str) -> Result<Self, CommandError> {
        let ok = !s.is_empty()
            && s.len() <= NODE_ID_MAX
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
        if ok {
            Ok(NodeId(s.to_string()))
        } else {
            Err(CommandError::invalid(format!(
                "invalid node id `{s}`: use 1 to {NODE_ID_MAX} characters from a-z, A-Z, 0-9, '-', '_' and '.'"
            )))
        }
    }
}

impl IndexUid {
    /// The uid of a new index: Meilisearch's rule, with room for Miroir's
    /// generation suffix, which no uid may contain. (Checked at creation
    /// only, so that an index made under older rules stays reachable.)
    pub fn parse_new(s: &str) -> Result<Self, CommandError> {
        if crate::meili::reserved::is_reserved_index_uid(s) {
            return Err(CommandError::invalid(format!(
                "invalid index uid `{s}`: uids containing `__miroir` are reserved by Miroir \
                 for its own index generations on the nodes"
            )));
        }
        if s.len() > NEW_INDEX_UID_MAX {
            return Err(CommandError::invalid(format!(
                "invalid index uid `{s}`: a new index uid has at most {NEW_INDEX_UID_MAX} \
                 characters (Miroir keeps room for its generation suffix)"
            )));
        }
        Self::parse(s)
    }

    /// Meilisearch's rule: 1 to 400 bytes of `a-zA-Z0-9`, `-` and `_`.
    pub fn parse(s: &str) -> Result<Self, CommandError> {
        let ok = crate::meili::index_uid::is_valid(s);
        if ok {
            Ok(IndexUid(s.to_string()))
        } else {
            Err(CommandError::invalid(format!(
                "invalid index uid `{s}`: an index uid is 1 to {INDEX_UID_MAX} characters from a-z, A-Z, 0-9, '-' and '_'"
            )))
        }
    }
}

macro_rules! display {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    )*};
}
display!(NodeId, GroupId, IndexUid, ShardId, Epoch, TaskUid);

#[cfg(test)]
mod tests {
    use super::*;

    /// Index uids follow Meilisearch's character rules, with room for
    /// Miroir's generation suffix, which they may not contain.
    #[test]
    fn index_uid_rules() {
        assert!(IndexUid::parse("movies_2-b").is_ok());
        assert!(IndexUid::parse("").is_err());
        assert!(IndexUid::parse("has space").is_err());
        assert!(IndexUid::parse("é").is_err());
        assert!(IndexUid::parse(&"a".repeat(400)).is_ok());
        assert!(IndexUid::parse(&"a".repeat(401)).is_err());
        assert!(IndexUid::parse_new(&"a".repeat(380)).is_ok());
        assert!(IndexUid::parse_new(&"a".repeat(381)).is_err());
        assert!(IndexUid::parse_new("movies__miroir_g2").is_err());
        assert!(
            IndexUid::parse("movies__miroir_g2").is_ok(),
            "existing indexes stay reachable"
        );
    }

    /// Node ids refuse separators and empty strings.
    #[test]
    fn node_id_rules() {
        assert!(NodeId::parse("meili-0.search").is_ok());
        assert!(NodeId::parse("a,b").is_err());
        assert!(NodeId::parse("").is_err());
    }
}

/// A workflow's id, in the order workflows were started.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct WorkflowId(pub u64);

impl std::fmt::Display for WorkflowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A migration's id (a change of the fleet: one workflow per index it moves).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct MigrationId(pub u64);

impl std::fmt::Display for MigrationId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Moves the entries of `map` kept under the old uids of `moves` (old, new) to their new uids,
/// all at once (a rename or swap hands a physical index, and what is kept about it, to another
/// uid).
pub fn move_keys<V>(
    map: &mut std::collections::BTreeMap<IndexUid, V>,
    moves: &[(IndexUid, IndexUid)],
) {
    let taken: Vec<_> = moves
        .iter()
        .map(|(from, to)| (to.clone(), map.remove(from)))
        .collect();
    for (to, v) in taken {
        if let Some(v) = v {
            map.insert(to, v);
        }
    }
}
