use crate::pb::v1;
use crate::state::{CommandError, Index, IndexUid};

impl From<&Index> for v1::Index {
    fn from(i: &Index) -> Self {
        v1::Index {
            uid: i.uid.0.clone(),
            primary_key: i.primary_key.clone(),
            shards: i.shards,
            replication_factor: i.replication_factor,
            created_at_ms: i.created_at_ms,
            generation: i.generation,
            physical_index: i.physical(),
        }
    }
}

impl TryFrom<v1::Index> for Index {
    type Error = CommandError;

    fn try_from(i: v1::Index) -> Result<Self, CommandError> {
        Ok(Index {
            uid: IndexUid::parse(&i.uid)?,
            primary_key: i.primary_key,
            shards: i.shards,
            replication_factor: i.replication_factor,
            created_at_ms: i.created_at_ms,
            generation: i.generation.max(1),
            physical: i.physical_index,
        })
    }
}
