//! Migrations against faults: the coordinator leader is killed while a move is in each of its
//! phases (the new leader resumes it from the committed step and finishes it), and a migration
//! aborted during its copy or during its cutover leaves the old placement serving with nothing
//! lost and nothing left on the node it was moving to.

use std::collections::BTreeMap;

use miroir::pb::v1::ShardMap;
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::migrations::{owners, shard_map_of};
use crate::router_writes::{add_documents, create_index};
use crate::util::*;

const INDEX: &str = "faulted";

/// Every phase a move pauses in before its step (long enough to act, short next to the
/// fence budget set below).
const PAUSES: &[&str] = &[
    "--test-pause-workflow-phase",
    "add_copies=800",
    "--test-pause-workflow-phase",
    "wait_dual_write=800",
    "--test-pause-workflow-phase",
    "copy=300",
    "--test-pause-workflow-phase",
    "drain=800",
    "--test-pause-workflow-phase",
    "delta_pass=800",
    "--test-pause-workflow-phase",
    "release=800",
    "--test-pause-workflow-phase",
    "cleanup=800",
    "--test-pause-workflow-phase",
    "undo=800",
];

async fn shard_map(f: &Fleet) -> ShardMap {
    shard_map_of(f, INDEX).await
}

/// `miroir-ctl` through any running coordinator; its output when it succeeded.
fn ctl(f: &Fleet, args: &[&str]) -> Option<String> {
    let via = *f.cluster.running().first()?;
    let out = f.cluster.ctl(via, args);
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn ctl_ok(f: &Fleet, args: &[&str]) -> String {
    let via = f.cluster.running()[0];
    let out = f.cluster.ctl(via, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Registers the spare node, which starts its join.
fn add_new(f: &Fleet, addr: &str) -> String {
    let args = [
        "nodes",
        "add",
        "--id",
        "meili-0-new",
        "--address",
        addr,
        "--group",
        "0",
    ];
    ctl_ok(f, &args)
}

fn status(f: &Fleet) -> Option<Value> {
    serde_json::from_str(&ctl(f, &["--json", "migrate", "status"])?).ok()
}

async fn until_status(f: &Fleet, want: &str) -> Value {
    eventually(&format!("the migration to be {want}"), || async {
        let v = status(f)?;
        (v["status"] == want).then_some(v)
    })
    .await
}

async fn until_phase(f: &Fleet, phase: &str) {
    eventually(&format!("the move to reach {phase}"), || async {
        let v = status(f)?;
        (v["moves"][0]["phase"] == phase).then_some(())
    })
    .await;
}

/// Every document, by id, as the router returns them (each once), with its `n`.
async fn documents(f: &Fleet, router: &str) -> BTreeMap<u64, u64> {
    let url = format!("{router}/indexes/{INDEX}/documents/fetch");
    let (status, page) = f
        .call(Method::POST, &url, Some(&json!({"limit": 100_000})))
        .await;
    assert_eq!(status, 200, "{page}");
    let mut out = BTreeMap::new();
    for d in page["results"].as_array().unwrap() {
        let prev = out.insert(d["id"].as_u64().unwrap(), d["n"].as_u64().unwrap());
        assert!(prev.is_none(), "document {} twice", d["id"]);
    }
    out
}

/// How many documents of `INDEX` a node holds (0 when it has no such index).
async fn held(f: &Fleet, addr: &str) -> u64 {
    f.idle(addr).await;
    let (status, stats) = f
        .call(Method::GET, &format!("{addr}/indexes/{INDEX}/stats"), None)
        .await;
    match status {
        404 => 0,
        _ => stats["numberOfDocuments"].as_u64().unwrap_or(0),
    }
}

async fn setup(kind: Nodes) -> (Fleet, String, String) {
    let mut coordinators = PAUSES.to_vec();
    coordinators.extend(["--node-timeout-ms", "3000"]);
    let mut f = Fleet::start_with_coordinators(kind, 1, 2, &coordinators).await;
    f.set_config("default_shards", "8").await;
    // The pauses sit inside the fence: give it room.
    f.set_config("fence_budget", "20s").await;
    let router = f.start_router().await;
    create_index(&f, &router, INDEX, Some("id")).await;
    let docs: Vec<Value> = (0..300u64).map(|i| json!({"id": i, "n": i})).collect();
    add_documents(&f, &router, INDEX, docs).await;
    let n = f.spawn_unregistered("meili-0-new", 0).await;
    let addr = f.nodes[n].2.addr.clone();
    (f, router, addr)
}

/// The leader is killed while a move waits in each phase (a join, then a drain of the same
/// node, alternately); every time the next leader finishes the migration, and the documents
/// come through whole.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_leader_resumes_a_migration_at_every_phase() {
    let (mut f, router, addr) = setup(Nodes::best_available()).await;
    let expected: BTreeMap<u64, u64> = (0..300u64).map(|i| (i, i)).collect();
    let phases = [
        "add_copies",
        "wait_dual_write",
        "copy",
        "drain",
        "delta_pass",
        "release",
        "cleanup",
    ];
    for (i, phase) in phases.iter().enumerate() {
        let joining = i % 2 == 0;
        match joining {
            true => add_new(&f, &addr),
            false => ctl_ok(&f, &["nodes", "drain", "meili-0-new"]),
        };
        until_phase(&f, phase).await;
        let leader = f.cluster.leader().await;
        f.cluster.kill(leader);
        let done = until_status(&f, "done").await;
        eprintln!("killed the leader in {phase}: {}", done["description"]);
        f.cluster.spawn(leader);
        let map = owners(&shard_map(&f).await);
        let on_new = map.values().filter(|o| o.contains("meili-0-new")).count();
        match joining {
            true => assert!(
                on_new > 0,
                "after the join in {phase}, the node holds shards"
            ),
            false => {
                assert_eq!(on_new, 0, "after the drain in {phase}, the node holds none");
                assert_eq!(held(&f, &addr).await, 0, "the drained node was cleaned up");
            }
        }
        assert!(
            map.values().all(|o| o.len() == 1),
            "one copy per shard: {map:?}"
        );
        assert_eq!(documents(&f, &router).await, expected, "after {phase}");
    }
}

/// Aborted during its copy, and again during its cutover (fence up): the old placement serves
/// every document, the joining node stays joining and holds nothing, and the fence is down.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_abort_during_copy_or_cutover_restores_the_old_placement() {
    let (f, router, addr) = setup(Nodes::best_available()).await;
    let before = owners(&shard_map(&f).await);
    let expected: BTreeMap<u64, u64> = (0..300u64).map(|i| (i, i)).collect();
    add_new(&f, &addr);
    for (i, phase) in ["copy", "drain"].iter().enumerate() {
        if i > 0 {
            ctl_ok(&f, &["migrate", "start", "--join", "meili-0-new"]);
        }
        until_phase(&f, phase).await;
        let out = ctl_ok(&f, &["migrate", "abort"]);
        assert!(out.contains("(aborted)"), "{out}");
        eventually("the undo to finish", || async {
            let v = status(&f)?;
            (v["moves"][0]["phase"] == "done").then_some(())
        })
        .await;
        let map = shard_map(&f).await;
        assert_eq!(
            owners(&map),
            before,
            "aborted in {phase}: the old placement"
        );
        assert!(
            map.shards.iter().all(|a| a.fence == "open"),
            "aborted in {phase}: no fence left up"
        );
        assert_eq!(
            held(&f, &addr).await,
            0,
            "aborted in {phase}: the copies were removed"
        );
        assert_eq!(documents(&f, &router).await, expected, "aborted in {phase}");
    }
    let nodes = ctl_ok(&f, &["--json", "nodes", "list"]);
    let nodes: Value = serde_json::from_str(&nodes).unwrap();
    let new = nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == "meili-0-new")
        .cloned()
        .unwrap();
    assert_eq!(new["state"], "joining", "{new}");
    // After the switch, abort is refused and says how to roll back.
    ctl_ok(&f, &["migrate", "start", "--join", "meili-0-new"]);
    until_phase(&f, "cleanup").await;
    let out = f.cluster.ctl(f.cluster.running()[0], &["migrate", "abort"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("reverse migration"), "{err}");
    until_status(&f, "done").await;
}
