//! The leader's side of router leases and write fences: granting a lease on
//! the epoch a router has applied, and waiting until every router has moved
//! past a fence (see [`super::leases`] for the rules).

use std::time::{Duration, Instant};

use super::app::App;
use super::error::AppError;
use crate::state::commands::ClaimRouterId;
use crate::state::version::ClockGrant;
use crate::state::{Command, CommandError, CommandResponse};

fn unix_ms() -> u64 {
    (crate::meili::stamp::now_nanos() / 1_000_000) as u64
}

/// The longest a fence waits for routers in one call (a forwarded request
/// must answer well within the forwarding timeout).
const MAX_WAIT: Duration = Duration::from_secs(8);

impl App {
    /// Confirms leadership with a quorum, then notes the current term.
    async fn lead(&self) -> Result<Duration, AppError> {
        self.ensure_leader()?;
        self.raft.ensure_linearizable().await.map_err(|e| match e {
            openraft::error::RaftError::APIError(
                openraft::error::CheckIsLeaderError::ForwardToLeader(f),
            ) => AppError::NotLeader {
                leader: f.leader_id.zip(f.leader_node.map(|n| n.addr)),
            },
            other => AppError::Unreachable(other.to_string()),
        })?;
        let now_ms = unix_ms();
        let (lease_ms, owed_ms) = self.state.read(|s| {
            let lease_ms = s.settings.int("lease_ms");
            (lease_ms, s.lease_ceiling.owed(lease_ms, now_ms))
        });
        let term = self.raft.metrics().borrow().current_term;
        // A new term assumes its predecessor granted leases as long as any
        // that may still be live, even if `lease_ms` was lowered since.
        self.leases
            .lead(term, Duration::from_millis(owed_ms), Instant::now());
        Ok(Duration::from_millis(lease_ms))
    }

    pub(crate) async fn grant_lease(
        &self,
        router: &str,
        instance: &str,
        epoch: u64,
    ) -> Result<CommandResponse, AppError> {
        let lease = self.lead().await?;
        let (current, shard_policy) = self.state.read(|s| {
            let policy = s.settings.get("unavailable_shard_policy").map(|v| v.value);
            (s.last_epoch.0, policy.unwrap_or_default())
        });
        if epoch < current {
            return Err(CommandError::precondition(format!(
                "router `{router}` has applied epoch {epoch} but the cluster is at {current}: \
                 it gets a lease once its shard-map watch has caught up"
            ))
            .into());
        }
        let skew = self.state.read(|s| s.settings.int("max_clock_skew_ms"));
        if !self.unsafe_switches.shared_router_ids {
            self.claim_router_id(router, instance, skew).await?;
        }
        self.leases
            .grant(router, instance, epoch, lease, Instant::now());
        let now = unix_ms();
        let lease_ms = lease.as_millis() as u64;
        Ok(CommandResponse::Lease {
            lease_ms,
            epoch: current,
            shard_policy,
            leader_unix_ms: now,
            version_ceiling: ClockGrant::ceiling_for(now, lease_ms, skew).0,
            version_floor: self.state.read(|s| s.routers.floor(router)).0,
            max_clock_skew_ms: skew,
        })
    }

    /// Makes `instance` the holder of `router`, unless another process may
    /// still hold a lease under it. Committed before the first grant, so a
    /// leader elected later knows who holds the id.
    async fn claim_router_id(
        &self,
        router: &str,
        instance: &str,
        skew_ms: u64,
    ) -> Result<(), AppError> {
        let holder = self
            .state
            .read(|s| s.routers.holder(router).map(str::to_string));
        if holder.as_deref() == Some(instance) {
            return Ok(());
        }
        if holder.is_some() {
            if let Some(wait) = self.leases.held_by_other(router, instance, Instant::now()) {
                return Err(CommandError::exists(format!(
                    "router id `{router}` is held by another live router process; give each router                      its own --router-id (a restarted router gets its id back within {}ms)",
                    wait.as_millis() + 1
                ))
                .into());
            }
        }
        let claim = ClaimRouterId {
            router: router.to_string(),
            instance: instance.to_string(),
            expected: holder,
            floor: ClockGrant::floor_for_claim(unix_ms(), skew_ms),
        };
        let cmd = Command::ClaimRouterId(claim);
        cmd.validate()?;
        // This member leads (checked by `lead`): commit here, never forwarded.
        self.proposer.propose(cmd).await.map(|_| ())
    }

    pub(crate) async fn await_routers(
        &self,
        epoch: u64,
        timeout: Option<Duration>,
    ) -> Result<CommandResponse, AppError> {
        let lease = self.lead().await?;
        let wait = timeout.unwrap_or(lease * 2).min(MAX_WAIT);
        let deadline = Instant::now() + wait;
        loop {
            match self.leases.settled(epoch, Instant::now()) {
                Ok(acked) => return Ok(CommandResponse::Routers(acked)),
                Err(pending) if Instant::now() >= deadline => {
                    let who = if pending.routers.is_empty() {
                        "leases granted by the previous leader".to_string()
                    } else {
                        format!("routers {}", pending.routers.join(", "))
                    };
                    return Err(AppError::Unavailable(format!(
                        "{who} may still write under an epoch older than {epoch} after {}ms; retry",
                        wait.as_millis()
                    )));
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
            self.ensure_leader()?;
        }
    }
}
