use crate::pb::v1;
use crate::state::{
    CommandError, Epoch, Fence, IndexUid, NodeId, ShardAssignment, ShardId, ShardMap,
};

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

impl TryFrom<v1::ShardMap> for ShardMap {
    type Error = CommandError;

    fn try_from(m: v1::ShardMap) -> Result<Self, CommandError> {
        let nodes = |ids: Vec<String>| {
            ids.iter()
                .map(|n| NodeId::parse(n))
                .collect::<Result<Vec<_>, _>>()
        };
        let shards = m
            .shards
            .into_iter()
            .map(|a| {
                Ok(ShardAssignment {
                    shard: ShardId(a.shard),
                    read: nodes(a.read)?,
                    write: nodes(a.write)?,
                    fence: Fence::parse(&a.fence)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ShardMap {
            index: IndexUid::parse(&m.index_uid)?,
            epoch: Epoch(m.epoch),
            shards,
        })
    }
}
