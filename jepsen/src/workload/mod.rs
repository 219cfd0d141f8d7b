//! Workloads: the clients of a run and what they record. Each workload has
//! a checker in [`crate::check`] that judges what it recorded.

pub mod register;

use std::fmt;
use std::str::FromStr;

/// A workload a run can include.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Workload {
    /// Linearizable read, write and compare-and-set on coordinator settings.
    Register,
}

impl Workload {
    pub const ALL: [Workload; 1] = [Workload::Register];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Register => "register",
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

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Workload::ALL
            .into_iter()
            .find(|w| w.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Workload::ALL.iter().map(|w| w.name()).collect();
                format!("unknown workload `{s}`: use {} or `all`", names.join(", "))
            })
    }
}
