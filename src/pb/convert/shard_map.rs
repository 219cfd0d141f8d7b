use crate::pb::v1;
use crate::state::{
    CommandError, Epoch, Fence, IndexUid, NodeId, Role, ShardAssignment, ShardCopy, ShardId,
    ShardMap,
};

impl From<&ShardAssignment> for v1::ShardAssignment {
    fn from(a: &ShardAssignment) -> Self {
        v1::ShardAssignment {
            shard: a.shard.0,
            read: a.readers().map(|n| n.0.clone()).collect(),
            write: a.writers().map(|n| n.0.clone()).collect(),
            fence: a.fence.as_str().to_string(),
            copies: a
                .copies
                .iter()
                .map(|c| v1::ShardCopy {
                    node: c.node.0.clone(),
                    role: c.role.as_str().to_string(),
                })
                .collect(),
        }
    }
}

impl From<&ShardMap> for v1::ShardMap {
    fn from(m: &ShardMap) -> Self {
        v1::ShardMap {
            index_uid: m.index.0.clone(),
            epoch: m.epoch.0,
            shards: m.shards.iter().map(Into::into).collect(),
            physical_index: m.physical().to_string(),
        }
    }
}

impl TryFrom<v1::ShardMap> for ShardMap {
    type Error = CommandError;

    fn try_from(m: v1::ShardMap) -> Result<Self, CommandError> {
        let nodes = |ids: &[String]| {
            ids.iter()
                .map(|n| NodeId::parse(n))
                .collect::<Result<Vec<_>, _>>()
        };
        let copies = |copies: Vec<v1::ShardCopy>| {
            copies
                .into_iter()
                .map(|c| {
                    Ok(ShardCopy {
                        node: NodeId::parse(&c.node)?,
                        role: Role::parse(&c.role)?,
                    })
                })
                .collect::<Result<Vec<_>, CommandError>>()
        };
        let shards = m
            .shards
            .into_iter()
            .map(|a| {
                Ok(ShardAssignment {
                    shard: ShardId(a.shard),
                    // A coordinator from before roles sends only the lists.
                    copies: match a.copies.is_empty() {
                        false => copies(a.copies)?,
                        true => ShardCopy::from_lists(&nodes(&a.read)?, nodes(&a.write)?),
                    },
                    fence: Fence::parse(&a.fence)?,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(ShardMap {
            physical: m.physical_index,
            index: IndexUid::parse(&m.index_uid)?,
            epoch: Epoch(m.epoch),
            shards,
        })
    }
}
