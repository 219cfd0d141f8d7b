//! Carries out the planned windows on the live cluster, records each start
//! and stop in the timeline, and heals everything at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use miroir::pb::v1::{AddMemberRequest, RemoveMemberRequest};

use super::schedule::Window;
use super::{partitions, Kind};
use crate::db::{coordinator_id, Db, COORDINATOR_PORT};
use crate::history::{FaultEvent, Recorder};
use crate::net::firewall::{self, Grudge};
use crate::net::shaping::{self, Degraded, LinkFault};
use crate::net::Net;

async fn sleep_until(t: Instant) {
    tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await
}

/// What a started fault needs to be undone.
#[derive(Debug)]
enum Active {
    /// The links it cut, taken back one by one at its end.
    Partition(Grudge),
    Killed(String),
    Paused(String),
    /// Hosts whose links it degraded, and how.
    Netem {
        hosts: Vec<String>,
        how: Degraded,
    },
    Member(String),
    /// The fault could not start (e.g. no leader to isolate); nothing to undo.
    Nothing,
}

/// What the faults active right now hold, so that an overlapping fault
/// does not stack on the same process or link.
#[derive(Debug, Default)]
struct Busy {
    /// Killed or paused.
    processes: BTreeSet<String>,
    /// Under a link fault.
    links: BTreeSet<String>,
    membership: bool,
}

