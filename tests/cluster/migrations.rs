//! Migrations under live traffic (DESIGN section 9): while clients add, partially update and
//! delete documents through two routers, a node joins and another is drained. Afterwards every
//! acknowledged write is on every owner of its shard once, at its latest version, no deleted
//! document is back, no node holds a shard it does not own, and only the shards rendezvous
//! placement gives to (or takes from) the changed node moved.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use miroir::pb::v1::{IndexRef, ShardMap};
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index};
use crate::util::*;

const INDEX: &str = "moving";

/// The shard map of `uid`, from the leader.
pub async fn shard_map_of(f: &Fleet, uid: &str) -> ShardMap {
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let req = f.cluster.req(IndexRef { uid: uid.into() });
    admin.get_shard_map(req).await.unwrap().into_inner()
}

async fn shard_map(f: &Fleet) -> ShardMap {
    shard_map_of(f, INDEX).await
}

/// Owners of each shard (every copy, by node id).
pub fn owners(map: &ShardMap) -> BTreeMap<u32, BTreeSet<String>> {
    map.shards
        .iter()
        .map(|a| (a.shard, a.copies.iter().map(|c| c.node.clone()).collect()))
        .collect()
}

/// What clients were told: per id, the latest acknowledged content (None: deleted); ids whose
/// last write was not acknowledged are uncertain and not checked.
#[derive(Default)]
struct Model {
    docs: BTreeMap<u64, Option<u64>>,
    uncertain: BTreeSet<u64>,
}

/// Writes through the routers in turn until stopped: new documents, partial updates of older
/// ones (`PUT`), deletes by id; each acknowledged (task succeeded) write goes into the model.
async fn clients(f: Arc<Fleet>, routers: Vec<String>, stop: Arc<AtomicBool>) -> Model {
    // The seed documents `loaded` wrote.
    let mut m = Model {
        docs: (0..1_000u64).map(|i| (i, Some(0))).collect(),
        ..Model::default()
    };
    let mut next = 1_000u64;
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let r = &routers[(round as usize) % routers.len()];
        let (ids, body, method, path, outcome): (
            Vec<u64>,
            Value,
            Method,
            &str,
            Option<Option<u64>>,
        ) = match round % 3 {
            0 => {
                let ids: Vec<u64> = (next..next + 20).collect();
                next += 20;
                let docs: Vec<Value> = ids.iter().map(|i| json!({"id": i, "n": round})).collect();
                (
                    ids,
                    Value::from(docs),
                    Method::POST,
                    "documents",
                    Some(Some(round)),
                )
            }
            1 => {
                let ids: Vec<u64> = (0..10).map(|k| (round * 7 + k * 13) % next).collect();
                let docs: Vec<Value> = ids.iter().map(|i| json!({"id": i, "n": round})).collect();
                (
                    ids,
                    Value::from(docs),
                    Method::PUT,
                    "documents",
                    Some(Some(round)),
                )
            }
            _ => {
                let ids: Vec<u64> = (0..5).map(|k| (round * 11 + k * 17) % next).collect();
                (
                    ids.clone(),
                    json!(ids),
                    Method::POST,
                    "documents/delete-batch",
                    Some(None),
                )
            }
        };
        let url = format!("{r}/indexes/{INDEX}/{path}");
        let (status, t) = f.call(method, &url, Some(&body)).await;
        let ok = status == 202 && {
            let done = crate::router_writes::finished(&f, r, &t).await;
            done["status"] == "succeeded"
        };
        for id in ids {
            match (ok, outcome) {
                (true, Some(Some(n)))
                    if method_is_update(round) && m.docs.get(&id).copied().flatten().is_none() =>
                {
                    // A partial update of a missing document creates it with what was sent.
                    m.docs.insert(id, Some(n));
                    m.uncertain.remove(&id);
                }
                (true, Some(v)) => {
                    m.docs.insert(id, v);
                    m.uncertain.remove(&id);
                }
                _ => {
                    m.uncertain.insert(id);
                }
            }
        }
    }
    m
}

