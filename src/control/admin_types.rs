//! Answers of the Admin service in domain types, with their conversions from
//! the generated messages. They serialize as `miroir-ctl --json` prints them.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::pb::v1;
use crate::state::tombstones::{Deleted, Tombstone};
use crate::state::{CommandError, GroupId, GroupState, Index, Node, NodeId, ShardMap, Version};

/// Whether a coordinator votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberRole {
    Voter,
    Learner,
}

/// What a coordinator said it is doing, or that it did not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MemberState {
    Leader,
    Follower,
    Candidate,
    Learner,
    Shutdown,
    Unreachable,
}

impl MemberRole {
    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Voter => "voter",
            MemberRole::Learner => "learner",
        }
    }
}

impl MemberState {
    const ALL: [MemberState; 6] = [
        MemberState::Leader,
        MemberState::Follower,
        MemberState::Candidate,
        MemberState::Learner,
        MemberState::Shutdown,
        MemberState::Unreachable,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberState::Leader => "leader",
            MemberState::Follower => "follower",
            MemberState::Candidate => "candidate",
            MemberState::Learner => "learner",
            MemberState::Shutdown => "shutdown",
            MemberState::Unreachable => "unreachable",
        }
    }

    fn parse(s: &str) -> Result<Self, CommandError> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| CommandError::invalid(format!("unknown member state `{s}`")))
    }
}

/// One coordinator as the cluster status shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Member {
    pub id: u64,
    pub address: String,
    pub role: MemberRole,
    pub reachable: bool,
    pub state: MemberState,
    pub term: u64,
    pub last_log_index: Option<u64>,
    pub applied_index: Option<u64>,
    pub snapshot_index: Option<u64>,
    pub purged_index: Option<u64>,
    /// The last log index the leader knows this member holds.
    pub matched_index: Option<u64>,
    pub committed_index: Option<u64>,
}

/// The coordinators' cluster as one of them sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClusterStatus {
    /// Empty until the cluster has been initialized.
    pub cluster_id: String,
    pub leader_id: Option<u64>,
    pub term: u64,
    /// The leader's commit index (absent when no leader answered).
    pub commit_index: Option<u64>,
    pub members: Vec<Member>,
}

/// A replica group and the nodes in it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupMembers {
    pub id: GroupId,
    pub state: GroupState,
    pub nodes: Vec<NodeId>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NodeList {
    pub nodes: Vec<Node>,
    pub groups: Vec<GroupMembers>,
}

/// An index to register; `None` takes the cluster's default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewIndex {
    pub uid: String,
    pub primary_key: Option<String>,
    pub shards: Option<u32>,
    pub replication_factor: Option<u32>,
}

/// An index with its shard map and how many shards each node holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexDetails {
    pub index: Index,
    pub shard_map: Option<ShardMap>,
    pub shards_per_node: BTreeMap<NodeId, u32>,
}

impl TryFrom<v1::Member> for Member {
    type Error = CommandError;

    fn try_from(m: v1::Member) -> Result<Self, CommandError> {
        let role = match m.role.as_str() {
            "voter" => MemberRole::Voter,
            "learner" => MemberRole::Learner,
            other => {
                return Err(CommandError::invalid(format!(
                    "unknown member role `{other}`"
                )))
            }
        };
        Ok(Member {
            id: m.id,
            address: m.address,
            role,
            reachable: m.reachable,
            state: MemberState::parse(&m.state)?,
            term: m.term,
            last_log_index: m.last_log_index,
            applied_index: m.applied_index,
            snapshot_index: m.snapshot_index,
            purged_index: m.purged_index,
            matched_index: m.matched_index,
            committed_index: m.committed_index,
        })
    }
}

impl TryFrom<v1::ClusterStatusResponse> for ClusterStatus {
    type Error = CommandError;

    fn try_from(s: v1::ClusterStatusResponse) -> Result<Self, CommandError> {
        Ok(ClusterStatus {
            cluster_id: s.cluster_id,
            leader_id: s.leader_id,
            term: s.term,
            commit_index: s.commit_index,
            members: s
                .members
                .into_iter()
                .map(Member::try_from)
                .collect::<Result<_, _>>()?,
        })
    }
}

impl TryFrom<v1::ListNodesResponse> for NodeList {
    type Error = CommandError;

