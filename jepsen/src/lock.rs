//! One run at a time per machine: every run uses the same host names, and
//! starts by removing what it finds under them, which would tear down a run
//! still going. An exclusive `flock` on a well-known file guards that.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;

use anyhow::{bail, Context, Result};

const PATH: &str = "/run/miroir-jepsen.lock";

/// Held for as long as it lives; the kernel drops the lock if the process dies.
pub struct RunLock {
    _file: File,
}

impl RunLock {
    pub fn acquire() -> Result<RunLock> {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(PATH)
            .with_context(|| format!("cannot open {PATH} (the suite runs as root)"))?;
        // SAFETY: flock on a file descriptor this function owns.
        let got = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !got {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "another miroir-jepsen run is in progress (pid {}): runs share host names, so wait for it to end",
                holder.trim()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        write!(file, "{}", std::process::id())?;
        Ok(RunLock { _file: file })
    }
}