fn method_is_update(round: u64) -> bool {
    round % 3 == 1
}

/// Every document each node holds of `INDEX`, by shard, as (id, n).
async fn holdings(f: &Fleet, addr: &str) -> BTreeMap<u32, BTreeMap<u64, u64>> {
    let body = json!({"limit": 1_000_000, "fields": ["id", "n", "_miroir_shard"]});
    let url = format!("{addr}/indexes/{INDEX}/documents/fetch");
    let (status, page) = f.call(Method::POST, &url, Some(&body)).await;
    let mut out: BTreeMap<u32, BTreeMap<u64, u64>> = BTreeMap::new();
    if status == 404 {
        return out;
    }
    assert_eq!(status, 200, "{page}");
    for d in page["results"].as_array().unwrap() {
        let shard = d["_miroir_shard"].as_u64().unwrap() as u32;
        let id = d["id"].as_u64().unwrap();
        let prev = out
            .entry(shard)
            .or_default()
            .insert(id, d["n"].as_u64().unwrap());
        assert!(prev.is_none(), "document {id} twice on {addr}");
    }
    out
}

/// The model and the nodes agree: each owner of a shard holds exactly the acknowledged
/// documents of that shard (uncertain ones may be either way), and no node holds documents of a
/// shard it does not own.
async fn check(f: &Fleet, m: &Model, down: &[&str]) {
    let map = shard_map(f).await;
    let shards = map.shards.len() as u32;
    let owned = owners(&map);
    let up: Vec<&(String, u32, Proc)> = f
        .nodes
        .iter()
        .filter(|(n, _, _)| !down.contains(&n.as_str()))
        .collect();
    for (_, _, p) in &up {
        f.idle(&p.addr).await;
    }
    for (node, _, p) in up {
        let held = holdings(f, &p.addr).await;
        for (shard, docs) in &held {
            assert!(
                owned.get(shard).is_some_and(|o| o.contains(node)),
                "node {node} holds {} documents of shard {shard}, which it does not own",
                docs.len()
            );
        }
        for (shard, who) in &owned {
            if !who.contains(node) {
                continue;
            }
            let empty = BTreeMap::new();
            let have = held.get(shard).unwrap_or(&empty);
            for (id, want) in &m.docs {
                if m.uncertain.contains(id) {
                    continue;
                }
                let key = miroir::placement::PrimaryKeyValue::Integer(*id as i128);
                if miroir::placement::shard_for_key(&key, shards).0 != *shard {
                    continue;
                }
                match want {
                    Some(n) => assert_eq!(
                        have.get(id),
                        Some(n),
                        "node {node}, shard {shard}: document {id} should be at n={n}"
                    ),
                    None => assert!(
                        !have.contains_key(id),
                        "node {node}, shard {shard}: deleted document {id} is back"
                    ),
                }
            }
        }
    }
}

/// Waits until the newest migration is done; returns its JSON.
async fn migration_done(f: &Fleet) -> Value {
    eventually("the migration to finish", || async {
        let out = f.cluster.ctl(1, &["--json", "migrate", "status"]);
        let v: Value = serde_json::from_slice(&out.stdout).ok()?;
        match v["status"].as_str()? {
            "done" => Some(v),
            "running" => None,
            other => panic!("migration is {other}: {v}"),
        }
    })
    .await
}

