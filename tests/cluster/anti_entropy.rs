//! Anti-entropy (DESIGN section 9): divergence planted straight on the nodes (a missing
//! document, a stale version, a missed partial update, a document on a node that does not own
//! its shard, a deleted document still on one copy) is reported exactly by `verify`, repaired
//! exactly by `run`, and never at the cost of a newer client write; the leader can die in the
//! middle of a pass and the next one finishes it.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished, set_settings};
use crate::util::*;

const INDEX: &str = "entropy";

struct Planted {
    f: Fleet,
    router: String,
    /// The copy everything is planted on, and a node that owns none of the stray's shard.
    victim: usize,
    stray_node: usize,
    expected: BTreeSet<(String, String, String)>,
}

fn docs(n: u64) -> Vec<Value> {
    (0..n)
        .map(|i| json!({"id": i, "n": i, "title": format!("doc {i}")}))
        .collect()
}

async fn map(f: &Fleet) -> miroir::pb::v1::ShardMap {
    let leader = f.cluster.leader().await;
    let req = f
        .cluster
        .req(miroir::pb::v1::IndexRef { uid: INDEX.into() });
    f.cluster
        .admin(leader)
        .await
        .get_shard_map(req)
        .await
        .unwrap()
        .into_inner()
}

/// A document as node `i` holds it (`None` if it does not).
async fn on_node(f: &Fleet, i: usize, id: u64) -> Option<Value> {
    let url = format!("{}/indexes/{INDEX}/documents/{id}", f.nodes[i].2.addr);
    let (status, d) = f.call(Method::GET, &url, None).await;
    (status == 200).then_some(d)
}

/// Writes documents straight to node `i` (no router, no version stamping) and waits.
async fn put_on_node(f: &Fleet, i: usize, docs: Vec<Value>) {
    let url = format!("{}/indexes/{INDEX}/documents", f.nodes[i].2.addr);
    let (status, t) = f.call(Method::POST, &url, Some(&Value::from(docs))).await;
    assert_eq!(status, 202, "{t}");
    f.wait_task(&f.nodes[i].2.addr, &t).await;
}

async fn delete_on_node(f: &Fleet, i: usize, id: u64) {
    let url = format!("{}/indexes/{INDEX}/documents/{id}", f.nodes[i].2.addr);
    let (status, t) = f.call(Method::DELETE, &url, None).await;
    assert_eq!(status, 202, "{t}");
    f.wait_task(&f.nodes[i].2.addr, &t).await;
}

/// The index of the fleet node named `id`.
fn node_index(f: &Fleet, id: &str) -> usize {
    f.nodes.iter().position(|(n, _, _)| n == id).unwrap()
}

