//! The typed client of the coordinators' gRPC services, used by the router
//! and `miroir-ctl`: one method per RPC, failover between coordinators only
//! when one cannot be reached, and errors classified once.
//!
//! # Layout
//! - [`auth`]: the admin key on outgoing calls.
//! - [`dial`]: channels to coordinators (TLS, timeouts).
//! - [`client`]: [`ControlClient`], its channels and the one failover loop.
//! - [`error`]: [`ControlError`], classified from tonic's status.
//! - [`router_rpc`], [`admin_rpc`]: the typed methods, by service.
//! - [`watch`]: following the shard maps into a [`ShardMapSink`].
//! - [`types`], [`admin_types`], [`repair_types`]: answers that have no type in `state`.

pub mod admin_rpc;
pub mod admin_types;
pub mod auth;
pub mod client;
pub mod dial;
pub mod error;
pub mod migration_types;
pub mod repair_types;
pub mod router_rpc;
pub mod types;
pub mod watch;

pub use admin_types::{
    ClusterStatus, GroupMembers, IndexDetails, Member, MemberRole, MemberState, NewIndex, NodeList,
};
pub use auth::ClientAuth;
pub use client::ControlClient;
pub use dial::{client_tls, Dialer};
pub use error::ControlError;
pub use types::{LeaseGrant, ShardMapUpdate, TaskIdBlock, TaskPage, TaskQuery, Webhook};
pub use watch::ShardMapSink;