    fn try_from(l: v1::ListNodesResponse) -> Result<Self, CommandError> {
        let groups = l
            .groups
            .into_iter()
            .map(|g| {
                Ok(GroupMembers {
                    id: GroupId(g.id),
                    state: GroupState::parse(&g.state)?,
                    nodes: g
                        .nodes
                        .iter()
                        .map(|n| NodeId::parse(n))
                        .collect::<Result<_, _>>()?,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(NodeList {
            nodes: l
                .nodes
                .into_iter()
                .map(Node::try_from)
                .collect::<Result<_, _>>()?,
            groups,
        })
    }
}

impl TryFrom<v1::DescribeIndexResponse> for IndexDetails {
    type Error = CommandError;

    fn try_from(d: v1::DescribeIndexResponse) -> Result<Self, CommandError> {
        let index = d
            .index
            .ok_or_else(|| CommandError::invalid("an index description without its index"))?;
        Ok(IndexDetails {
            index: index.try_into()?,
            shard_map: d.shard_map.map(ShardMap::try_from).transpose()?,
            shards_per_node: d
                .shards_per_node
                .into_iter()
                .map(|(n, c)| Ok((NodeId::parse(&n)?, c)))
                .collect::<Result<_, CommandError>>()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Member roles and states read back from the words the coordinators use;
    /// an unknown word is refused rather than guessed.
    #[test]
    fn members_convert() {
        let m = v1::Member {
            id: 2,
            role: "learner".into(),
            state: "unreachable".into(),
            ..Default::default()
        };
        let m = Member::try_from(m).unwrap();
        assert_eq!(
            (m.role, m.state),
            (MemberRole::Learner, MemberState::Unreachable)
        );
        for s in MemberState::ALL {
            assert_eq!(MemberState::parse(s.as_str()).unwrap(), s);
        }
        let bad = v1::Member {
            role: "observer".into(),
            state: "leader".into(),
            ..Default::default()
        };
        assert!(Member::try_from(bad).is_err());
    }

    /// A description without its index is refused as malformed.
    #[test]
    fn index_details_need_the_index() {
        assert!(IndexDetails::try_from(v1::DescribeIndexResponse::default()).is_err());
    }
}

/// The tombstones the coordinators keep (`miroir-ctl tombstones`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TombstoneListing {
    pub retention_s: u64,
    pub indexes: Vec<IndexTombstones>,
    /// For one index: its newest records, newest first.
    pub tombstones: Vec<ListedTombstone>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IndexTombstones {
    pub index: String,
    pub records: u64,
    pub oldest_version: Option<Version>,
    pub newest_version: Option<Version>,
}

/// One delete as operators read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedTombstone {
    pub index: String,
    pub version: Version,
    /// When it ran, from its version (Unix ms).
    pub at_unix_ms: u64,
    pub task_uid: Option<u64>,
    #[serde(flatten)]
    pub deleted: ListedDeletion,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ListedDeletion {
    Ids { ids: Vec<String> },
    Filter { filter: String },
    All,
}

impl TryFrom<v1::ListTombstonesResponse> for TombstoneListing {
    type Error = CommandError;

    fn try_from(r: v1::ListTombstonesResponse) -> Result<Self, CommandError> {
        let version = |v: u64| (v != 0).then_some(Version(v));
        let indexes = r
            .indexes
            .into_iter()
            .map(|c| IndexTombstones {
                index: c.index,
                records: c.records,
                oldest_version: version(c.oldest_version),
                newest_version: version(c.newest_version),
            })
            .collect();
        let tombstones = r
            .tombstones
            .into_iter()
            .map(|t| {
                let index = t.index.clone();
                let t = Tombstone::try_from(t)?;
                let deleted = match t.deleted {
                    Deleted::Ids(ids) => ListedDeletion::Ids { ids },
                    Deleted::Filter(filter) => ListedDeletion::Filter { filter },
                    Deleted::All => ListedDeletion::All,
                };
                Ok(ListedTombstone {
                    index,
                    version: t.version,
                    at_unix_ms: t.version.unix_ms(),
                    task_uid: t.task.map(|t| t.0),
                    deleted,
                })
            })
            .collect::<Result<_, CommandError>>()?;
        Ok(TombstoneListing {
            retention_s: r.retention_s,
            indexes,
            tombstones,
        })
    }
}
