//! Carries out the planned windows on the live cluster, records each start
//! and stop in the timeline, and heals everything at the end.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use miroir::pb::v1::{AddMemberRequest, RemoveMemberRequest};

use super::schedule::Window;
use super::Kind;
use crate::db::{coordinator_id, Db, COORDINATOR_PORT};
use crate::history::{FaultEvent, Recorder};
use crate::net::firewall::{self, Grudge};
use crate::net::shaping::{self, LinkFault};
use crate::net::Net;

async fn sleep_until(t: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await
}

/// What a started fault needs to be undone.
#[derive(Debug)]
enum Active {
    Partition,
    Killed(String),
    Paused(String),
    Netem(Vec<String>),
    Member(String),
    /// The fault could not start (e.g. no leader to isolate); nothing to undo.
    Nothing,
}

pub struct Nemesis {
    pub db: Db,
    pub net: Net,
    clock: Recorder,
    pub timeline: Arc<Mutex<Vec<FaultEvent>>>,
    netem: bool,
    /// Hosts faults may touch; the others are never cut, paused or killed.
    targets: Vec<String>,
}

impl Nemesis {
    /// `targets` limits faults to those hosts (all of them when empty).
    pub fn new(db: Db, net: Net, clock: Recorder, targets: Vec<String>) -> Self {
        let netem = net.hosts().first().is_some_and(shaping::netem_available);
        Nemesis {
            db,
            net,
            clock,
            timeline: Default::default(),
            netem,
            targets,
        }
    }

    fn note(&self, phase: &str, kind: &str, detail: &str) {
        tracing::info!("nemesis {phase} {kind}: {detail}");
        self.timeline.lock().expect("timeline").push(FaultEvent {
            time: self.clock.now(),
            phase: phase.into(),
            nemesis: kind.into(),
            detail: detail.into(),
        });
    }

    /// Runs every window of `plan`, counted from `start`, then heals.
    pub async fn run(&mut self, plan: &[Window], start: Instant) -> Result<()> {
        for w in plan {
            sleep_until(start + w.at).await;
            let (active, detail) = match self.begin(w).await {
                Ok(x) => x,
                Err(e) => (Active::Nothing, format!("could not start: {e:#}")),
            };
            self.note("start", w.kind.name(), &detail);
            sleep_until(start + w.at + w.lasts).await;
            let end = self.end(active).await;
            self.note("stop", w.kind.name(), &detail);
            if let Err(e) = end {
                // Its own event, so the window above still closes in the plot.
                self.note("undo-failed", w.kind.name(), &format!("{detail}: {e:#}"));
            }
        }
        Ok(())
    }

    fn coordinators(&self) -> Vec<String> {
        self.db.layout.coordinator_names()
    }

    fn targeted(&self, hosts: Vec<String>) -> Vec<String> {
        if self.targets.is_empty() {
            return hosts;
        }
        hosts
            .into_iter()
            .filter(|h| self.targets.contains(h))
            .collect()
    }

    /// Every host faults may touch.
    fn everyone(&self) -> Vec<String> {
        let l = &self.db.layout;
        let mut all = l.coordinator_names();
        all.extend(l.router_names());
        all.extend(l.node_names());
        self.targeted(all)
    }

