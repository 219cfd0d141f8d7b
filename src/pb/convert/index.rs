use crate::fleet::index_check::{CopyCheck, CopyState, IndexCheck, StrayIndex};
use crate::pb::v1;
use crate::state::{CommandError, Index, IndexUid, NodeId};

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

impl From<&IndexCheck> for v1::CheckIndexesResponse {
    fn from(c: &IndexCheck) -> Self {
        v1::CheckIndexesResponse {
            copies: c
                .copies
                .iter()
                .map(|c| v1::IndexCopyCheck {
                    uid: c.uid.0.clone(),
                    physical_index: c.physical.clone(),
                    node: c.node.0.clone(),
                    state: c.state.as_str().into(),
                    detail: c.detail.clone(),
                })
                .collect(),
            stray: c
                .stray
                .iter()
                .map(|s| v1::StrayIndex {
                    node: s.node.0.clone(),
                    physical_index: s.physical.clone(),
                    on_sweep_list: s.on_sweep_list,
                })
                .collect(),
        }
    }
}

impl TryFrom<v1::CheckIndexesResponse> for IndexCheck {
    type Error = CommandError;

    fn try_from(r: v1::CheckIndexesResponse) -> Result<Self, CommandError> {
        let copies = r
            .copies
            .into_iter()
            .map(|c| {
                let state = CopyState::parse(&c.state).ok_or_else(|| {
                    CommandError::invalid(format!("unknown copy state `{}`", c.state))
                })?;
                Ok(CopyCheck {
                    uid: IndexUid(c.uid),
                    physical: c.physical_index,
                    node: NodeId(c.node),
                    state,
                    detail: c.detail,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        let stray = r
            .stray
            .into_iter()
            .map(|s| StrayIndex {
                node: NodeId(s.node),
                physical: s.physical_index,
                on_sweep_list: s.on_sweep_list,
            })
            .collect();
        Ok(IndexCheck { copies, stray })
    }
}
