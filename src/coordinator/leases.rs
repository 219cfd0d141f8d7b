//! Router leases, kept by the leader in memory (DESIGN section 6, I2).
//!
//! A router may write under the epoch it has applied for `lease_ms` after it
//! *sent* the request that got the lease; the leader counts from when it
//! *granted* it, plus a margin for clock-rate drift, so the router always
//! gives up first. Before a migration or an index deletion moves past a
//! fence, the leader waits until every router has acknowledged the fence's
//! epoch or its lease has run out.
//!
//! Nothing here is replicated: a new leader does not know the leases its
//! predecessor granted, so it treats every router as possibly holding one
//! until a full lease (plus margin) has passed since it took over. Which
//! process holds a router id is replicated (`state::routers`), so that a
//! second process under a live router's id is refused by any leader.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Added to every lease on the coordinators' side: covers clock-rate drift
/// between router and coordinator (a generous 10%) and scheduling delays.
pub fn margin(lease: Duration) -> Duration {
    lease / 10 + Duration::from_millis(100)
}

#[derive(Debug, Clone)]
struct Granted {
    /// The router process the lease went to.
    instance: String,
    epoch: u64,
    expires: Instant,
}

#[derive(Debug, Default)]
struct Table {
    /// The term this member last led in, and since when.
    term: u64,
    leader_since: Option<Instant>,
    /// The longest lease granted since, which bounds any unknown one.
    longest: Duration,
    routers: HashMap<String, Granted>,
}

#[derive(Debug, Default)]
pub struct LeaseTable {
    inner: Mutex<Table>,
}

/// Why the routers could not all be shown to have moved on yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    /// Routers still holding a lease on an older epoch.
    pub routers: Vec<String>,
    /// Leases a previous leader may have granted are still possibly live.
    pub inherited: bool,
}

impl LeaseTable {
    /// Notes that this member leads in `term`; a new term forgets the old
    /// table, since another leader may have granted leases in between.
    pub fn lead(&self, term: u64, lease: Duration, now: Instant) {
        let mut t = self.inner.lock().expect("lease table lock");
        if t.term != term || t.leader_since.is_none() {
            *t = Table {
                term,
                leader_since: Some(now),
                longest: lease,
                routers: HashMap::new(),
            };
        }
    }

    /// Records a lease granted now to process `instance` of `router` for `epoch`.
    pub fn grant(&self, router: &str, instance: &str, epoch: u64, lease: Duration, now: Instant) {
        let mut t = self.inner.lock().expect("lease table lock");
        t.longest = t.longest.max(lease);
        let expires = now + lease + margin(lease);
        let granted = Granted {
            instance: instance.to_string(),
            epoch,
            expires,
        };
        t.routers.insert(router.to_string(), granted);
    }

    /// How long another process than `instance` may still hold a lease
    /// under `router`: one this leader granted and that is live, or, while
    /// this leader has granted it none, one a previous leader may have.
    pub fn held_by_other(&self, router: &str, instance: &str, now: Instant) -> Option<Duration> {
        let t = self.inner.lock().expect("lease table lock");
        match t.routers.get(router) {
            Some(g) if g.instance == instance => None,
            Some(g) => (g.expires > now).then(|| g.expires - now),
            None => {
                let until = t.leader_since? + t.longest + margin(t.longest);
                (until > now).then(|| until - now)
            }
        }
    }

    /// Each router holding a live lease, with the epoch it acknowledged.
    pub fn live(&self, now: Instant) -> Vec<(String, u64)> {
        let t = self.inner.lock().expect("lease table lock");
        let mut out: Vec<(String, u64)> = t
            .routers
            .iter()
            .filter(|(_, g)| g.expires > now)
            .map(|(r, g)| (r.clone(), g.epoch))
            .collect();
        out.sort();
        out
    }

    /// Ok (with the routers on `epoch` or later) once no router can still
    /// write under an older epoch; otherwise what is still pending.
    pub fn settled(&self, epoch: u64, now: Instant) -> Result<Vec<String>, Pending> {
        let t = self.inner.lock().expect("lease table lock");
        let inherited = t
            .leader_since
            .is_none_or(|since| now < since + t.longest + margin(t.longest));
        let mut acked = vec![];
        let mut routers = vec![];
        for (name, g) in &t.routers {
            if g.epoch >= epoch {
                acked.push(name.clone());
            } else if g.expires > now {
                routers.push(name.clone());
            }
        }
        if inherited || !routers.is_empty() {
            routers.sort();
            return Err(Pending { routers, inherited });
        }
        acked.sort();
        Ok(acked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEASE: Duration = Duration::from_millis(1000);

    /// A router behind the fence's epoch blocks the fence until it
    /// acknowledges or its lease (plus margin) runs out.
    #[test]
    fn old_leases_block_until_acknowledged_or_expired() {
        let t0 = Instant::now();
        let table = LeaseTable::default();
        table.lead(3, LEASE, t0);
        let after_takeover = t0 + LEASE + margin(LEASE);
        table.grant("a", "a1", 7, LEASE, after_takeover);
        table.grant("b", "b1", 8, LEASE, after_takeover);
        let now = after_takeover + Duration::from_millis(10);
        assert_eq!(
            table.settled(8, now),
            Err(Pending {
                routers: vec!["a".into()],
                inherited: false
            })
        );
        table.grant("a", "a1", 8, LEASE, now);
        assert_eq!(table.settled(8, now), Ok(vec!["a".into(), "b".into()]));
        // Or: "a" never renews, and its lease runs out.
        let table = LeaseTable::default();
        table.lead(3, LEASE, t0);
        table.grant("a", "a1", 7, LEASE, after_takeover);
        let expired = after_takeover + LEASE + margin(LEASE);
        assert_eq!(table.settled(8, expired), Ok(vec![]));
    }

    /// Another process under a live router's id is told how long to wait;
    /// the same process is not, and nor is anyone once the lease ran out.
    #[test]
    fn a_live_router_id_is_not_shared() {
        let t0 = Instant::now();
        let table = LeaseTable::default();
        table.lead(1, LEASE, t0);
        // Right after takeover, a predecessor's grant may be live.
        assert!(table.held_by_other("r", "b", t0).is_some());
        let later = t0 + LEASE + margin(LEASE);
        table.grant("r", "a", 1, LEASE, later);
        assert_eq!(table.held_by_other("r", "a", later), None);
        let left = table.held_by_other("r", "b", later).unwrap();
        assert_eq!(left, LEASE + margin(LEASE));
        assert_eq!(table.held_by_other("r", "b", later + left), None);
    }

    /// A new leader cannot know its predecessor's leases: it waits one full
    /// lease after taking over, and a new term starts a new table.
    #[test]
    fn a_new_leader_waits_out_inherited_leases() {
        let t0 = Instant::now();
        let table = LeaseTable::default();
        table.lead(1, LEASE, t0);
        assert!(table.settled(1, t0).unwrap_err().inherited);
        let later = t0 + LEASE + margin(LEASE);
        assert_eq!(table.settled(1, later), Ok(vec![]));
        table.grant("a", "a1", 1, LEASE, later);
        table.lead(2, LEASE, later);
        let pending = table.settled(1, later).unwrap_err();
        assert!(pending.inherited && pending.routers.is_empty());
    }
}