    async fn begin(&mut self, w: &Window) -> Result<(Active, String)> {
        // The window's own random choice among `from`.
        let pick = |from: &[String]| {
            ordered(from, &w.order)
                .into_iter()
                .next()
                .context("no host this fault may touch (see --fault-hosts)")
        };
        let coord = self.coordinators();
        let all = self.everyone();
        match w.kind {
            Kind::PartitionOne => {
                let h = pick(&all)?;
                self.cut_off(&h).map(|d| (Active::Partition, d))
            }
            Kind::PartitionLeader => {
                let l = self.db.await_leader(Duration::from_secs(3)).await?;
                self.cut_off(&format!("c{l}"))
                    .map(|d| (Active::Partition, d))
            }
            Kind::PartitionHalves => {
                let mut shuffled = ordered(&coord, &w.order);
                let minority = shuffled.split_off(shuffled.len().div_ceil(2));
                let (mut a, mut b) = (shuffled, minority);
                for (i, h) in all.iter().filter(|h| !coord.contains(h)).enumerate() {
                    if (w.roll >> (i % 64)) & 1 == 0 {
                        a.push(h.clone())
                    } else {
                        b.push(h.clone())
                    }
                }
                let mut g = Grudge::default();
                g.cut(&a, &b);
                firewall::partition(&self.net, &g)?;
                Ok((
                    Active::Partition,
                    format!("[{}] | [{}]", a.join(" "), b.join(" ")),
                ))
            }
            Kind::PartitionRing => {
                let ring = ordered(&coord, &w.order);
                let g = ring_grudge(&ring);
                firewall::partition(&self.net, &g)?;
                Ok((
                    Active::Partition,
                    format!("ring {}: {}", ring.join("-"), g.describe()),
                ))
            }
            Kind::PartitionBridge => {
                let mut order = ordered(&coord, &w.order);
                let bridge = order.remove(0);
                let right = order.split_off(order.len() / 2);
                let mut g = Grudge::default();
                g.cut(&order, &right);
                firewall::partition(&self.net, &g)?;
                Ok((
                    Active::Partition,
                    format!("[{}] <{bridge}> [{}]", order.join(" "), right.join(" ")),
                ))
            }
            Kind::PartitionControl => {
                let routers = self.targeted(self.db.layout.router_names());
                let cut = if w.roll.is_multiple_of(2) {
                    routers
                } else {
                    vec![pick(&routers)?]
                };
                let mut g = Grudge::default();
                g.cut(&cut, &coord);
                firewall::partition(&self.net, &g)?;
                Ok((
                    Active::Partition,
                    format!("[{}] cut off from the coordinators", cut.join(" ")),
                ))
            }
            Kind::Kill => {
                let mut candidates = coord.clone();
                candidates.extend(self.db.layout.router_names());
                let candidates = self.targeted(candidates);
                let h = pick(&candidates)?;
                self.db.proc_mut(&h).context("no such process")?.kill();
                Ok((Active::Killed(h.clone()), format!("kill -9 {h}")))
            }
            Kind::Pause => {
                let h = pick(&all)?;
                self.db.proc_mut(&h).context("no such process")?.pause();
                Ok((Active::Paused(h.clone()), format!("SIGSTOP {h}")))
            }
            Kind::Netem => {
                let n = 1 + (w.roll % 2) as usize;
                let hosts: Vec<String> = ordered(&all, &w.order).into_iter().take(n).collect();
                let fault = LinkFault {
                    delay_ms: 50 + (w.roll >> 8) as u32 % 150,
                    jitter_ms: 10,
                    loss: ((w.roll >> 16) % 15) as f64 / 100.0,
                };
                let mut done = vec![];
                for h in &hosts {
                    let host = self.net.host(h).context("no such host")?.clone();
                    done.push(shaping::degrade(&host, fault, self.netem)?);
                }
                Ok((Active::Netem(hosts), done.join("; ")))
            }
            Kind::Membership => self.add_member().await,
        }
    }

    /// Cuts `h` off from every other host (targeted or not: only `h` is
    /// touched by the fault).
    fn cut_off(&self, h: &str) -> Result<String> {
        let rest: Vec<String> = self
            .net
            .hosts()
            .iter()
            .map(|x| x.name.clone())
            .filter(|x| x != h)
            .collect();
        let mut g = Grudge::default();
        g.cut(&[h.to_string()], &rest);
        firewall::partition(&self.net, &g)?;
        Ok(format!("{h} isolated"))
    }

    async fn add_member(&mut self) -> Result<(Active, String)> {
        let spare = self
            .db
            .layout
            .spare_names()
            .first()
            .cloned()
            .context("membership needs a spare coordinator (--spare-coordinators 1)")?;
        self.db.prepare_spare(&self.net, &spare)?;
        self.db.start(&spare)?;
        let id = coordinator_id(&spare).context("spare name")?;
        let address = format!("{}:{COORDINATOR_PORT}", self.db.ip(&spare)?);
        let joined = self
            .db
            .on_any_coordinator(|mut a| {
                let req = AddMemberRequest {
                    id,
                    address: address.clone(),
                    learner_only: false,
                };
                async move { a.add_member(req).await }
            })
            .await;
        let detail = match joined {
            Ok((c, _)) => format!("{spare} joined (via {c})"),
            // Not acknowledged, yet maybe committed: undone like a join.
            Err(e) => format!("{spare} join not acknowledged ({e:#})"),
        };
        Ok((Active::Member(spare), detail))
    }

