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
}

impl Unsafe {
    pub const ALL: [Unsafe; 1] = [Unsafe::StaleReads];

    pub fn name(self) -> &'static str {
        match self {
            Unsafe::StaleReads => "stale-reads",
        }
    }

    /// The process role that takes the flag, and the flag.
    pub fn flag(self) -> (&'static str, &'static str) {
        match self {
            Unsafe::StaleReads => ("coordinator", "--unsafe-local-reads"),
        }
    }

    /// The workload whose checker must report the run invalid.
    pub fn caught_by(self) -> Workload {
        match self {
            Unsafe::StaleReads => Workload::Register,
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
