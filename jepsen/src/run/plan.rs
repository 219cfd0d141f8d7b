//! What a run was asked for, checked before anything starts.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{bail, Result};

use crate::cli::RunArgs;
use crate::db::switches::Unsafe;
use crate::db::Layout;
use crate::nemesis::schedule::{Lane, Pace};
use crate::nemesis::Kind;
use crate::workload::Workload;

/// Everything a run was asked for, validated.
pub struct Plan {
    pub args: RunArgs,
    pub pace: Pace,
    pub seed: u64,
    pub workloads: Vec<Workload>,
    /// Each lane's nemeses (one lane per `--nemesis`).
    pub lanes: Vec<Lane>,
    /// Every nemesis of any lane.
    pub nemeses: Vec<Kind>,
    pub switches: Vec<Unsafe>,
}

impl Plan {
    pub fn from_args(args: RunArgs) -> Result<Plan> {
        let workloads = Workload::parse_list(&args.workload).map_err(anyhow::Error::msg)?;
        let lanes = args
            .nemesis
            .iter()
            .map(|l| Lane::parse(l))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| anyhow::anyhow!("--nemesis: {e}"))?;
        if !(1..=4).contains(&lanes.len()) {
            bail!("--nemesis may be given 1 to 4 times (one lane of faults each)");
        }
        let mut nemeses: Vec<Kind> = lanes.iter().flat_map(|l| l.kinds.clone()).collect();
        nemeses.sort();
        nemeses.dedup();
        let switches = args
            .unsafe_switches
            .iter()
            .map(|s| s.parse::<Unsafe>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(anyhow::Error::msg)?;
        for (flag, n) in [
            ("--routers", args.routers),
            ("--groups", args.groups as u64),
            ("--nodes-per-group", args.nodes_per_group as u64),
            ("--clients", args.clients as u64),
        ] {
            if !(1..=16).contains(&n) {
                bail!("{flag} must be 1 to 16");
            }
        }
        if !(3..=7).contains(&args.coordinators) {
            bail!("--coordinators must be 3 to 7");
        }
        if !(500..=60_000).contains(&args.lease_ms) {
            bail!("--lease-ms must be 500 to 60000 (the cluster setting's range)");
        }
        if args.time_limit < 5 {
            bail!("--time-limit must be at least 5 seconds");
        }
        let pace = Pace {
            fault: Pace::range(&args.fault_s).map_err(|e| anyhow::anyhow!("--fault-s: {e}"))?,
            quiet: Pace::range(&args.quiet_s).map_err(|e| anyhow::anyhow!("--quiet-s: {e}"))?,
        };
        let seed = args.seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
        });
        Ok(Plan {
            args,
            pace,
            seed,
            workloads,
            lanes,
            nemeses,
            switches,
        })
    }

    pub fn layout(&self) -> Layout {
        let mut extra: BTreeMap<String, Vec<String>> = BTreeMap::new();
        extra.insert(
            "router".into(),
            vec![
                "--node-timeout-ms".into(),
                self.args.node_timeout_ms.to_string(),
            ],
        );
        for s in &self.switches {
            let (role, flag) = s.flag();
            extra.entry(role.into()).or_default().push(flag.into());
        }
        Layout {
            coordinators: self.args.coordinators,
            spare_coordinators: u64::from(self.nemeses.contains(&Kind::Membership)),
            routers: self.args.routers,
            nodes_per_group: self.args.nodes_per_group,
            groups: self.args.groups,
            extra,
        }
    }

    /// The hosts faults may touch, from `--fault-hosts`.
    pub fn fault_targets(&self, layout: &Layout) -> Result<Vec<String>> {
        let mut out = vec![];
        for word in self
            .args
            .fault_hosts
            .split(',')
            .map(str::trim)
            .filter(|w| !w.is_empty())
        {
            match word {
                "all" => out.extend(layout.host_names()),
                "coordinators" => out.extend(layout.coordinator_names()),
                "routers" => out.extend(layout.router_names()),
                "devnodes" => out.extend(layout.node_names()),
                h if layout.host_names().iter().any(|n| n == h) => out.push(h.to_string()),
                other => bail!(
                    "--fault-hosts: `{other}` is neither a role (coordinators, routers, devnodes) nor a host of this layout"
                ),
            }
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// The command line that repeats this run.
    pub fn command(&self) -> String {
        let a = &self.args;
        let mut c = format!(
            "miroir-jepsen run --workload {}{} --time-limit {} --seed {} \
             --coordinators {} --routers {} --groups {} --nodes-per-group {} --clients {}",
            names(&self.workloads),
            self.lane_names()
                .iter()
                .map(|l| format!(" --nemesis {l}"))
                .collect::<String>(),
            a.time_limit,
            self.seed,
            a.coordinators,
            a.routers,
            a.groups,
            a.nodes_per_group,
            a.clients
        );
        c += &format!(
            " --fault-hosts {} --lease-ms {} --node-timeout-ms {} --fault-s {} --quiet-s {}",
            a.fault_hosts, a.lease_ms, a.node_timeout_ms, a.fault_s, a.quiet_s
        );
        for s in &self.switches {
            c += &format!(" --unsafe {s}");
        }
        c
    }
}

impl Plan {
    /// Each lane's nemeses as `--nemesis` takes them.
    pub fn lane_names(&self) -> Vec<String> {
        self.lanes.iter().map(ToString::to_string).collect()
    }
}

fn names<T: std::fmt::Display>(xs: &[T]) -> String {
    xs.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn plan(args: &[&str]) -> Result<Plan> {
        let cli = crate::cli::Cli::try_parse_from(
            ["miroir-jepsen", "run"].iter().chain(args.iter()).copied(),
        )
        .map_err(|e| anyhow::anyhow!(e.to_string()))?;
        match cli.command {
            crate::cli::Cmd::Run(a) => Plan::from_args(*a),
            _ => unreachable!("a run command"),
        }
    }

    #[test]
    fn defaults_make_a_valid_plan_with_a_seed() {
        let p = plan(&[]).unwrap();
        assert_eq!(p.workloads, Workload::ALL.to_vec());
        assert_eq!(p.nemeses, Kind::ALL.to_vec());
        assert!(p.switches.is_empty());
        assert_eq!(p.lanes, vec![Lane::from(Kind::ALL.to_vec())]);
        let p = plan(&[
            "--seed",
            "7",
            "--nemesis",
            "kill,pause",
            "--nemesis",
            "partition-peers:10-12",
        ])
        .unwrap();
        assert!(p.command().contains("--seed 7"), "{}", p.command());
        assert!(
            p.command()
                .contains("--nemesis kill,pause --nemesis partition-peers:10-12"),
            "{}",
            p.command()
        );
        assert_eq!(p.lanes[0], Lane::from(vec![Kind::Kill, Kind::Pause]));
        assert_eq!(p.lanes[1].to_string(), "partition-peers:10-12");
        assert_eq!(
            p.nemeses,
            vec![Kind::PartitionPeers, Kind::Kill, Kind::Pause]
        );
    }

    #[test]
    fn bad_input_is_refused_with_a_reason() {
        let cases: &[(&[&str], &str)] = &[
            (&["--workload", "bank"], "unknown workload `bank`"),
            (&["--nemesis", "flood"], "unknown nemesis `flood`"),
            (&["--unsafe", "yolo"], "unknown unsafe switch `yolo`"),
            (&["--coordinators", "2"], "3 to 7"),
            (&["--time-limit", "1"], "at least 5"),
            (&["--lease-ms", "100"], "500 to 60000"),
            (&["--routers", "0"], "--routers must be 1 to 16"),
            (&["--clients", "0"], "--clients must be 1 to 16"),
            (&["--fault-s", "9-2"], "--fault-s"),
            (
                &[
                    "--nemesis",
                    "kill",
                    "--nemesis",
                    "pause",
                    "--nemesis",
                    "kill",
                    "--nemesis",
                    "kill",
                    "--nemesis",
                    "pause",
                ],
                "1 to 4 times",
            ),
            (
                &["--nemesis", "kill", "--nemesis", "jump"],
                "unknown nemesis `jump`",
            ),
            (&["--nemesis", "kill:4-2"], "--nemesis: `kill:4-2`"),
        ];
        for (args, want) in cases {
            let e = plan(args).err().map(|e| e.to_string()).unwrap_or_default();
            assert!(e.contains(want), "{args:?}: {e}");
        }
    }

    #[test]
    fn fault_hosts_take_roles_and_names() {
        let p = plan(&["--fault-hosts", "routers,c2", "--nemesis", "membership"]).unwrap();
        let layout = p.layout();
        assert_eq!(layout.spare_coordinators, 1);
        assert_eq!(p.fault_targets(&layout).unwrap(), ["c2", "r1", "r2"]);
        let p = plan(&["--fault-hosts", "x9"]).unwrap();
        let e = p.fault_targets(&p.layout()).unwrap_err().to_string();
        assert!(e.contains("x9"), "{e}");
    }

    #[test]
    fn unsafe_switches_reach_the_right_processes() {
        let p = plan(&[
            "--unsafe",
            "stale-reads",
            "--unsafe",
            "ignore-lease",
            "--unsafe",
            "stale-watches",
        ])
        .unwrap();
        let l = p.layout();
        assert!(l.extra["coordinator"].contains(&"--unsafe-local-reads".to_string()));
        assert!(l.extra["coordinator"].contains(&"--unsafe-stale-watches".to_string()));
        assert!(l.extra["router"].contains(&"--unsafe-ignore-lease".to_string()));
        assert!(!l.extra.contains_key("devnode"));
    }
}