    /// Takes the spare out of the membership (retrying for a while, since a
    /// fault may still be settling), then stops it.
    async fn remove_member(&mut self, spare: &str) -> Result<()> {
        let id = coordinator_id(spare).context("spare name")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let removed = self
                .db
                .on_any_coordinator(|mut a| async move {
                    a.remove_member(RemoveMemberRequest { id }).await
                })
                .await;
            if removed.is_ok() {
                self.db.proc_mut(spare).context("spare")?.kill();
                return Ok(());
            }
            if Instant::now() > deadline {
                anyhow::bail!("could not remove {spare} from the membership within 20 s");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn end(&mut self, active: Active) -> Result<()> {
        match active {
            Active::Partition => firewall::heal(&self.net),
            Active::Killed(h) => self.db.start(&h),
            Active::Paused(h) => {
                self.db.proc_mut(&h).context("no such process")?.resume();
                Ok(())
            }
            Active::Netem(hosts) => {
                for h in hosts {
                    shaping::restore(self.net.host(&h).context("no such host")?)?;
                }
                firewall::heal(&self.net)
            }
            Active::Member(spare) => self.remove_member(&spare).await,
            Active::Nothing => Ok(()),
        }
    }

    /// Ends every fault: network whole, every process running.
    pub async fn heal_all(&mut self) -> Result<()> {
        firewall::heal(&self.net)?;
        for h in self.net.hosts().to_vec() {
            shaping::restore(&h)?;
        }
        self.db.revive_all()?;
        self.note("stop", "heal", "network whole, every process running");
        Ok(())
    }
}

/// `names` in the order the window drew.
/// (`order` is a permutation of 0..64, so each index below `names.len()`
/// appears once.)
fn ordered(names: &[String], order: &[usize]) -> Vec<String> {
    order
        .iter()
        .filter(|&&o| o < names.len())
        .map(|&o| names[o].clone())
        .collect()
}

/// Each member keeps links to its ring neighbours only, so that it sees a
/// majority and no two see the same one. With three members that reduces to
/// one cut link (two members each see a majority that the third bridges).
pub(crate) fn ring_grudge(ring: &[String]) -> Grudge {
    let n = ring.len();
    let mut g = Grudge::default();
    if n < 3 {
        return g;
    }
    if n == 3 {
        g.cut(&ring[0..1], &ring[1..2]);
        return g;
    }
    let majority = n / 2 + 1;
    let reach = (majority - 1).div_ceil(2);
    for i in 0..n {
        for j in (i + 1)..n {
            let d = (j - i).min(n - (j - i));
            if d > reach {
                g.cut(&ring[i..=i], &ring[j..=j]);
            }
        }
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("c{i}")).collect()
    }

    /// Members each host still hears, itself included.
    fn sees(g: &Grudge, ring: &[String], h: &str) -> usize {
        ring.iter()
            .filter(|x| !g.0.get(h).is_some_and(|c| c.contains(*x)))
            .count()
    }

    #[test]
    fn a_ring_of_five_gives_everyone_a_majority_and_no_two_the_same() {
        let ring = names(5);
        let g = ring_grudge(&ring);
        for h in &ring {
            assert_eq!(sees(&g, &ring, h), 3, "{h} in {g:?}");
        }
        let views: std::collections::BTreeSet<_> =
            ring.iter().map(|h| g.0.get(h).cloned()).collect();
        assert_eq!(views.len(), 5);
    }

    #[test]
    fn a_ring_of_three_cuts_one_link() {
        let ring = names(3);
        let g = ring_grudge(&ring);
        assert_eq!(g.0.values().map(|c| c.len()).sum::<usize>(), 2);
        assert!(ring.iter().all(|h| sees(&g, &ring, h) >= 2));
    }

    #[test]
    fn ordering_is_a_permutation() {
        let order: Vec<usize> = (0..64).rev().collect();
        let o = ordered(&names(3), &order);
        assert_eq!(o, vec!["c3", "c2", "c1"]);
        let mut sorted = o.clone();
        sorted.sort();
        assert_eq!(sorted, names(3));
    }
}
