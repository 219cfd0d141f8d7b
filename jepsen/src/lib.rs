//! Miroir's partition-testing harness, in the spirit of Jepsen: it runs a real
//! cluster as hosts in network namespaces, injects faults on a seeded schedule,
//! records every client operation and judges the history.
//!
//! - [`net`]: the hosts (namespaces on a bridge) and the links between them;
//! - [`db`]: the Miroir processes on those hosts, and the test-only switches;
//! - [`nemesis`]: the faults and their seeded schedule;
//! - [`workload`]: the clients and what they record;
//! - [`check`]: the checkers that judge a history;
//! - [`report`]: the run folder and its HTML report;
//! - [`run`]: one run from start to verdict; [`commands`]: the CLI's commands.

/// `Display` and `FromStr` for an enum with `ALL` and `name()`: the name
/// on the command line, and a clear error listing the names for a typo.
macro_rules! named {
    ($t:ty, $what:literal, $also:literal) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, String> {
                <$t>::ALL
                    .into_iter()
                    .find(|x| x.name() == s)
                    .ok_or_else(|| {
                        let names: Vec<_> = <$t>::ALL.iter().map(|x| x.name()).collect();
                        format!("unknown {} `{s}`: use {}{}", $what, names.join(", "), $also)
                    })
            }
        }
    };
}

pub mod check;
pub mod cli;
pub mod commands;
pub mod db;
pub mod history;
pub mod lock;
pub mod nemesis;
pub mod net;
pub mod report;
pub mod run;
pub mod workload;
