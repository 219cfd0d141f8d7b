//! The command line of `miroir-ctl`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Operate a Miroir cluster through any coordinator.
///
/// Exit codes: 0 done; 1 the cluster refused the request (bad argument,
/// unknown id, invalid transition, wrong key); 2 wrong usage; 3 no coordinator
/// or leader could be reached (retry later).
#[derive(Debug, Parser)]
#[command(name = "miroir-ctl", version)]
pub struct Cli {
    /// Any coordinator's gRPC address; requests reach the leader from there.
    #[arg(
        long,
        short = 'c',
        env = "MIROIR_COORDINATOR",
        default_value = "127.0.0.1:7701",
        global = true
    )]
    pub coordinator: String,
    /// The admin key, if the cluster requires one.
    #[arg(long, env = "MIROIR_ADMIN_KEY", hide_env_values = true, global = true)]
    pub admin_key: Option<String>,
    /// CA certificate (PEM) to verify coordinators' TLS certificates; turns TLS on.
    #[arg(long, env = "MIROIR_TLS_CA", global = true)]
    pub tls_ca: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Give up on a request after this many seconds.
    #[arg(long, default_value_t = 30, global = true)]
    pub timeout: u64,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Coordinator membership and health.
    #[command(subcommand)]
    Cluster(ClusterCmd),
    /// Meilisearch nodes and replica groups.
    #[command(subcommand)]
    Nodes(NodesCmd),
    /// Indexes as the coordinators know them.
    #[command(subcommand)]
    Indexes(IndexesCmd),
    /// Shard maps.
    #[command(subcommand)]
    Shards(ShardsCmd),
    /// Cluster-wide settings.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Multi-step changes the coordinator leader runs (index deletions).
    #[command(subcommand)]
    Workflows(WorkflowsCmd),
    /// Deletes recorded as tombstones, so no copy or repair brings a deleted
    /// document back; kept for `tombstone_retention_s`.
    #[command(subcommand)]
    Tombstones(TombstonesCmd),
    /// Comparing every copy of every shard and repairing what differs:
    /// the schedule, the copies behind, passes run and started by hand.
    /// Schedule and throttle are cluster settings (`config set
    /// anti_entropy_schedule "0 3 * * *"`, `anti_entropy_docs_per_s`, ...).
    #[command(subcommand, name = "anti-entropy")]
    AntiEntropy(AntiEntropyCmd),
    /// Changing the fleet under live traffic: a node joins or is drained, a
    /// replica group is added or removed, a failed node is replaced. Each
    /// index's moving shards are copied to their new owners, cut over under
    /// a short fence (`fence_budget`), and cleaned off the old ones.
    #[command(subcommand)]
    Migrate(MigrateCmd),
}

#[derive(Debug, Subcommand)]
pub enum MigrateCmd {
    /// Start a migration (one runs at a time).
    Start(MigrateStartArgs),
    /// What a migration would move, without starting it: shards, documents
    /// and bytes per index, storage and write amplification while it runs,
    /// and its time at the throttle.
    Simulate(MigrateSimulateArgs),
    /// A migration and each index's move (the running one, else the newest).
    Status { id: Option<u64> },
    /// Migrations, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// Follow a migration until it finishes: phase, documents copied, rate.
    Watch { id: Option<u64> },
    /// Cut over a migration started with --manual-cutover once it caught up.
    Cutover { id: Option<u64> },
    /// Stop taking steps (a fence that is up is lifted first).
    Pause { id: Option<u64> },
    /// Go on after a pause, or after the migration reported itself stuck.
    Resume { id: Option<u64> },
    /// Whether a migration may start now (the `migration_window` setting, in
    /// UTC): exit 0 inside the window, 1 outside (with when it next opens).
    CheckWindow,
    /// Undo the migration: every index that has not switched to its new
    /// copies keeps the old ones, and what was copied is deleted. Refused
    /// once an index switched (roll back with the reverse migration).
    Abort { id: Option<u64> },
}

