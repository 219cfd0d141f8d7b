//! The coordinator as the workflows see it ([`crate::workflows::Cluster`]):
//! commits are made here as leader, never forwarded, and destructive steps
//! first confirm leadership with a quorum.

use crate::state::{ClusterState, Command, CommandResponse, Epoch};
use crate::workflows::Cluster;

use super::app::App;

impl Cluster for App {
    fn is_leader(&self) -> bool {
        self.ensure_leader().is_ok()
    }

    fn read<T>(&self, f: impl FnOnce(&ClusterState) -> T) -> T {
        self.state.read(f)
    }

    async fn commit(&self, cmd: Command) -> Result<CommandResponse, String> {
        cmd.validate().map_err(|e| e.to_string())?;
        self.ensure_leader().map_err(|e| e.to_string())?;
        self.proposer.propose(cmd).await.map_err(|e| e.to_string())
    }

    async fn confirm_leader(&self) -> Result<(), String> {
        self.ensure_leader().map_err(|e| e.to_string())?;
        self.raft
            .ensure_linearizable()
            .await
            .map(|_| ())
            .map_err(|e| format!("leadership not confirmed: {e}"))
    }

    async fn routers_past(&self, epoch: Epoch) -> Result<(), String> {
        if self.unsafe_switches.skip_router_wait {
            tracing::warn!(
                epoch = epoch.0,
                "UNSAFE: not waiting for routers past a fence"
            );
            return Ok(());
        }
        self.await_routers(epoch.0, None)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn nodes(&self) -> &crate::fleet::NodeClient {
        &self.nodes
    }

    fn serve_unrepaired(&self) -> bool {
        self.unsafe_switches.serve_unrepaired
    }

    fn skip_recheck(&self) -> bool {
        self.unsafe_switches.skip_recheck
    }

    fn node_call_deadline(&self) -> std::time::Duration {
        self.nodes.timeout()
    }

    fn unsafe_skip_delta_pass(&self) -> bool {
        self.unsafe_switches.skip_delta_pass
    }

    fn unsafe_skip_source_wait(&self) -> bool {
        self.unsafe_switches.skip_source_wait
    }
}
