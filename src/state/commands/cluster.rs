use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::settings::Settings;
use crate::state::ClusterState;

/// The first entry a new cluster commits: it names the cluster, so that a
/// second bootstrap (which would start another history) is detectable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InitCluster {
    pub cluster_id: String,
}

impl InitCluster {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.cluster_id.is_empty() {
            return Err(CommandError::invalid("cluster id must not be empty"));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if let Some(id) = &state.cluster_id {
            return Err(CommandError::precondition(format!(
                "this cluster is already initialized as {id}"
            )));
        }
        state.cluster_id = Some(self.cluster_id);
        Ok(CommandResponse::Done)
    }
}

/// Changes one cluster setting, optionally only if it is still at a version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SetConfig {
    pub key: String,
    pub value: String,
    pub expect_version: Option<u64>,
    /// The proposer's wall clock (ms since 1970) when the change was asked
    /// for; lowering `lease_ms` owes the old length for one old lease from then.
    #[serde(default)]
    pub at_ms: u64,
}

impl SetConfig {
    pub fn validate(&self) -> Result<(), CommandError> {
        Settings::validate(&self.key, &self.value)
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let current = state.settings.version(&self.key);
        if let Some(expected) = self.expect_version {
            if expected != current {
                return Err(CommandError::precondition(format!(
                    "{} is at version {current}, not {expected}: read it again and retry",
                    self.key
                )));
            }
        }
        state.settings.check_together(&self.key, &self.value)?;
        if self.key == "lease_ms" {
            let old = state.settings.int("lease_ms");
            let new = self.value.parse().unwrap_or(old);
            state.lease_ceiling.on_change(old, new, self.at_ms);
        }
        let version = state.next_revision();
        state.settings.set(&self.key, &self.value, version);
        let setting = crate::state::settings::Setting {
            value: self.value,
            version,
        };
        Ok(CommandResponse::Setting {
            key: self.key,
            setting,
        })
    }
}
