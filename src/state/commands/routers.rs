use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::routers::validate_router_id;
use crate::state::ClusterState;

/// Records which router process holds a router id; proposed by the leader
/// when a process it has not seen asks for a lease under that id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimRouterId {
    pub router: String,
    pub instance: String,
    /// The holder the leader saw; the claim fails if it changed.
    pub expected: Option<String>,
    /// The lowest version the new holder may issue, from the leader's clock
    /// at the claim (stamped by the leader, so replay needs no clock).
    #[serde(default)]
    pub floor: crate::state::Version,
}

impl ClaimRouterId {
    pub fn validate(&self) -> Result<(), CommandError> {
        validate_router_id(&self.router)
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state.routers.claim(
            &self.router,
            &self.instance,
            self.expected.as_deref(),
            self.floor,
        )?;
        Ok(CommandResponse::Done)
    }
}
