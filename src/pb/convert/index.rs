use crate::pb::v1;
use crate::state::Index;

impl From<&Index> for v1::Index {
    fn from(i: &Index) -> Self {
        v1::Index {
            uid: i.uid.0.clone(),
            primary_key: i.primary_key.clone(),
            shards: i.shards,
            replication_factor: i.replication_factor,
            created_at_ms: i.created_at_ms,
        }
    }
}
