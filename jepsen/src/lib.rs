//! Miroir's partition-testing harness, in the spirit of Jepsen: it runs a real
//! cluster as hosts in network namespaces, injects faults on a seeded schedule,
//! records every client operation and judges the history.
//!
//! - [`net`]: the hosts (namespaces on a bridge) and the links between them;
//! - [`db`]: the Miroir processes on those hosts;
//! - [`nemesis`]: the faults and their seeded schedule;
//! - [`workload`]: the clients and what they record;
//! - [`check`]: the checkers that judge a history;
//! - [`report`]: the run folder and its HTML report.

pub mod check;
pub mod history;
pub mod report;
