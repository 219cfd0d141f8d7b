use crate::pb::v1;
use crate::state::{ShardAssignment, ShardMap};

impl From<&ShardAssignment> for v1::ShardAssignment {
    fn from(a: &ShardAssignment) -> Self {
        v1::ShardAssignment {
            shard: a.shard.0,
            read: a.read.iter().map(|n| n.0.clone()).collect(),
            write: a.write.iter().map(|n| n.0.clone()).collect(),
            fence: a.fence.as_str().to_string(),
        }
    }
}

impl From<&ShardMap> for v1::ShardMap {
    fn from(m: &ShardMap) -> Self {
        v1::ShardMap {
            index_uid: m.index.0.clone(),
            epoch: m.epoch.0,
            shards: m.shards.iter().map(Into::into).collect(),
        }
    }
}
