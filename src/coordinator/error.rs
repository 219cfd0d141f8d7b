//! Errors of the coordinator's application layer, and how they reach gRPC callers.

use serde::{Deserialize, Serialize};

use openraft::error::{ClientWriteError, RaftError};
use openraft::BasicNode;

use super::typ::CoordinatorId;
use crate::state::CommandError;

/// Crosses the peer wire (a forwarded request returns it), hence serde.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize)]
pub enum AppError {
    #[error(transparent)]
    Command(#[from] CommandError),
    /// This member does not lead; `leader` says who does, when known.
    #[error("this coordinator is not the leader")]
    NotLeader {
        leader: Option<(CoordinatorId, String)>,
    },
    /// No leader could be found or reached in time: retry later.
    #[error("{0}")]
    NoLeader(String),
    /// A peer could not be reached; the request was not delivered.
    #[error("{0}")]
    Unreachable(String),
    /// The request reached the leader but no answer came back: it may or may
    /// not have been applied, so it is not retried.
    #[error("{0}")]
    Indeterminate(String),
    /// This member cannot serve (shutting down, storage failure).
    #[error("{0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<AppError> for tonic::Status {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Command(c) => match c {
                CommandError::InvalidArgument(m) => tonic::Status::invalid_argument(m),
                CommandError::FailedPrecondition(m) => tonic::Status::failed_precondition(m),
                CommandError::NotFound(m) => tonic::Status::not_found(m),
                CommandError::AlreadyExists(m) => tonic::Status::already_exists(m),
            },
            AppError::NotLeader { .. } => tonic::Status::unavailable(
                "no leader is known yet (election in progress): retry shortly",
            ),
            AppError::NoLeader(m)
            | AppError::Unreachable(m)
            | AppError::Unavailable(m)
            | AppError::Indeterminate(m) => tonic::Status::unavailable(m),
            AppError::Internal(m) => tonic::Status::internal(m),
        }
    }
}

impl AppError {
    /// What a failed Raft write means for the caller.
    pub(crate) fn from_write_error(
        e: RaftError<CoordinatorId, ClientWriteError<CoordinatorId, BasicNode>>,
    ) -> AppError {
        match e {
            RaftError::APIError(ClientWriteError::ForwardToLeader(f)) => AppError::NotLeader {
                leader: f.leader_id.zip(f.leader_node.map(|n| n.addr)),
            },
            RaftError::APIError(ClientWriteError::ChangeMembershipError(e)) => AppError::Command(
                crate::state::CommandError::precondition(format!("membership change refused: {e}")),
            ),
            RaftError::Fatal(e) => {
                AppError::Unavailable(format!("this coordinator is stopping: {e}"))
            }
        }
    }
}
