//! Workloads: the clients of a run and what they record. Each workload has
//! a checker in [`crate::check`] that judges what it recorded.

pub mod documents;
pub mod register;
pub mod shard_map;

/// A workload a run can include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Linearizable read, write and compare-and-set on coordinator settings.
    Register,
    /// Document adds, updates and deletes through the routers; nothing
    /// acknowledged lost, nothing deleted back, no duplicates, no strangers.
    Documents,
    /// Epochs the routers write under: never backwards, never past a lease.
    /// Runs the documents clients for its writes.
    ShardMap,
}

impl Workload {
    pub const ALL: [Workload; 3] = [Workload::Register, Workload::Documents, Workload::ShardMap];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
            Workload::Documents => "documents",
            Workload::ShardMap => "shard-map",
        }
    }

    pub fn parse_list(s: &str) -> Result<Vec<Workload>, String> {
        let mut out = vec![];
        for w in s.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if w == "all" {
                out.extend(Workload::ALL);
            } else {
                out.push(w.parse()?);
            }
        }
        out.sort();
        out.dedup();
        if out.is_empty() {
            return Err("name at least one workload".into());
        }
        Ok(out)
    }
}

named!(Workload, "workload", " or `all`");
