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

/// Applies `grudge` (on top of what is already cut).
pub fn partition(net: &Net, grudge: &Grudge) -> Result<()> {
    drops(net, grudge, "-A")
}

/// Takes back what [`partition`] added for `grudge`, one rule per link, so
/// that partitions applied by other faults stay in place (iptables deletes
/// one copy of a rule at a time, so overlapping identical cuts nest).
pub fn unpartition(net: &Net, grudge: &Grudge) -> Result<()> {
    drops(net, grudge, "-D")
}

fn drops(net: &Net, grudge: &Grudge, op: &str) -> Result<()> {
    for (name, cut) in &grudge.0 {
        let Some(host) = net.host(name) else { continue };
        for other in cut {
            let Some(o) = net.host(other) else { continue };
            let src = o.ip.to_string();
            iptables(host, &[op, "INPUT", "-s", &src, "-j", "DROP"])?;
        }
    }
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