/// Runs `miroir-ctl` and insists it succeeded; its standard output.
fn ctl_ok(f: &Fleet, args: &[&str]) -> String {
    let out = f.cluster.ctl(1, args);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A fleet with an index of 1,000 documents and two routers.
async fn loaded(kind: Nodes, groups: u32, per_group: u32) -> (Fleet, Vec<String>) {
    eprintln!("nodes: {}", kind.describe());
    let mut f = Fleet::start_on(kind, groups, per_group).await;
    let r1 = f.start_router().await;
    let r2 = f.start_router().await;
    create_index(&f, &r1, INDEX, Some("id")).await;
    let seed: Vec<Value> = (0..1_000u64).map(|i| json!({"id": i, "n": 0})).collect();
    add_documents(&f, &r1, INDEX, seed).await;
    (f, vec![r1, r2])
}

/// Clients writing through the routers until stopped.
struct Traffic {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Model>,
}

impl Traffic {
    fn start(f: &Arc<Fleet>, routers: &[String]) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let task = tokio::spawn(clients(f.clone(), routers.to_vec(), stop.clone()));
        Traffic { stop, task }
    }

    async fn stop(self) -> Model {
        self.stop.store(true, Ordering::Relaxed);
        let model = self.task.await.unwrap();
        let written = model
            .docs
            .values()
            .filter(|v| v.is_some_and(|n| n > 0))
            .count();
        let deleted = model.docs.values().filter(|v| v.is_none()).count();
        assert!(
            written > 20 && deleted > 0,
            "clients wrote throughout: {written} written, {deleted} deleted"
        );
        model
    }
}

/// A node joins, then another is drained, under live writes through two routers; only the
/// shards rendezvous placement moves change owners, and nothing acknowledged is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn join_and_drain_under_live_writes() {
    let (mut f, routers) = loaded(Nodes::best_available(), 1, 2).await;
    let before = owners(&shard_map(&f).await);
    let new = f.spawn_unregistered("meili-0-new", 0).await;
    let new_addr = f.nodes[new].2.addr.clone();
    let f = Arc::new(f);
    let traffic = Traffic::start(&f, &routers);

    let text = ctl_ok(
        &f,
        &[
            "nodes",
            "add",
            "--id",
            "meili-0-new",
            "--address",
            &new_addr,
            "--group",
            "0",
        ],
    );
    assert!(text.contains("node meili-0-new joins"), "{text}");
    let done = migration_done(&f).await;
    let after = owners(&shard_map(&f).await);
    let shards = before.len() as u32;
    let moved: Vec<u32> = (0..shards).filter(|s| before[s] != after[s]).collect();
    for s in &moved {
        assert!(
            after[s].contains("meili-0-new"),
            "shard {s} moved elsewhere than the new node"
        );
        assert_eq!(after[s].len(), 1, "one copy per shard");
    }
    let on_new = after.values().filter(|o| o.contains("meili-0-new")).count();
    assert_eq!(moved.len(), on_new, "only the new node's shards moved");
    assert!(
        on_new > 0 && on_new < shards as usize,
        "the new node took a share: {on_new}"
    );
    let fences = done["moves"][0]["fence_ms"].as_array().unwrap();
    assert!(!fences.is_empty(), "a cutover fenced writes: {done}");

    // Drain one of the first nodes: its shards go to the other two.
    ctl_ok(&f, &["nodes", "drain", "meili-0-0"]);
    migration_done(&f).await;
    let drained = owners(&shard_map(&f).await);
    assert!(
        drained.values().all(|o| !o.contains("meili-0-0")),
        "the drained node holds nothing"
    );
    for s in 0..shards {
        if !after[&s].contains("meili-0-0") {
            assert_eq!(
                after[&s], drained[&s],
                "shard {s} moved though its node stayed"
            );
        }
    }
    let nodes = ctl_ok(&f, &["--json", "nodes", "list"]);
    assert!(
        !nodes.contains("\"meili-0-0\""),
        "the drained node is removed: {nodes}"
    );

    let model = traffic.stop().await;
    check(&f, &model, &[]).await;
}

