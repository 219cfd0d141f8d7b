//! openraft's generic types, named once for Miroir.

use std::io::Cursor;

use crate::state::{Command, CommandResult};

/// A coordinator's id in Raft membership (a StatefulSet ordinal + 1, or a flag).
pub type CoordinatorId = u64;

openraft::declare_raft_types!(
    /// Miroir's Raft type configuration.
    pub TypeConfig:
        D = Command,
        R = CommandResult,
        NodeId = CoordinatorId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

pub type Raft = openraft::Raft<TypeConfig>;
pub type Entry = openraft::Entry<TypeConfig>;
pub type LogId = openraft::LogId<CoordinatorId>;
pub type Vote = openraft::Vote<CoordinatorId>;
pub type StoredMembership = openraft::StoredMembership<CoordinatorId, openraft::BasicNode>;
pub type SnapshotMeta = openraft::SnapshotMeta<CoordinatorId, openraft::BasicNode>;
pub type Snapshot = openraft::Snapshot<TypeConfig>;
pub type StorageError = openraft::StorageError<CoordinatorId>;
pub type RaftMetrics = openraft::RaftMetrics<CoordinatorId, openraft::BasicNode>;
pub type RaftError<E = openraft::error::Infallible> = openraft::error::RaftError<CoordinatorId, E>;
pub type ClientWriteError = openraft::error::ClientWriteError<CoordinatorId, openraft::BasicNode>;
pub type CheckIsLeaderError =
    openraft::error::CheckIsLeaderError<CoordinatorId, openraft::BasicNode>;
pub type RpcError<E = openraft::error::Infallible> =
    openraft::error::RPCError<CoordinatorId, openraft::BasicNode, RaftError<E>>;
