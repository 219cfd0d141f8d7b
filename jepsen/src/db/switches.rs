//! Test-only unsafe switches. Each removes one mechanism a workload's
//! property depends on, so that a run can show the workload notices. They
//! are hidden flags of the Miroir binaries, off unless a run names them.

use std::fmt;
use std::str::FromStr;

use crate::workload::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unsafe {
    /// Coordinators answer reads from local state, without ReadIndex.
    StaleReads,
    /// Routers count a node's failed write as acknowledged.
    AckFailedWrites,
    /// Routers write without a live lease, and count late replies.
    IgnoreLease,
}

impl Unsafe {
    pub const ALL: [Unsafe; 3] = [
        Unsafe::StaleReads,
        Unsafe::AckFailedWrites,
        Unsafe::IgnoreLease,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Unsafe::StaleReads => "stale-reads",
            Unsafe::AckFailedWrites => "ack-failed-writes",
            Unsafe::IgnoreLease => "ignore-lease",
        }
    }

    /// The process role that takes the flag, and the flag.
    pub fn flag(self) -> (&'static str, &'static str) {
        match self {
            Unsafe::StaleReads => ("coordinator", "--unsafe-local-reads"),
            Unsafe::AckFailedWrites => ("router", "--unsafe-ack-failed-writes"),
            Unsafe::IgnoreLease => ("router", "--unsafe-ignore-lease"),
        }
    }

    /// The workload whose checker must report the run invalid.
    pub fn caught_by(self) -> Workload {
        match self {
            Unsafe::StaleReads => Workload::Register,
            Unsafe::AckFailedWrites => Workload::Documents,
            Unsafe::IgnoreLease => Workload::ShardMap,
        }
    }
}

impl fmt::Display for Unsafe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Unsafe {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Unsafe::ALL
            .into_iter()
            .find(|u| u.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Unsafe::ALL.iter().map(|u| u.name()).collect();
                format!("unknown unsafe switch `{s}`: use {}", names.join(", "))
            })
    }
}
