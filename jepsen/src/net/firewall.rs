//! Partitions, as iptables rules in each host's own namespace: a host drops
//! every packet from the hosts it must not hear. Traffic from the harness
//! (the bridge address) is never dropped, so clients always reach the hosts
//! they talk to and only the cluster's internal links are cut.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Result;

use super::{in_ns, Host, Net};

/// For each host, the hosts it cannot hear from. Partitions are symmetric:
/// build them with [`Grudge::cut`] so both sides drop each other.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grudge(pub BTreeMap<String, BTreeSet<String>>);

impl Grudge {
    /// Cuts every link between a host of `a` and a host of `b`.
    pub fn cut(&mut self, a: &[String], b: &[String]) {
        for x in a {
            for y in b {
                if x != y {
                    self.0.entry(x.clone()).or_default().insert(y.clone());
                    self.0.entry(y.clone()).or_default().insert(x.clone());
                }
            }
        }
    }

    /// Hosts that can still talk to each other, for the timeline.
    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|(h, cut)| {
                format!(
                    "{h}-x-{}",
                    cut.iter().cloned().collect::<Vec<_>>().join(",")
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn iptables(host: &Host, args: &[&str]) -> Result<String> {
    let mut all = vec!["-w"];
    all.extend_from_slice(args);
    in_ns(host, "iptables", &all)
}

/// Applies `grudge` (on top of what is already cut). If a rule cannot be
/// added, the rules added before it are taken back, so a partition is
/// applied whole or not at all.
pub fn partition(net: &Net, grudge: &Grudge) -> Result<()> {
    let mut added = Grudge::default();
    for (host, from) in links(net, grudge) {
        if let Err(e) = drop_rule(host, from, "-A") {
            let _ = unpartition(net, &added);
            return Err(e);
        }
        // One direction only: exactly the rule just added.
        added
            .0
            .entry(host.name.clone())
            .or_default()
            .insert(from.name.clone());
    }
    Ok(())
}

/// Takes back what [`partition`] added for `grudge`, one rule per link, so
/// that partitions applied by other faults stay in place (iptables deletes
/// one copy of a rule at a time, so overlapping identical cuts nest). Tries
/// every link even when one fails, and reports the failures together.
pub fn unpartition(net: &Net, grudge: &Grudge) -> Result<()> {
    let failed: Vec<String> = links(net, grudge)
        .filter_map(|(host, from)| drop_rule(host, from, "-D").err())
        .map(|e| format!("{e:#}"))
        .collect();
    if failed.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("{}", failed.join("; "))
    }
}

/// Each cut link as (the host that drops, the host it drops packets from).
fn links<'a>(net: &'a Net, grudge: &'a Grudge) -> impl Iterator<Item = (&'a Host, &'a Host)> {
    grudge.0.iter().flat_map(move |(name, cut)| {
        cut.iter()
            .filter_map(move |other| Some((net.host(name)?, net.host(other)?)))
    })
}

fn drop_rule(host: &Host, from: &Host, op: &str) -> Result<()> {
    let src = from.ip.to_string();
    iptables(host, &[op, "INPUT", "-s", &src, "-j", "DROP"])?;
    Ok(())
}

/// Drops a random share of the packets `host` receives from other hosts
/// (`p` in 0..1), with iptables' statistic match.
pub fn lossy(host: &Host, p: f64) -> Result<()> {
    loss_rule(host, p, "-A")
}

/// Takes back one [`lossy`] rule of the same share.
pub fn unlossy(host: &Host, p: f64) -> Result<()> {
    loss_rule(host, p, "-D")
}

fn loss_rule(host: &Host, p: f64, op: &str) -> Result<()> {
    let prob = format!("{p:.3}");
    let control = super::CONTROL_IP.to_string();
    iptables(
        host,
        &[
            op,
            "INPUT",
            "!",
            "-s",
            &control,
            "-m",
            "statistic",
            "--mode",
            "random",
            "--probability",
            &prob,
            "-j",
            "DROP",
        ],
    )?;
    Ok(())
}

/// Removes every rule on every host: the network is whole again.
pub fn heal(net: &Net) -> Result<()> {
    for h in net.hosts() {
        iptables(h, &["-F", "INPUT"])?;
    }
    Ok(())
}
