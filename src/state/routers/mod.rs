//! What the state keeps about routers: which process holds each router id
//! ([`claims`]) and the lease length still owed after `lease_ms` was lowered
//! ([`lease_ceiling`]).

pub mod claims;
pub mod lease_ceiling;

pub use claims::{validate_router_id, Claim, RouterClaims, MAX_CLAIMS};
