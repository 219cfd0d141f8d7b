//! `miroir-devnode` against a recording of a real Meilisearch 1.50 server: the scenario in
//! `tests/data/meili-transcripts/record.py` is replayed against a fresh devnode and compared.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

#[path = "support/transcript.rs"]
mod transcript;
use std::time::{Duration, Instant};

const MASTER_KEY: &str = "devnode-test-master-key";

/// Steps whose recorded values depend on Meilisearch's ranking internals, with why. A full
/// comparison may differ on these steps only.
const RANKING_DEPENDENT: &[(&str, &str)] = &[(
    "multi-search-federated",
    "`weightedRankingScore` is Meilisearch's exact ranking score, which the devnode only approximates",
)];

/// A devnode process, killed when dropped so a failing test leaves nothing behind.
struct Devnode {
    child: Child,
    port: u16,
}

impl Drop for Devnode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// Whether `GET /health` answers 200.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.1 200")
}

fn start_devnode() -> Devnode {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_miroir-devnode"))
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--master-key",
            MASTER_KEY,
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start miroir-devnode");
    let mut node = Devnode { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while !healthy(port) {
        if let Ok(Some(status)) = node.child.try_wait() {
            panic!("miroir-devnode exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "miroir-devnode did not become healthy on port {port}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    node
}

/// Replays the recorded scenario against a fresh devnode; returns the temp dir and the recording.
fn record() -> (Devnode, tempfile::TempDir, PathBuf) {
    let node = start_devnode();
    let url = format!("http://127.0.0.1:{}", node.port);
    let (dir, out) = transcript::record(&url, MASTER_KEY);
    (node, dir, out)
}

/// Every recorded step gets the same status code and the same body shape from the devnode.
#[test]
fn devnode_matches_meilisearch_status_codes_and_shapes() {
    let (_node, _dir, actual) = record();
    let (ok, report) = transcript::compare(&actual, true);
    assert!(
        ok && report.trim_end().ends_with(" 0 differ"),
        "shape differences:\n{report}"
    );
}

/// Values match the recording everywhere except steps that depend on ranking internals.
#[test]
fn devnode_values_differ_only_where_ranking_decides() {
    let (_node, _dir, actual) = record();
    let (_, report) = transcript::compare(&actual, false);
    let unexpected: Vec<String> = transcript::differing_steps(&report)
        .into_iter()
        .filter(|s| !RANKING_DEPENDENT.iter().any(|(step, _)| step == s))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected differences in {unexpected:?}:\n{report}"
    );
    assert!(
        report.contains(" steps match, "),
        "compare gave no summary:\n{report}"
    );
}
