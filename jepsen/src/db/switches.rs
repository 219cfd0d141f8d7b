//! Test-only unsafe switches. Each removes one mechanism a workload's
//! property depends on, so that a run can show the workload notices. They
//! are hidden flags of the Miroir binaries, off unless a run names them.

use crate::workload::Workload;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Unsafe {
    /// Coordinators answer reads from local state, without ReadIndex.
    StaleReads,
    /// Coordinators open shard-map watches from local state, without ReadIndex.
    StaleWatches,
    /// Routers count a node's failed write as acknowledged.
    AckFailedWrites,
    /// Routers write without a live lease, and count late replies.
    IgnoreLease,
    /// Repairs return behind copies to serving without copying anything.
    ServeUnrepaired,
}

impl Unsafe {
    pub const ALL: [Unsafe; 5] = [
        Unsafe::StaleReads,
        Unsafe::StaleWatches,
        Unsafe::AckFailedWrites,
        Unsafe::IgnoreLease,
        Unsafe::ServeUnrepaired,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Unsafe::StaleReads => "stale-reads",
            Unsafe::StaleWatches => "stale-watches",
            Unsafe::AckFailedWrites => "ack-failed-writes",
            Unsafe::IgnoreLease => "ignore-lease",
            Unsafe::ServeUnrepaired => "serve-unrepaired",
        }
    }

    /// The process role that takes the flag, and the flag.
    pub fn flag(self) -> (&'static str, &'static str) {
        match self {
            Unsafe::StaleReads => ("coordinator", "--unsafe-local-reads"),
            Unsafe::StaleWatches => ("coordinator", "--unsafe-stale-watches"),
            Unsafe::AckFailedWrites => ("router", "--unsafe-ack-failed-writes"),
            Unsafe::IgnoreLease => ("router", "--unsafe-ignore-lease"),
            Unsafe::ServeUnrepaired => ("coordinator", "--unsafe-serve-unrepaired"),
        }
    }

    /// The workload whose checker must report the run invalid.
    pub fn caught_by(self) -> Workload {
        match self {
            Unsafe::StaleReads => Workload::Register,
            Unsafe::StaleWatches => Workload::ShardMap,
            Unsafe::AckFailedWrites => Workload::Documents,
            Unsafe::IgnoreLease => Workload::ShardMap,
            Unsafe::ServeUnrepaired => Workload::Documents,
        }
    }
}

named!(Unsafe, "unsafe switch", "");