/// A second replica group is added (written at once, filled, then serving), then the first one
/// is removed, under live writes; afterwards every shard lives in the new group only.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_group_added_and_the_old_one_removed_under_live_writes() {
    let (mut f, routers) = loaded(Nodes::best_available(), 1, 2).await;
    let mut added = vec![];
    for i in 0..2 {
        let id = format!("meili-1-{i}");
        let n = f.spawn_unregistered(&id, 1).await;
        added.push((id, f.nodes[n].2.addr.clone()));
    }
    let f = Arc::new(f);
    let traffic = Traffic::start(&f, &routers);
    for (id, addr) in &added {
        ctl_ok(
            &f,
            &[
                "nodes",
                "add",
                "--id",
                id,
                "--address",
                addr,
                "--group",
                "1",
                "--no-join",
            ],
        );
    }
    let text = ctl_ok(&f, &["migrate", "start", "--add-group", "1"]);
    assert!(text.contains("replica group 1 is added"), "{text}");
    migration_done(&f).await;
    let both = owners(&shard_map(&f).await);
    for (s, o) in &both {
        assert_eq!(o.len(), 2, "shard {s} has a copy in each group: {o:?}");
        assert!(
            o.iter().any(|n| n.starts_with("meili-1-")),
            "shard {s}: {o:?}"
        );
    }
    ctl_ok(&f, &["migrate", "start", "--remove-group", "0"]);
    migration_done(&f).await;
    let last = owners(&shard_map(&f).await);
    for (s, o) in &last {
        assert_eq!(o.len(), 1, "shard {s}: {o:?}");
        assert!(
            o.iter().all(|n| n.starts_with("meili-1-")),
            "shard {s}: {o:?}"
        );
        let kept: BTreeSet<String> = both[s]
            .iter()
            .filter(|n| n.starts_with("meili-1-"))
            .cloned()
            .collect();
        assert_eq!(
            o, &kept,
            "shard {s} kept the copy it was given in the new group"
        );
    }
    let nodes = ctl_ok(&f, &["--json", "nodes", "list"]);
    assert!(
        !nodes.contains("\"meili-0-0\"") && !nodes.contains("\"meili-0-1\""),
        "{nodes}"
    );

    let model = traffic.stop().await;
    check(&f, &model, &[]).await;
}

/// A failed node is replaced by a new one: the copies it held are restored from the other
/// group, under live writes, and the failed node is forgotten.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_node_is_replaced_under_live_writes() {
    let (mut f, routers) = loaded(Nodes::best_available(), 2, 2).await;
    f.nodes[0].2.kill();
    let n = f.spawn_unregistered("meili-0-2", 0).await;
    let addr = f.nodes[n].2.addr.clone();
    let f = Arc::new(f);
    let traffic = Traffic::start(&f, &routers);
    ctl_ok(&f, &["nodes", "mark-failed", "meili-0-0"]);
    ctl_ok(
        &f,
        &[
            "nodes",
            "add",
            "--id",
            "meili-0-2",
            "--address",
            &addr,
            "--group",
            "0",
            "--no-join",
        ],
    );
    let text = ctl_ok(
        &f,
        &[
            "migrate",
            "start",
            "--replace",
            "meili-0-0",
            "--with",
            "meili-0-2",
        ],
    );
    assert!(text.contains("replaces failed node meili-0-0"), "{text}");
    migration_done(&f).await;
    let map = owners(&shard_map(&f).await);
    for (s, o) in &map {
        assert!(
            !o.contains("meili-0-0"),
            "shard {s} still on the failed node"
        );
        assert_eq!(o.len(), 2, "shard {s} has a copy per group again: {o:?}");
    }
    let nodes = ctl_ok(&f, &["--json", "nodes", "list"]);
    assert!(
        !nodes.contains("\"meili-0-0\""),
        "the failed node is forgotten: {nodes}"
    );

    let model = traffic.stop().await;
    check(&f, &model, &["meili-0-0"]).await;
}

