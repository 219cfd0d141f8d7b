//! One Miroir process on one host, started through `ip netns exec` so that it
//! lives in the host's namespace. Its pid is the binary's own (`ip` execs it),
//! so signals reach it directly.

use std::fs::OpenOptions;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result};

use crate::net::Host;

#[derive(Debug)]
pub struct Proc {
    pub host: Host,
    binary: PathBuf,
    args: Vec<String>,
    log: PathBuf,
    child: Option<Child>,
    paused: bool,
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) has no memory effects; a stale pid only yields ESRCH.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

impl Proc {
    pub fn new(host: Host, binary: PathBuf, args: Vec<String>, log: PathBuf) -> Self {
        Proc {
            host,
            binary,
            args,
            log,
            child: None,
            paused: false,
        }
    }

    /// Starts the process (again, after a kill: same flags, same data).
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("cannot open {}", self.log.display()))?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.host.netns()])
            .arg(&self.binary)
            .args(&self.args)
            .env("RUST_LOG", "info,openraft=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            // Its own process group: a Ctrl-C at the terminal reaches the
            // harness only, which then stops everything in order.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", self.binary.display()))?;
        self.child = Some(child);
        self.paused = false;
        Ok(())
    }

    /// `kill -9`, and reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        self.paused = false;
    }

    pub fn pause(&mut self) {
        if let Some(c) = &self.child {
            signal(c.id(), libc::SIGSTOP);
            self.paused = true;
        }
    }

    pub fn resume(&mut self) {
        if let Some(c) = &self.child {
            signal(c.id(), libc::SIGCONT);
        }
        self.paused = false;
    }

    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Whether it exited on its own (a crash the nemesis did not cause).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    pub fn log(&self) -> &Path {
        &self.log
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}
