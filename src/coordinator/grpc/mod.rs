//! The three gRPC services one coordinator port serves, plus reflection and health.
//!
//! - [`raft_service`]: `RaftTransport`, peer traffic (trusted peers only);
//! - [`admin_service`]: `Admin`, for operators;
//! - [`router_service`]: `Router`, for routers.

pub mod admin_service;
mod anti_entropy;
mod migrations;
pub mod raft_service;
pub mod router_service;
mod status;
