//! Nemeses: the faults a run injects. Each is named on the command line; a
//! run draws its fault windows from the chosen set on a schedule made from
//! the seed ([`schedule`]), and [`Nemesis`] carries them out.

pub mod apply;
pub mod partitions;
pub mod schedule;

use serde::{Deserialize, Serialize};

pub use apply::Nemesis;

/// One kind of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// One host (coordinator, router or devnode) cut off from every other host.
    PartitionOne,
    /// The coordinators' current leader cut off from every other host.
    PartitionLeader,
    /// One coordinator cut off from the other coordinators, but not from
    /// routers, devnodes or clients: it still answers, yet learns nothing new.
    PartitionPeers,
    /// Coordinators split into a majority and a minority; routers and
    /// devnodes each land on one side.
    PartitionHalves,
    /// Every coordinator sees a majority, but no two see the same one.
    PartitionRing,
    /// Two halves joined only through one coordinator that sees both.
    PartitionBridge,
    /// Routers (one, or all) cut off from every coordinator, but not from
    /// the devnodes or clients: the control plane is gone, the data plane is not.
    PartitionControl,
    /// `kill -9` of a coordinator or router, restarted at the window's end
    /// (devnodes keep data in memory only, so they are paused, not killed).
    Kill,
    /// SIGSTOP of any process, SIGCONT at the window's end.
    Pause,
    /// Delay and loss on some hosts' links (`tc netem`, or its fallback).
    Netem,
    /// A coordinator joins the Raft membership, and leaves again.
    Membership,
}

impl Kind {
    pub const ALL: [Kind; 11] = [
        Kind::PartitionOne,
        Kind::PartitionLeader,
        Kind::PartitionPeers,
        Kind::PartitionHalves,
        Kind::PartitionRing,
        Kind::PartitionBridge,
        Kind::PartitionControl,
        Kind::Kill,
        Kind::Pause,
        Kind::Netem,
        Kind::Membership,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::PartitionOne => "partition-one",
            Kind::PartitionLeader => "partition-leader",
            Kind::PartitionPeers => "partition-peers",
            Kind::PartitionHalves => "partition-halves",
            Kind::PartitionRing => "partition-ring",
            Kind::PartitionBridge => "partition-bridge",
            Kind::PartitionControl => "partition-control",
            Kind::Kill => "kill",
            Kind::Pause => "pause",
            Kind::Netem => "netem",
            Kind::Membership => "membership",
        }
    }

    pub fn is_partition(self) -> bool {
        self.name().starts_with("partition")
    }

    /// Parses a comma-separated list; `partition` means every partition and
    /// `all` every nemesis; `none` an empty set.
    pub fn parse_list(s: &str) -> Result<Vec<Kind>, String> {
        let mut out = vec![];
        for word in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            match word {
                "all" => out.extend(Kind::ALL),
                "none" => {}
                "partition" => out.extend(Kind::ALL.into_iter().filter(|k| k.is_partition())),
                w => out.push(w.parse()?),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }
}

named!(Kind, "nemesis", ", `partition`, `all` or `none`");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_parse_with_groups_and_reject_unknown_names() {
        assert_eq!(
            Kind::parse_list("kill,pause,kill").unwrap(),
            vec![Kind::Kill, Kind::Pause]
        );
        assert_eq!(Kind::parse_list("partition").unwrap().len(), 7);
        assert_eq!(Kind::parse_list("all").unwrap().len(), Kind::ALL.len());
        assert!(Kind::parse_list("none").unwrap().is_empty());
        let e = Kind::parse_list("kill,teleport").unwrap_err();
        assert!(
            e.contains("teleport") && e.contains("partition-ring"),
            "{e}"
        );
    }
}