#[derive(Debug, Args)]
#[group(required = true, multiple = false, id = "change")]
pub struct ChangeArgs {
    /// A joining node takes its share of its group's shards.
    #[arg(long, value_name = "NODE")]
    pub join: Option<String>,
    /// A node's shards move to the rest of its group, then it is removed.
    #[arg(long, value_name = "NODE")]
    pub drain: Option<String>,
    /// An initializing replica group is filled, then serves.
    #[arg(long, value_name = "GROUP")]
    pub add_group: Option<u32>,
    /// A replica group's copies are dropped and its nodes removed.
    #[arg(long, value_name = "GROUP")]
    pub remove_group: Option<u32>,
    /// A failed node is replaced by the joining node given with --with.
    #[arg(long, value_name = "NODE", requires = "with")]
    pub replace: Option<String>,
}

#[derive(Debug, Args)]
pub struct MigrateSimulateArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    #[arg(long, value_name = "NODE")]
    pub with: Option<String>,
    /// Documents per second per new copy to estimate with (default: the setting).
    #[arg(long)]
    pub throttle: Option<u64>,
    /// List every moving shard with its old and new owners.
    #[arg(long)]
    pub detailed: bool,
}

#[derive(Debug, Args)]
pub struct MigrateStartArgs {
    #[command(flatten)]
    pub change: ChangeArgs,
    /// With --replace: the joining node that takes the failed one's place.
    #[arg(long, value_name = "NODE")]
    pub with: Option<String>,
    /// Cut over only on `migrate cutover`, not as soon as the copy caught up.
    #[arg(long)]
    pub manual_cutover: bool,
    /// Documents per second copied to each new copy (default: the
    /// `migration_docs_per_s` setting; 0: no limit).
    #[arg(long)]
    pub throttle: Option<u64>,
    /// Start even outside the allowed migration windows.
    #[arg(long)]
    pub force: bool,
    /// Follow the migration until it finishes.
    #[arg(long)]
    pub watch: bool,
}

