//! A real Meilisearch binary for tests and benchmarks: where to find it, and how
//! to run one node of it.
//!
//! The binary is `MEILI_BIN` if set, else `../shared/meilisearch/meilisearch`
//! beside the checkout, else `meilisearch` on `PATH`. `make` finds it the same
//! way (`scripts/meili-bin.sh`) and skips the real-node tests, naming them,
//! when there is none; `.ci/run` requires it.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The Meilisearch binary, if one is found.
pub fn binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MEILI_BIN").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    let beside = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/meilisearch/meilisearch");
    if beside.is_file() {
        return Some(beside);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("meilisearch"))
            .find(|p| p.is_file())
    })
}

/// The binary, or a panic that says how to get one or skip these tests: a
/// real-node test never passes without having run.
pub fn required() -> PathBuf {
    binary().unwrap_or_else(|| {
        panic!(
            "no Meilisearch binary: set MEILI_BIN, or put it at ../shared/meilisearch/meilisearch \
             or on PATH; `make` skips the real-node tests by itself (cargo test -- --skip ::meilisearch)"
        )
    })
}

/// The flags every test node gets: small enough that several nodes share two
/// cores, and nothing written outside the node's own folder.
pub fn args(port: u16, dir: &Path, master_key: &str) -> Vec<String> {
    let db = dir.join("db");
    vec![
        "--http-addr".into(),
        format!("127.0.0.1:{port}"),
        "--db-path".into(),
        db.to_string_lossy().into_owned(),
        "--dump-dir".into(),
        dir.join("dumps").to_string_lossy().into_owned(),
        "--snapshot-dir".into(),
        dir.join("snapshots").to_string_lossy().into_owned(),
        "--master-key".into(),
        master_key.into(),
        "--env".into(),
        "development".into(),
        "--no-analytics".into(),
        "--max-indexing-threads".into(),
        "1".into(),
        "--max-indexing-memory".into(),
        "256MiB".into(),
    ]
}

/// Starts one Meilisearch node in `dir` (its working directory too), logging
/// to `log`. The caller waits for `/health` and kills it.
pub fn spawn(bin: &Path, port: u16, dir: &Path, master_key: &str, log: std::fs::File) -> Child {
    std::fs::create_dir_all(dir).expect("node folder");
    Command::new(bin)
        .args(args(port, dir, master_key))
        .current_dir(dir)
        .env("MEILI_LOG_LEVEL", "WARN")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("log file"))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()))
}
