//! After the faults: let the cluster settle, read what the checkers need,
//! and judge each workload's share of the history.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::Result;
use serde_json::{json, Value};

use super::{verdict_name, Plan};
use crate::check::documents::{check_documents, FinalRead, NodeCopies};
use crate::check::register::check_register;
use crate::check::shard_map::check_shard_map;
use crate::check::Verdict;
use crate::db::Db;
use crate::history::Op;
use crate::workload::{documents, register, Workload};

/// How long the linearizability search may take, all keys together.
const REGISTER_BUDGET: Duration = Duration::from_secs(120);
/// How long to wait for the tasks of acknowledged writes to finish.
const TASK_WAIT: Duration = Duration::from_secs(60);
/// How long the copies marked behind during the run may take to be repaired.
const REPAIR_WAIT: Duration = Duration::from_secs(120);
/// Added to the lease when judging expiry: the harness sees a commit a
/// little after it happens, and the leader applies it a little after that.
const EPOCH_SLACK: Duration = Duration::from_millis(500);

fn with_verdict(v: Verdict, detail: impl serde::Serialize) -> (Verdict, Value) {
    let mut d = serde_json::to_value(detail).unwrap_or(Value::Null);
    d["verdict"] = json!(verdict_name(v));
    (v, d)
}

fn is_register(o: &Op) -> bool {
    o.key
        .as_deref()
        .is_some_and(|k| k.starts_with(register::KEY_PREFIX))
}

fn is_document(o: &Op) -> bool {
    matches!(o.f.as_str(), "add" | "update" | "delete") && !is_register(o)
}

pub async fn judge(
    plan: &Plan,
    db: &mut Db,
    ops: &[Op],
    seen: &BTreeMap<u64, u64>,
) -> (Verdict, BTreeMap<String, Value>) {
    let mut results = BTreeMap::new();
    for w in &plan.workloads {
        let started = std::time::Instant::now();
        let (v, detail) = match w {
            Workload::Register => {
                let mine: Vec<Op> = ops.iter().filter(|o| is_register(o)).cloned().collect();
                let r = check_register(&mine, REGISTER_BUDGET);
                // A history without one completed operation proves nothing.
                let checked = mine.iter().any(|o| o.kind == crate::history::OpType::Ok);
                let v = if checked { r.verdict } else { Verdict::Unknown };
                let (v, mut d) = with_verdict(v, &r);
                d["operations"] = json!(mine.len() / 2);
                (v, d)
            }
            Workload::Documents => {
                let mine: Vec<Op> = ops.iter().filter(|o| is_document(o)).cloned().collect();
                match final_read(db, &mine).await {
                    Ok(read) => {
                        let r = check_documents(&mine, &read);
                        with_verdict(r.verdict, &r)
                    }
                    Err(e) => with_verdict(
                        Verdict::Unknown,
                        json!({"error": format!("could not read the final state: {e:#}")}),
                    ),
                }
            }
            Workload::ShardMap => {
                let lease = Duration::from_millis(plan.args.lease_ms);
                // The coordinators' own margin (a tenth plus 100 ms), then slack.
                let bound = lease + lease / 10 + Duration::from_millis(100) + EPOCH_SLACK;
                let mine: Vec<Op> = ops
                    .iter()
                    .filter(|o| is_document(o) || o.f == "search")
                    .cloned()
                    .collect();
                let r = check_shard_map(&mine, seen, bound.as_nanos() as u64);
                with_verdict(r.verdict, &r)
            }
        };
        tracing::info!(
            "{w}: {} (judged in {:?})",
            verdict_name(v),
            started.elapsed()
        );
        results.insert(w.name().to_string(), (v, detail));
    }
    let crashed = db.crashed();
    if !crashed.is_empty() {
        results.insert(
            "processes".into(),
            with_verdict(Verdict::Invalid, json!({"crashed": crashed})),
        );
    }
    let verdict = Verdict::combine_all(results.values().map(|(v, _)| *v));
    (
        verdict,
        results.into_iter().map(|(k, (_, d))| (k, d)).collect(),
    )
}

/// Waits for the tasks of acknowledged writes and for the repairs of copies
/// that missed writes, then reads every node's copies and every router's
/// listing.
async fn final_read(db: &Db, history: &[Op]) -> Result<FinalRead> {
    let http = documents::http();
    let routers: Vec<String> = db.layout.router_names();
    db.await_routers(Duration::from_secs(30)).await?;
    // The final repair pass: every copy marked behind during the faults is
    // brought back before the copies are compared.
    match db.await_repairs(REPAIR_WAIT).await? {
        0 => {}
        n => tracing::warn!("{n} copies still behind after {REPAIR_WAIT:?}; reading anyway"),
    }
    // Then one anti-entropy pass: a write a router gave up on can still reach a node after a
    // partition heals (TCP retransmits it) and land over a newer version the repair wrote.
    if !db.anti_entropy_pass(documents::INDEX, REPAIR_WAIT).await {
        tracing::warn!("the final anti-entropy pass did not finish; reading anyway");
    }
    let uids: Vec<u64> = history
        .iter()
        .filter_map(|o| o.value.get("task").and_then(Value::as_u64))
        .collect();
    let tasks = documents::task_statuses(&http, &db.http_url(&routers[0]), &uids, TASK_WAIT).await;
    let per_group = db.layout.nodes_per_group.max(1);
    let mut nodes = vec![];
    for (i, n) in db.layout.node_names().iter().enumerate() {
        nodes.push(NodeCopies {
            node: n.clone(),
            group: i as u32 / per_group,
            docs: documents::read_all(&http, &db.http_url(n)).await?,
        });
    }
    let mut listings = vec![];
    for r in &routers {
        listings.push((
            r.clone(),
            documents::read_all(&http, &db.http_url(r)).await?,
        ));
    }
    Ok(FinalRead {
        nodes,
        listings,
        tasks,
    })
}