#[derive(Debug, Subcommand)]
pub enum AntiEntropyCmd {
    /// The schedule and next round, the running pass, the copies behind
    /// (and why), and each index's last pass.
    Status,
    /// Passes that ran, newest first.
    History {
        #[arg(long)]
        index: Option<String>,
        /// Every finding of each pass: kind, node, shard, document.
        #[arg(long)]
        detailed: bool,
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Compare the copies of an index's shards and report what differs,
    /// writing nothing; exits 1 if anything differs.
    Verify(PassArgs),
    /// Compare and repair: the newest version wins, a delete wins over older
    /// versions, strays are removed, index settings are made alike.
    Run(PassArgs),
}

#[derive(Debug, Args)]
pub struct PassArgs {
    #[arg(long)]
    pub index: String,
    /// Shards to compare, e.g. `0-63` or `1,4,9-12` (default: every shard).
    #[arg(long, value_parser = parse_shards)]
    pub shards: Option<::std::vec::Vec<u32>>,
    /// Start the pass and print its workflow without following it.
    #[arg(long)]
    pub no_wait: bool,
}

#[derive(Debug, Subcommand)]
pub enum TombstonesCmd {
    /// Records kept per index, with the oldest and newest version.
    Stats,
    /// One index's newest tombstones, newest first.
    List {
        #[arg(long)]
        index: String,
        /// How many (at most 1000).
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum WorkflowsCmd {
    /// Workflows, newest first.
    List {
        /// Only the ones that have not finished.
        #[arg(long)]
        running: bool,
    },
    /// One workflow with its history and errors.
    Show { id: u64 },
    /// Follow a workflow, printing each phase it enters, until it is done.
    Watch { id: u64 },
}

#[derive(Debug, Subcommand)]
pub enum ClusterCmd {
    /// Leader, term, commit index, and every member's progress.
    Status,
    /// Members with their roles and addresses.
    Members,
    /// Add a coordinator: it joins as a learner, catches up, then becomes a voter.
    /// With an existing id and a new address, updates the member's address.
    AddMember {
        #[arg(long)]
        id: u64,
        /// Its gRPC address (host:port) as the other coordinators reach it.
        #[arg(long)]
        address: String,
        /// Keep it a non-voting learner.
        #[arg(long)]
        learner: bool,
    },
    /// Remove a coordinator from the cluster.
    RemoveMember {
        #[arg(long)]
        id: u64,
    },
    /// Hand leadership to another voter.
    TransferLeader {
        #[arg(long)]
        to: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum NodesCmd {
    /// Nodes and replica groups.
    List,
    /// Register a Meilisearch node in a replica group; when indexes already
    /// hold data, a migration starts that gives it its share of the shards.
    Add {
        #[arg(long)]
        id: String,
        /// The node's Meilisearch URL, e.g. http://10.0.0.5:7700.
        #[arg(long)]
        address: String,
        #[arg(long, default_value_t = 0)]
        group: u32,
        /// Only register it (to replace a failed node, or as part of a new group).
        #[arg(long)]
        no_join: bool,
    },
    /// Move a node's shards to the rest of its group, then remove it (a
    /// migration: follow it with `migrate watch`).
    Drain { id: String },
    /// Mark a node failed so routers stop reading from it.
    MarkFailed { id: String },
    /// Return a drained or failed node to service.
    Activate { id: String },
    /// Forget a node that holds no shard.
    Remove { id: String },
}

#[derive(Debug, Subcommand)]
pub enum IndexesCmd {
    List,
    /// Register an index and place its shards.
    Create(CreateIndexArgs),
    /// An index with its shard counts per node.
    Describe {
        uid: String,
    },
    /// Fix the primary key of an index created without one.
    SetPrimaryKey {
        uid: String,
        primary_key: String,
    },
    /// Ask the nodes which indexes they hold and compare with the shard maps:
    /// copies missing on a node or not answered for and, when no UID is
    /// given, physical indexes no map names. Exits 1 if any copy disagrees.
    Check {
        /// One index (default: every index).
        uid: Option<String>,
    },
    /// Delete an index from every node, then from the coordinators (the same
    /// workflow as `DELETE /indexes/{uid}`); waits for it unless --no-wait.
    Delete {
        uid: String,
        /// Start the deletion and print its workflow id without waiting.
        #[arg(long)]
        no_wait: bool,
    },
}

#[derive(Debug, Args)]
pub struct CreateIndexArgs {
    pub uid: String,
    #[arg(long)]
    pub primary_key: Option<String>,
    /// Number of shards (default: the `default_shards` setting).
    #[arg(long)]
    pub shards: Option<u32>,
    /// Copies of each shard per replica group (default: `default_replication_factor`).
    #[arg(long)]
    pub replication_factor: Option<u32>,
}

#[derive(Debug, Subcommand)]
pub enum ShardsCmd {
    /// Every shard of an index with its read and write sets and fence.
    List {
        #[arg(long)]
        index: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCmd {
    /// One setting, or all of them.
    Get { key: Option<String> },
    /// Change a setting.
    Set {
        key: String,
        value: String,
        /// Apply only if the setting is still at this version (0 = never set).
        #[arg(long)]
        expect_version: Option<u64>,
    },
}

/// Shards as operators write them: `0-63`, `3`, `1,4,9-12`.
pub fn parse_shards(s: &str) -> Result<Vec<u32>, String> {
    let mut out = vec![];
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let num = |x: &str| {
            x.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{x}` is not a shard number (give e.g. 0-63 or 1,4,9-12)"))
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (num(a)?, num(b)?);
                if a > b {
                    return Err(format!("range `{part}` runs backwards"));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    if out.is_empty() {
        return Err("name at least one shard, e.g. 0-63".into());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::parse_shards;

    #[test]
    fn shard_lists() {
        assert_eq!(parse_shards("0-3").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_shards("1, 4,9-10").unwrap(), vec![1, 4, 9, 10]);
        assert!(parse_shards("3-1").is_err());
        assert!(parse_shards("a").is_err());
        assert!(parse_shards("").is_err());
    }
}
