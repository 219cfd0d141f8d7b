//! Command-line interface of `miroir-jepsen`.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "miroir-jepsen",
    version,
    about = "Partition-testing harness for Miroir: runs a real cluster in network namespaces, \
             injects faults on a seeded schedule, records every client operation and judges the history.",
    after_help = "Exit codes: 0 every workload valid, 1 some workload invalid, 2 a checker gave up \
                  (unknown), 3 the harness itself failed or was misused, 130 interrupted.\n\n\
                  Needs root (ip netns, iptables, tc). See docs/jepsen.md."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run workloads against nemeses and write a report folder.
    Run(Box<RunArgs>),
    /// Check a recorded history file (this harness's history.jsonl, an etcd
    /// Jepsen log or Jepsen EDN lines) for linearizability.
    Check(CheckArgs),
    /// Remove namespaces, links and processes a killed run left behind.
    Cleanup,
}

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Workloads, comma-separated: register, documents, shard-map, or all.
    #[arg(long, default_value = "all")]
    pub workload: String,
    /// Nemeses, comma-separated: partition-one, partition-leader, partition-peers,
    /// partition-halves, partition-ring, partition-bridge, partition-control,
    /// kill, pause, netem, membership; or `partition`, `all`, `none`. Give
    /// --nemesis again (up to 4 in all) for another lane: its own sequence of
    /// fault windows, drawn from its own set, overlapping the others. A lane
    /// may name its own fault durations: `kill:2-4` (seconds). Faults
    /// that would touch a process already killed or paused, or a link already
    /// degraded, pick another host or are skipped (the timeline says so).
    #[arg(long, default_value = "all")]
    pub nemesis: Vec<String>,
    /// Seconds of client load with faults (the end is always quiet).
    #[arg(long, default_value_t = 60)]
    pub time_limit: u64,
    /// Seed of the fault schedule and the clients' choices (default: random).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run folders go.
    #[arg(long, default_value = "jepsen/store")]
    pub store: PathBuf,
    /// Voting coordinators (3 to 7).
    #[arg(long, default_value_t = 3)]
    pub coordinators: u64,
    #[arg(long, default_value_t = 2)]
    pub routers: u64,
    /// Replica groups of devnodes, and devnodes per group.
    #[arg(long, default_value_t = 2)]
    pub groups: u32,
    #[arg(long, default_value_t = 2)]
    pub nodes_per_group: u32,
    /// How long each fault lasts, in seconds: MIN-MAX (unless its lane says).
    /// A lane names its own range as `--nemesis kill:2-4`.
    #[arg(long, default_value = "3-8")]
    pub fault_s: String,
    /// How long the quiet periods between faults last, in seconds: MIN-MAX.
    #[arg(long, default_value = "2-5")]
    pub quiet_s: String,
    /// Which hosts faults may touch: `all`, or a comma-separated list of
    /// roles (coordinators, routers, devnodes) and host names (c1, r2, n3).
    #[arg(long, default_value = "all")]
    pub fault_hosts: String,
    /// The cluster's lease_ms setting for the run (short, so lease expiry is
    /// exercised within fault windows).
    #[arg(long, default_value_t = 1500)]
    pub lease_ms: u64,
    /// How long a router waits for one node request (its --node-timeout-ms).
    #[arg(long, default_value_t = 10_000)]
    pub node_timeout_ms: u64,
    /// Concurrent clients per workload.
    #[arg(long, default_value_t = 6)]
    pub clients: usize,
    /// TEST ONLY: turn on an unsafe switch that removes a safety mechanism
    /// (stale-reads, stale-watches, ack-failed-writes, ignore-lease, serve-unrepaired). The run
    /// is then expected to be judged invalid.
    #[arg(long = "unsafe", value_name = "SWITCH")]
    pub unsafe_switches: Vec<String>,
    /// Exit 0 only if the run is judged invalid (for the suite's own teeth tests).
    #[arg(long)]
    pub expect_invalid: bool,
    /// Directory with miroir-coordinator, miroir-router and miroir-devnode
    /// (default: next to this binary).
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
    /// Print the verdict as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// register (read/write/cas) or kv (get/put/append).
    #[arg(long, default_value = "register")]
    pub model: String,
    /// Give up (verdict unknown) after this many seconds, all keys together.
    #[arg(long, default_value_t = 60)]
    pub budget_s: u64,
    pub file: PathBuf,
    #[arg(long)]
    pub json: bool,
}
