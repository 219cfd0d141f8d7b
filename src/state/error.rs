//! Why a command was refused. Each variant maps onto one gRPC status code at
//! the service edge; the message always says what to do about it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum CommandError {
    /// The request itself is malformed, whatever the state (INVALID_ARGUMENT).
    #[error("{0}")]
    InvalidArgument(String),
    /// The request is well formed but the current state forbids it (FAILED_PRECONDITION).
    #[error("{0}")]
    FailedPrecondition(String),
    /// It names something that does not exist (NOT_FOUND).
    #[error("{0}")]
    NotFound(String),
    /// It would create something that already exists (ALREADY_EXISTS).
    #[error("{0}")]
    AlreadyExists(String),
}

impl CommandError {
    pub fn invalid(msg: impl Into<String>) -> Self {
        CommandError::InvalidArgument(msg.into())
    }
    pub fn precondition(msg: impl Into<String>) -> Self {
        CommandError::FailedPrecondition(msg.into())
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        CommandError::NotFound(msg.into())
    }
    pub fn exists(msg: impl Into<String>) -> Self {
        CommandError::AlreadyExists(msg.into())
    }
}