/// Two groups of two nodes, 8 shards, one copy per group; 40 documents through the router, then
/// five kinds of divergence planted on one copy.
async fn planted(nodes: Nodes, coordinators: &[&str]) -> Planted {
    let mut f = Fleet::start_with_coordinators(nodes, 2, 2, coordinators).await;
    f.set_config("default_shards", "8").await;
    let router = f.start_router().await;
    create_index(&f, &router, INDEX, Some("id")).await;
    set_settings(&f, &router, INDEX, json!({"filterableAttributes": ["n"]})).await;
    add_documents(&f, &router, INDEX, docs(40)).await;
    // A partial update every copy took, and a delete every copy took.
    let (status, t) = f
        .call(
            Method::PUT,
            &format!("{router}/indexes/{INDEX}/documents"),
            Some(&json!([{"id": 3, "extra": "new"}])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    finished(&f, &router, &t).await;
    let (status, t) = f
        .call(
            Method::DELETE,
            &format!("{router}/indexes/{INDEX}/documents/5"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{t}");
    finished(&f, &router, &t).await;

    // Everything is planted on the group-0 copy of the shards documents 1..5 live in.
    let m = map(&f).await;
    let shard_of = |id: u64| {
        miroir::placement::shard_for_key(
            &miroir::placement::PrimaryKeyValue::Integer(id.into()),
            m.shards.len() as u32,
        )
        .0
    };
    let copy_in_group0 = |s: u32| -> usize {
        let a = &m.shards[s as usize];
        let n = a
            .copies
            .iter()
            .find(|c| c.node.starts_with("meili-0-"))
            .unwrap();
        node_index(&f, &n.node)
    };
    let victim = copy_in_group0(shard_of(1));
    let victim_name = f.nodes[victim].0.clone();
    // Documents on the victim only: ids whose shard it holds.
    let held: Vec<u64> = (0..40)
        .filter(|id| *id != 5 && copy_in_group0(shard_of(*id)) == victim)
        .collect();
    assert!(
        held.len() >= 4,
        "the victim holds enough documents: {held:?}"
    );
    let (missing, stale, partial) = (held[0], held[1], held[2]);
    let mut expected = BTreeSet::new();
    let mut expect = |kind: &str, node: &str, what: String| {
        expected.insert((kind.to_string(), node.to_string(), what));
    };

    // 1. A missing document.
    delete_on_node(&f, victim, missing).await;
    expect("missing", &victim_name, missing.to_string());
    // 2. A stale version, with other content.
    let mut old = on_node(&f, victim, stale).await.unwrap();
    old["_miroir_version"] = json!(old["_miroir_version"].as_u64().unwrap() - 1);
    old["title"] = json!("stale");
    put_on_node(&f, victim, vec![old]).await;
    expect("stale", &victim_name, stale.to_string());
    // 3. A partial update the copy missed: its fields as before the update, at the version
    // before it.
    let mut before = on_node(&f, victim, partial).await.unwrap();
    let (status, t) = f
        .call(
            Method::PUT,
            &format!("{router}/indexes/{INDEX}/documents"),
            Some(&json!([{"id": partial, "extra": "later"}])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    finished(&f, &router, &t).await;
    before.as_object_mut().unwrap().remove("extra");
    put_on_node(&f, victim, vec![before]).await;
    expect("stale", &victim_name, partial.to_string());
    // 4. A deleted document back on one copy, at the version it had before its delete.
    let five_shard = shard_of(5);
    let five_node = copy_in_group0(five_shard);
    // Document 6 was written in 5's batch, before 5 was deleted: its version is older.
    let v = on_node(
        &f,
        node_index(&f, &m.shards[shard_of(6) as usize].copies[0].node),
        6,
    )
    .await
    .unwrap()["_miroir_version"]
        .as_u64()
        .unwrap();
    put_on_node(
        &f,
        five_node,
        vec![json!({"id": 5, "n": 5, "title": "doc 5", "_miroir_shard": five_shard, "_miroir_version": v})],
    )
    .await;
    expect("deleted", &f.nodes[five_node].0, "5".into());
    // 5. A document on a node that does not own its shard.
    let s = shard_of(7);
    let stray_node = (0..f.nodes.len())
        .find(|i| {
            !m.shards[s as usize]
                .copies
                .iter()
                .any(|c| c.node == f.nodes[*i].0)
        })
        .unwrap();
    let doc7 = on_node(&f, node_index(&f, &m.shards[s as usize].copies[0].node), 7)
        .await
        .unwrap();
    put_on_node(&f, stray_node, vec![doc7]).await;
    expect("stray", &f.nodes[stray_node].0, "1 documents".into());
    Planted {
        f,
        router,
        victim,
        stray_node,
        expected,
    }
}

/// Runs `miroir-ctl anti-entropy ARGS --json` against the leader; the pass it printed.
async fn ctl_pass(f: &Fleet, args: &[&str]) -> (bool, Value) {
    let leader = f.cluster.leader().await;
    let all = [&["anti-entropy"][..], args, &["--index", INDEX, "--json"]].concat();
    let out = f.cluster.ctl(leader, &all);
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} / {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), v)
}

fn findings(pass: &Value) -> BTreeSet<(String, String, String)> {
    pass["pass"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap().to_string(),
                f["node"].as_str().unwrap().to_string(),
                f["what"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `verify` reports exactly what was planted and changes nothing; `run` repairs exactly that;
/// a second `verify` is clean and every copy agrees.
async fn planted_divergence_is_found_and_repaired(nodes: Nodes) {
    let p = planted(nodes, &[]).await;
    let f = &p.f;
    let (ok, pass) = ctl_pass(f, &["verify"]).await;
    assert!(!ok, "verify exits 1 when copies differ");
    assert_eq!(findings(&pass), p.expected, "{pass:#}");
    assert_eq!(pass["pass"]["counts"]["repaired"], 0);
    assert!(
        on_node(f, p.stray_node, 7).await.is_some(),
        "verify wrote nothing"
    );

    let (ok, pass) = ctl_pass(f, &["run"]).await;
    assert!(ok, "{pass:#}");
    assert_eq!(findings(&pass), p.expected, "{pass:#}");
    let counts = &pass["pass"]["counts"];
    assert_eq!(
        (
            counts["repaired"].as_u64(),
            counts["strays_removed"].as_u64()
        ),
        (Some(4), Some(1)),
        "{counts}"
    );

    let (ok, pass) = ctl_pass(f, &["verify"]).await;
    assert!(ok && pass["pass"]["counts"]["mismatches"] == 0, "{pass:#}");
    assert!(
        on_node(f, p.stray_node, 7).await.is_none(),
        "the stray is gone"
    );
    for i in 0..f.nodes.len() {
        assert!(
            on_node(f, i, 5).await.is_none(),
            "the deleted document stays deleted"
        );
    }
    let (_, hits) = f
        .call(
            Method::POST,
            &format!("{}/indexes/{INDEX}/search", p.router),
            Some(&json!({"q": "", "limit": 100})),
        )
        .await;
    assert_eq!(hits["estimatedTotalHits"], 39, "{hits}");
    assert!(on_node(f, p.victim, 3).await.is_some());
}

crate::on_both_nodes!(planted_divergence_is_found_and_repaired);

/// A client write lands between a repair's compare and its write, on a node whose queue runs
/// late: the re-check puts the client's newer version back; without the re-check (test-only
/// switch) the older one the repair read stays.
async fn racing_write(recheck: bool) -> (Value, Value) {
    let gate = tempfile::tempdir().unwrap();
    let file = gate.path().join("gate");
    let mut flags = vec![
        "--test-gate-before-repair-write".to_string(),
        file.display().to_string(),
    ];
    if !recheck {
        flags.push("--unsafe-skip-recheck".into());
    }
    let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
    let p = planted(Nodes::DelayedDevnode(1500), &flags).await;
    let f = &p.f;
    let m = map(f).await;
    let shard_of = |id: u64| {
        miroir::placement::shard_for_key(
            &miroir::placement::PrimaryKeyValue::Integer(id.into()),
            m.shards.len() as u32,
        )
        .0
    };
    let leader = f.cluster.leader().await;
    let run = f.cluster.ctl(
        leader,
        &[
            "anti-entropy",
            "run",
            "--index",
            INDEX,
            "--no-wait",
            "--json",
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut reached = file.clone().into_os_string();
    reached.push(".reached");
    let at: u32 = eventually("the repair to reach its gate", || async {
        std::fs::read_to_string(&reached).ok()?.parse().ok()
    })
    .await;
    // A document planted in the shard the repair is about to write (missing, stale or deleted
    // on one copy), written again by a client.
    let stale_id: u64 = p
        .expected
        .iter()
        .filter(|(k, _, _)| k != "stray")
        .filter_map(|(_, _, w)| w.parse::<u64>().ok())
        .find(|id| shard_of(*id) == at)
        .expect("a planted document in the gated shard");
    // The client's write: enqueued on both copies, applied only after the queue delay.
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{}/indexes/{INDEX}/documents", p.router),
            Some(&json!([{"id": stale_id, "n": 0, "title": "client"}])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    std::fs::write(&file, b"").unwrap();
    finished(f, &p.router, &t).await;
    eventually("the pass to finish", || async {
        let s = f.cluster.ctl(
            f.cluster.leader().await,
            &["anti-entropy", "status", "--json"],
        );
        let v: Value = serde_json::from_slice(&s.stdout).ok()?;
        v["running"].is_null().then_some(())
    })
    .await;
    let shard = shard_of(stale_id);
    let copies: Vec<usize> = m.shards[shard as usize]
        .copies
        .iter()
        .map(|c| node_index(f, &c.node))
        .collect();
    for (_, _, n) in &f.nodes {
        f.idle(&n.addr).await;
    }
    (
        on_node(f, copies[0], stale_id).await.unwrap_or_default(),
        on_node(f, copies[1], stale_id).await.unwrap_or_default(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_repair_never_leaves_a_newer_client_write_overwritten() {
    let (a, b) = racing_write(true).await;
    assert_eq!(
        (a["title"].as_str(), b["title"].as_str()),
        (Some("client"), Some("client")),
        "{a} / {b}"
    );
    assert_eq!(a["_miroir_version"], b["_miroir_version"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_recheck_an_older_version_wins() {
    let (a, b) = racing_write(false).await;
    assert_ne!(a, b, "the switch must leave the copies apart");
}

/// The leader is killed while a pass scans its shards; the next leader goes on from the
/// committed cursor and the pass repairs everything.
#[tokio::test(flavor = "multi_thread")]
async fn a_pass_finishes_when_its_leader_dies() {
    let p = planted(Nodes::Devnode, &["--test-pause-workflow-phase", "scan=400"]).await;
    let f = &p.f;
    let leader = f.cluster.leader().await;
    let (ok, started) = {
        let out = f.cluster.ctl(
            leader,
            &[
                "anti-entropy",
                "run",
                "--index",
                INDEX,
                "--no-wait",
                "--json",
            ],
        );
        (
            out.status.success(),
            serde_json::from_slice::<Value>(&out.stdout).unwrap(),
        )
    };
    assert!(ok, "{started}");
    let id = started["id"].as_u64().unwrap();
    let pass = |w: miroir::pb::v1::Workflow| w.pass.unwrap();
    let get = || async {
        let leader = f.cluster.leader().await;
        let mut a = f.cluster.admin(leader).await;
        a.get_workflow(f.cluster.req(miroir::pb::v1::WorkflowRef { id }))
            .await
            .ok()
            .map(|r| r.into_inner())
    };
    eventually("the pass to scan a few shards", || async {
        let w = get().await?;
        (pass(w).next >= 2).then_some(())
    })
    .await;
    let mut f = p.f;
    let old = f.cluster.leader().await;
    f.cluster.kill(old);
    let done = eventually("a new leader to finish the pass", || async {
        let leader = f.cluster.leader().await;
        let mut a = f.cluster.admin(leader).await;
        let w = a
            .get_workflow(f.cluster.req(miroir::pb::v1::WorkflowRef { id }))
            .await
            .ok()?
            .into_inner();
        (w.phase == "done").then_some(w)
    })
    .await;
    let pass = done.pass.unwrap();
    assert_eq!(pass.next as usize, pass.shards.len());
    let got: BTreeSet<(String, String, String)> = pass
        .findings
        .iter()
        .map(|x| (x.kind.clone(), x.node.clone(), x.what.clone()))
        .collect();
    // A shard the old leader repaired but did not get to commit is found clean by the new one,
    // so its findings may be missing; nothing else is found, and nothing is left.
    assert!(got.is_subset(&p.expected), "{got:?}");
    assert!(pass.findings.iter().all(|x| x.repaired));
    let (ok, after) = ctl_pass(&f, &["verify"]).await;
    assert!(
        ok && after["pass"]["counts"]["mismatches"] == 0,
        "{after:#}"
    );
}
