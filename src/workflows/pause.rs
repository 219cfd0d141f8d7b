//! TEST-ONLY pause points: the leader waits before carrying out a phase's
//! step, so a test can act (kill the leader, stop a node) while a workflow
//! is known to be in that phase. All zero in production.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use crate::state::workflows::Phase;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PausePoints {
    at: BTreeMap<Phase, Duration>,
    /// A gate file: a repair that has compared a shard and is about to write
    /// creates `<file>.reached` and waits until `<file>` exists, so a test
    /// can land a client write exactly between the compare and the repair.
    write_gate: Option<PathBuf>,
}

impl PausePoints {
    /// From `PHASE=MS` entries (e.g. `wait_routers=3000`).
    pub fn parse(entries: &[String]) -> Result<Self, String> {
        let mut at = BTreeMap::new();
        for e in entries {
            let (phase, ms) = e
                .split_once('=')
                .ok_or_else(|| format!("pause point `{e}`: expected PHASE=MS"))?;
            let phase = Phase::parse(phase).map_err(|err| err.to_string())?;
            let ms: u64 = ms.parse().map_err(|_| {
                format!("pause point `{e}`: `{ms}` is not a number of milliseconds")
            })?;
            at.insert(phase, Duration::from_millis(ms));
        }
        Ok(PausePoints {
            at,
            write_gate: None,
        })
    }

    /// With the gate before repair writes (see the field).
    pub fn with_write_gate(mut self, gate: Option<PathBuf>) -> Self {
        self.write_gate = gate;
        self
    }

    /// Waits at the gate before a repair's writes to `shard`, if one is set (at most a
    /// minute); the `.reached` file names the shard.
    pub async fn before_repair_write(&self, shard: u32) {
        let Some(gate) = &self.write_gate else {
            return;
        };
        let mut reached = gate.clone().into_os_string();
        reached.push(".reached");
        let _ = std::fs::write(&reached, shard.to_string());
        tracing::info!(gate = %gate.display(), "test-only gate before a repair write");
        let end = tokio::time::Instant::now() + Duration::from_secs(60);
        while !gate.exists() && tokio::time::Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits at `phase`'s pause point, if one is set.
    pub async fn before(&self, phase: Phase) {
        if let Some(d) = self.at.get(&phase) {
            tracing::info!(
                phase = phase.as_str(),
                ms = d.as_millis() as u64,
                "test-only pause point"
            );
            tokio::time::sleep(*d).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_phase_and_milliseconds() {
        let p = PausePoints::parse(&["wait_routers=3000".into()]).unwrap();
        assert_eq!(p.at[&Phase::WaitRouters], Duration::from_secs(3));
        assert!(PausePoints::parse(&["nowhere=1".into()]).is_err());
        assert!(PausePoints::parse(&["fence=soon".into()]).is_err());
        assert!(PausePoints::parse(&["fence".into()]).is_err());
    }
}