impl Busy {
    fn of<'a>(active: impl Iterator<Item = &'a Active>) -> Busy {
        let mut b = Busy::default();
        for a in active {
            match a {
                Active::Killed(h) | Active::Paused(h) => {
                    b.processes.insert(h.clone());
                }
                Active::Netem { hosts, .. } => b.links.extend(hosts.iter().cloned()),
                Active::Member(_) => b.membership = true,
                Active::Partition(_) | Active::Nothing => {}
            }
        }
        b
    }
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

    /// Runs every window of `plan`, counted from `start`: each starts and
    /// stops at its own time, whatever else is active (windows of
    /// different lanes overlap). Healing everything is left to
    /// [`Nemesis::heal_all`].
    pub async fn run(&mut self, plan: &[Window], start: Instant) -> Result<()> {
        // (when, starts?, window): at the same instant, stops go first.
        let mut events: Vec<(Duration, bool, usize)> = plan
            .iter()
            .enumerate()
            .flat_map(|(i, w)| [(w.at, true, i), (w.at + w.lasts, false, i)])
            .collect();
        events.sort();
        let mut active: BTreeMap<usize, (Active, String)> = BTreeMap::new();
        for (at, starts, i) in events {
            sleep_until(start + at).await;
            // Steps run one at a time, so a slow one (a membership change
            // retrying, waiting for a leader) delays the other lanes.
            let late = start.elapsed().saturating_sub(at);
            let w = &plan[i];
            if starts {
                let busy = Busy::of(active.values().map(|(a, _)| a));
                let (a, mut detail) = match self.begin(w, &busy).await {
                    Ok(x) => x,
                    Err(e) => (Active::Nothing, format!("could not start: {e:#}")),
                };
                if late > Duration::from_secs(1) {
                    detail +=
                        &format!(" ({:.1} s late: another step was slow)", late.as_secs_f64());
                }
                self.note("start", w.kind.name(), &detail);
                active.insert(i, (a, detail));
            } else if let Some((a, detail)) = active.remove(&i) {
                if late > Duration::from_secs(1) {
                    tracing::warn!(
                        "nemesis stop of {detail} is {late:?} late: another step was slow"
                    );
                }
                let end = self.end(a).await;
                self.note("stop", w.kind.name(), &detail);
                if let Err(e) = end {
                    // Its own event, so the window above still closes in the plot.
                    self.note("undo-failed", w.kind.name(), &format!("{detail}: {e:#}"));
                }
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

    /// Every host of the run, targeted or not.
    fn all_hosts(&self) -> Vec<String> {
        self.net.hosts().iter().map(|x| x.name.clone()).collect()
    }

    fn cut(&self, (g, detail): (Grudge, String)) -> Result<(Active, String)> {
        firewall::partition(&self.net, &g)?;
        Ok((Active::Partition(g), detail))
    }

    async fn begin(&mut self, w: &Window, busy: &Busy) -> Result<(Active, String)> {
        // The window's own random choice among `from`, skipping `taken`.
        let pick = |from: &[String], taken: &BTreeSet<String>| {
            ordered(from, &w.order)
                .into_iter()
                .find(|h| !taken.contains(h))
                .context("no host this fault may touch (see --fault-hosts), or all of them are under another fault")
        };
        let none = BTreeSet::new();
        let coord = self.coordinators();
        let all = self.everyone();
        let others_than =
            |h: &str| -> Vec<String> { self.all_hosts().into_iter().filter(|x| x != h).collect() };
        match w.kind {
            Kind::PartitionOne => {
                let h = pick(&all, &none)?;
                self.cut(partitions::isolate(&h, &others_than(&h)))
            }
            Kind::PartitionLeader => {
                let l = format!("c{}", self.db.await_leader(Duration::from_secs(3)).await?);
                self.cut(partitions::isolate(&l, &others_than(&l)))
            }
            Kind::PartitionPeers => {
                let h = pick(&self.targeted(coord.clone()), &none)?;
                let mut members = coord.clone();
                members.extend(self.db.layout.spare_names());
                self.cut(partitions::peers(&h, &members))
            }
            Kind::PartitionHalves => {
                let others: Vec<String> =
                    all.iter().filter(|h| !coord.contains(h)).cloned().collect();
                self.cut(partitions::halves(
                    ordered(&coord, &w.order),
                    &others,
                    w.roll,
                ))
            }
            Kind::PartitionRing => self.cut(partitions::ring(&ordered(&coord, &w.order))),
            Kind::PartitionBridge => self.cut(partitions::bridge(ordered(&coord, &w.order))),
            Kind::PartitionControl => {
                let routers = self.targeted(self.db.layout.router_names());
                let cut = if w.roll.is_multiple_of(2) {
                    routers
                } else {
                    vec![pick(&routers, &none)?]
                };
                self.cut(partitions::control(&cut, &coord))
            }
            Kind::Kill => {
                let mut candidates = coord.clone();
                candidates.extend(self.db.layout.router_names());
                let h = pick(&self.targeted(candidates), &busy.processes)?;
                self.db.proc_mut(&h).context("no such process")?.kill();
                Ok((Active::Killed(h.clone()), format!("kill -9 {h}")))
            }
            Kind::Pause => {
                let h = pick(&all, &busy.processes)?;
                self.db.proc_mut(&h).context("no such process")?.pause();
                Ok((Active::Paused(h.clone()), format!("SIGSTOP {h}")))
            }
            Kind::Netem => {
                let n = 1 + (w.roll % 2) as usize;
                let hosts: Vec<String> = ordered(&all, &w.order)
                    .into_iter()
                    .filter(|h| !busy.links.contains(h))
                    .take(n)
                    .collect();
                anyhow::ensure!(
                    !hosts.is_empty(),
                    "every link it may touch is already degraded"
                );
                let fault = LinkFault {
                    delay_ms: 50 + (w.roll >> 8) as u32 % 150,
                    jitter_ms: 10,
                    loss: ((w.roll >> 16) % 15) as f64 / 100.0,
                };
                let how = Degraded {
                    fault,
                    with_netem: self.netem,
                };
                let mut done = vec![];
                for (i, h) in hosts.iter().enumerate() {
                    let applied = self
                        .net
                        .host(h)
                        .context("no such host")
                        .and_then(|host| shaping::degrade(host, fault, self.netem));
                    match applied {
                        Ok(d) => done.push(d),
                        Err(e) => {
                            // All or nothing: put back the hosts already degraded.
                            let _ = self.restore_links(&hosts[..i], how);
                            return Err(e);
                        }
                    }
                }
                Ok((Active::Netem { hosts, how }, done.join("; ")))
            }
            Kind::Membership => {
                anyhow::ensure!(!busy.membership, "another membership change is under way");
                self.add_member().await
            }
        }
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
            Active::Partition(g) => firewall::unpartition(&self.net, &g),
            Active::Killed(h) => self.db.start(&h),
            Active::Paused(h) => {
                self.db.proc_mut(&h).context("no such process")?.resume();
                Ok(())
            }
            Active::Netem { hosts, how } => self.restore_links(&hosts, how),
            Active::Member(spare) => self.remove_member(&spare).await,
            Active::Nothing => Ok(()),
        }
    }

    /// Restores every one of `hosts` (even when one fails; failures are
    /// reported together).
    fn restore_links(&self, hosts: &[String], how: Degraded) -> Result<()> {
        let failed: Vec<String> = hosts
            .iter()
            .filter_map(|h| {
                let host = self.net.host(h)?;
                shaping::restore(host, Some(how))
                    .err()
                    .map(|e| format!("{h}: {e:#}"))
            })
            .collect();
        anyhow::ensure!(failed.is_empty(), "{}", failed.join("; "));
        Ok(())
    }

    /// Ends every fault: network whole, every process running.
    pub async fn heal_all(&mut self) -> Result<()> {
        firewall::heal(&self.net)?;
        for h in self.net.hosts().to_vec() {
            shaping::restore(&h, None)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("c{i}")).collect()
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

    #[test]
    fn busy_holds_what_active_faults_hold() {
        let fault = LinkFault {
            delay_ms: 50,
            jitter_ms: 10,
            loss: 0.0,
        };
        let active = [
            Active::Killed("r1".into()),
            Active::Paused("c2".into()),
            Active::Netem {
                hosts: vec!["n1".into()],
                how: Degraded {
                    fault,
                    with_netem: false,
                },
            },
            Active::Partition(Grudge::default()),
        ];
        let b = Busy::of(active.iter());
        assert_eq!(b.processes, BTreeSet::from(["r1".into(), "c2".into()]));
        assert_eq!(b.links, BTreeSet::from(["n1".to_string()]));
        assert!(!b.membership);
        assert!(Busy::of([Active::Member("c4".into())].iter()).membership);
    }
}
