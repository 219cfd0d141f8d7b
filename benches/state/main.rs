//! State benchmark: what a million tombstones cost the coordinators' state
//! machine, against an empty state, in the same run: the latency of applying
//! one more command (through the sled-backed store, as Raft applies it), and
//! the time and size of a snapshot.
//!
//! `cargo bench --bench state` (or `make bench`); `-- --quick` uses 100,000
//! tombstones for the smoke run of `make test`. Figures go to stdout and to
//! target/bench/state.json.

use std::time::{Duration, Instant};

use miroir::coordinator::store;
use miroir::coordinator::typ::{Entry, LogId};
use miroir::state::commands::{AddNode, CreateIndex, InitCluster, RecordTombstone};
use miroir::state::tombstones::{Deleted, Tombstone};
use miroir::state::version::Version;
use miroir::state::{Command, CommandResponse, GroupId, IndexUid, NodeId, TaskUid};
use openraft::storage::RaftStateMachine;
use openraft::{CommittedLeaderId, EntryPayload, RaftSnapshotBuilder};

const INDEX: &str = "bench";
/// Applies timed per state.
const SAMPLES: u64 = 2000;
/// Tombstones per apply while filling (one log entry carries a batch).
const FILL_BATCH: u64 = 1000;

struct Figures {
    tombstones: u64,
    apply_p50_us: f64,
    apply_p99_us: f64,
    snapshot_ms: f64,
    snapshot_mib: f64,
}

fn entry(index: u64, cmd: Command) -> Entry {
    Entry {
        log_id: LogId::new(CommittedLeaderId::new(1, 1), index),
        payload: EntryPayload::Normal(cmd),
    }
}

/// A delete of one id, as a router records it.
fn tombstone(n: u64) -> Command {
    Command::RecordTombstone(RecordTombstone {
        index: IndexUid(INDEX.into()),
        tombstone: Tombstone {
            version: Version(Version::at_unix_ms(1_800_000_000_000).0 + n),
            task: Some(TaskUid(n + 1)),
            deleted: Deleted::Ids(vec![format!("doc-{n:08}")]),
        },
        // Well inside the retention: nothing is purged while filling.
        at_ms: 1_800_000_000_000,
    })
}

fn percentile_us(v: &mut [Duration], p: f64) -> f64 {
    v.sort();
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i].as_secs_f64() * 1e6
}

async fn measure(tombstones: u64) -> Figures {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_log, mut sm) = store::open(dir.path()).expect("open store");
    let mut log_index = 1;
    let create = Command::CreateIndex(CreateIndex {
        uid: IndexUid(INDEX.into()),
        primary_key: Some("id".into()),
        shards: Some(1),
        replication_factor: Some(1),
        created_at_ms: 0,
    });
    let setup = vec![
        Command::InitCluster(InitCluster {
            cluster_id: "bench".into(),
        }),
        Command::AddNode(AddNode {
            id: NodeId("node-0".into()),
            address: "http://127.0.0.1:1".into(),
            group: GroupId(0),
        }),
        create,
    ];
    let out = sm
        .apply([entry(log_index, Command::Batch(setup))])
        .await
        .expect("setup");
    assert!(
        matches!(&out[0], Ok(CommandResponse::Batch(r)) if r.iter().all(Result::is_ok)),
        "{out:?}"
    );
    let mut n = 0;
    while n < tombstones {
        let batch: Vec<Command> = (n..(n + FILL_BATCH).min(tombstones))
            .map(tombstone)
            .collect();
        n += batch.len() as u64;
        log_index += 1;
        sm.apply([entry(log_index, Command::Batch(batch))])
            .await
            .expect("fill");
    }
    let mut lat = Vec::with_capacity(SAMPLES as usize);
    for i in 0..SAMPLES {
        log_index += 1;
        let cmd = tombstone(tombstones + i);
        let started = Instant::now();
        let out = sm.apply([entry(log_index, cmd)]).await.expect("apply");
        lat.push(started.elapsed());
        assert!(out[0].is_ok(), "{:?}", out[0]);
    }
    let started = Instant::now();
    let snap = sm.build_snapshot().await.expect("snapshot");
    let snapshot_ms = started.elapsed().as_secs_f64() * 1000.0;
    let bytes = snap.snapshot.get_ref().len();
    Figures {
        tombstones,
        apply_p50_us: percentile_us(&mut lat, 0.5),
        apply_p99_us: percentile_us(&mut lat, 0.99),
        snapshot_ms,
        snapshot_mib: bytes as f64 / (1024.0 * 1024.0),
    }
}

#[tokio::main]
async fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let many = if quick { 100_000 } else { 1_000_000 };
    let empty = measure(0).await;
    let full = measure(many).await;
    println!("state machine with tombstones ({many} against none, same run)");
    println!(
        "{:<28} {:>14} {:>14} {:>8}",
        "",
        "empty",
        format!("{many} tombstones"),
        "ratio"
    );
    let row = |name: &str, a: f64, b: f64| {
        println!("{name:<28} {a:>14.2} {b:>14.2} {:>8.2}", b / a);
    };
    row("apply p50 (µs)", empty.apply_p50_us, full.apply_p50_us);
    row("apply p99 (µs)", empty.apply_p99_us, full.apply_p99_us);
    row("snapshot build (ms)", empty.snapshot_ms, full.snapshot_ms);
    row("snapshot size (MiB)", empty.snapshot_mib, full.snapshot_mib);
    println!(
        "per tombstone: {:.1} bytes of snapshot",
        (full.snapshot_mib - empty.snapshot_mib) * 1024.0 * 1024.0 / full.tombstones as f64
    );
    let json = serde_json::json!({
        "tombstones": many,
        "empty": figures_json(&empty),
        "full": figures_json(&full),
    });
    let _ = std::fs::create_dir_all("target/bench");
    let _ = std::fs::write("target/bench/state.json", json.to_string());
}

fn figures_json(f: &Figures) -> serde_json::Value {
    serde_json::json!({
        "tombstones": f.tombstones,
        "apply_p50_us": f.apply_p50_us,
        "apply_p99_us": f.apply_p99_us,
        "snapshot_ms": f.snapshot_ms,
        "snapshot_mib": f.snapshot_mib,
    })
}
