//! Hosts: one network namespace each, joined by a bridge in the root
//! namespace (where the harness and its clients live, at `.254`).
//!
//! Everything this module creates is named with the `mj-` prefix, so that
//! [`Net::remove_leftovers`] can find what a crashed run left behind.

pub mod firewall;
pub mod shaping;

use std::net::Ipv4Addr;
use std::process::Command;

use anyhow::{bail, Context, Result};

const PREFIX: &str = "mj-";
const BRIDGE: &str = "mj-br";
/// The harness's own address on the bridge; never cut by a partition.
pub const CONTROL_IP: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 254);

/// One host: a namespace with one interface on the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    /// Short name used everywhere in the run: `c1`, `r1`, `n1`, ...
    pub name: String,
    pub ip: Ipv4Addr,
}

impl Host {
    pub fn netns(&self) -> String {
        format!("{PREFIX}{}", self.name)
    }

    /// The bridge side of this host's veth pair (names are at most 15 bytes).
    fn veth(&self) -> String {
        format!("mjv-{}", self.name)
    }
}

/// The set of hosts of a run. Dropping it removes them.
#[derive(Debug)]
pub struct Net {
    hosts: Vec<Host>,
    next_ip: u8,
}

/// Runs a command and fails with its stderr when it fails.
pub(crate) fn sh(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run {program}: is it installed? (`make deps-jepsen`)"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs `program args` inside a host's namespace.
pub(crate) fn in_ns(host: &Host, program: &str, args: &[&str]) -> Result<String> {
    let ns = host.netns();
    let mut all = vec!["netns", "exec", ns.as_str(), program];
    all.extend_from_slice(args);
    sh("ip", &all)
}

/// Namespaces and iptables rules need root.
pub fn require_root() -> Result<()> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        bail!("the partition suite needs root (network namespaces, iptables)");
    }
    Ok(())
}

impl Net {
    /// Creates the bridge and one host per name, after removing whatever an
    /// earlier run left behind.
    pub fn create(names: &[&str]) -> Result<Net> {
        require_root()?;
        Self::remove_leftovers();
        sh("ip", &["link", "add", BRIDGE, "type", "bridge"])?;
        sh(
            "ip",
            &["addr", "add", &format!("{CONTROL_IP}/24"), "dev", BRIDGE],
        )?;
        sh("ip", &["link", "set", BRIDGE, "up"])?;
        let mut net = Net {
            hosts: vec![],
            next_ip: 1,
        };
        for name in names {
            net.add_host(name)?;
        }
        Ok(net)
    }

    /// Adds a host (for example a coordinator that joins mid-run).
    pub fn add_host(&mut self, name: &str) -> Result<Host> {
        if let Some(h) = self.host(name) {
            return Ok(h.clone());
        }
        let host = Host {
            name: name.to_string(),
            ip: Ipv4Addr::new(10, 77, 0, self.next_ip),
        };
        self.next_ip += 1;
        let (ns, veth) = (host.netns(), host.veth());
        sh("ip", &["netns", "add", &ns])?;
        // Recorded before the rest, so a half-made host is still removed.
        self.hosts.push(host.clone());
        sh(
            "ip",
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        )?;
        sh("ip", &["link", "set", &veth, "master", BRIDGE, "up"])?;
        sh(
            "ip",
            &[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{}/24", host.ip),
                "dev",
                "eth0",
            ],
        )?;
        sh("ip", &["-n", &ns, "link", "set", "eth0", "up"])?;
        sh("ip", &["-n", &ns, "link", "set", "lo", "up"])?;
        Ok(host)
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.iter().find(|h| h.name == name)
    }

    pub fn hosts(&self) -> &[Host] {
        &self.hosts
    }

    /// Removes every `mj-` namespace and link, and the bridge. Safe to call
    /// when there is nothing to remove; errors are ignored on purpose.
    pub fn remove_leftovers() {
        if let Ok(list) = sh("ip", &["netns", "list"]) {
            for ns in list.lines().filter_map(|l| l.split_whitespace().next()) {
                if ns.starts_with(PREFIX) {
                    // Processes of a run that was itself killed keep the
                    // namespace alive: stop them first, and wait until they are gone.
                    let pids: Vec<i32> = sh("ip", &["netns", "pids", ns])
                        .unwrap_or_default()
                        .split_whitespace()
                        .filter_map(|p| p.parse().ok())
                        .collect();
                    for &pid in &pids {
                        // SAFETY: kill(2) on a pid read from the namespace.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
                    // SAFETY: signal 0 only asks whether the pid still exists.
                    while pids.iter().any(|&p| unsafe { libc::kill(p, 0) } == 0)
                        && std::time::Instant::now() < deadline
                    {
                        std::thread::sleep(std::time::Duration::from_millis(50));
                    }
                    let _ = sh("ip", &["netns", "del", ns]);
                }
            }
        }
        if let Ok(links) = sh("ip", &["-o", "link", "show"]) {
            for link in links.lines().filter_map(|l| l.split(": ").nth(1)) {
                let name = link.split('@').next().unwrap_or(link);
                if name.starts_with("mjv-") || name == BRIDGE {
                    let _ = sh("ip", &["link", "del", name]);
                }
            }
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        for h in &self.hosts {
            let _ = sh("ip", &["netns", "del", &h.netns()]);
        }
        let _ = sh("ip", &["link", "del", BRIDGE]);
    }
}