/// A migration outside `migration_window` is refused (and `check-window` says so); with
/// `--force` it runs, and says it was forced.
#[tokio::test(flavor = "multi_thread")]
async fn a_migration_outside_its_window_needs_force() {
    let (mut f, _routers) = loaded(Nodes::Devnode, 1, 1).await;
    let n = f.spawn_unregistered("meili-0-new", 0).await;
    let addr = f.nodes[n].2.addr.clone();
    f.set_config("migration_window", "off").await;
    let out = f.cluster.ctl(1, &["migrate", "check-window"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no migration starts without --force"));
    let out = f.cluster.ctl(
        1,
        &[
            "nodes",
            "add",
            "--id",
            "meili-0-new",
            "--address",
            &addr,
            "--group",
            "0",
        ],
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("outside the migration window") && err.contains("--force"),
        "{err}"
    );
    assert!(err.contains("registered (joining)"), "{err}");
    let list = ctl_ok(&f, &["--json", "migrate", "list"]);
    assert_eq!(list.trim(), "[]", "nothing started");
    // What the join would move, before it starts.
    let before = owners(&shard_map(&f).await);
    let plan = ctl_ok(
        &f,
        &["--json", "migrate", "simulate", "--join", "meili-0-new"],
    );
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let moving = plan["indexes"][0]["shards_moving"].as_u64().unwrap();
    let docs = plan["documents"].as_u64().unwrap();
    assert!(moving > 0 && docs > 0 && docs < 1_000, "{plan}");
    assert_eq!(plan["stored_documents"], 1_000, "{plan}");
    assert_eq!(
        plan["stored_documents_during"].as_u64(),
        Some(1_000 + docs),
        "{plan}"
    );
    // A window that is open now (every minute of every day).
    f.set_config("migration_window", "* * * * *").await;
    ctl_ok(&f, &["migrate", "check-window"]);
    f.set_config("migration_window", "off").await;
    let text = ctl_ok(
        &f,
        &["migrate", "start", "--join", "meili-0-new", "--force"],
    );
    assert!(text.contains("started with --force"), "{text}");
    let done = migration_done(&f).await;
    assert_eq!(done["forced"], true, "{done}");
    let after = owners(&shard_map(&f).await);
    let moved = before.iter().filter(|(s, o)| after[*s] != **o).count() as u64;
    assert_eq!(moved, moving, "the simulation named the shards that moved");
}

/// A router stopped (SIGSTOP) across a whole join — dual write, copy, cutover and cleanup go
/// on without it once its lease runs out — and resumed afterwards: its next writes follow the
/// new shard map, so the old owners of the moved shards receive nothing from it, and nothing
/// it acknowledges is lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_router_paused_across_a_cutover_writes_only_to_the_new_owners() {
    let (mut f, routers) = loaded(Nodes::best_available(), 1, 2).await;
    let before = owners(&shard_map(&f).await);
    let new = f.spawn_unregistered("meili-0-new", 0).await;
    let new_addr = f.nodes[new].2.addr.clone();
    // Both routers have written under the old map (so both hold its lease).
    let (s, t) = f
        .call(
            Method::POST,
            &format!("{}/indexes/{INDEX}/documents", routers[1]),
            Some(&json!([{"id": 5_000, "n": 1}])),
        )
        .await;
    assert_eq!(s, 202, "{t}");
    crate::router_writes::finished(&f, &routers[1], &t).await;
    f.routers[1].pause();
    ctl_ok(
        &f,
        &[
            "nodes",
            "add",
            "--id",
            "meili-0-new",
            "--address",
            &new_addr,
            "--group",
            "0",
        ],
    );
    migration_done(&f).await;
    let after = owners(&shard_map(&f).await);
    let moved: Vec<u32> = after
        .keys()
        .copied()
        .filter(|s| before[s] != after[s])
        .collect();
    assert!(!moved.is_empty());
    f.routers[1].resume();
    // Documents for every shard, through the router that slept through the migration.
    let docs: Vec<Value> = (6_000..6_400u64)
        .map(|i| json!({"id": i, "n": 2}))
        .collect();
    let url = format!("{}/indexes/{INDEX}/documents", routers[1]);
    let done = eventually("the resumed router to write", || async {
        let (s, t) = f
            .call(Method::POST, &url, Some(&Value::from(docs.clone())))
            .await;
        (s == 202).then_some(t)
    })
    .await;
    let done = crate::router_writes::finished(&f, &routers[1], &done).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    let mut model = Model {
        docs: (0..1_000u64).map(|i| (i, Some(0))).collect(),
        ..Model::default()
    };
    model.docs.insert(5_000, Some(1));
    for i in 6_000..6_400u64 {
        model.docs.insert(i, Some(2));
    }
    // No node holds a document of a shard it does not own, and every write is on its owners.
    check(&f, &model, &[]).await;
}
