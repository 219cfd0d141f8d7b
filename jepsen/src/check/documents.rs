//! Judges the documents workload from its history and the final read of
//! every copy (each node, grouped by replica group) and of each router's
//! listing. Properties:
//! - every write whose task succeeded is there at its last version (none
//!   *lost* or *stale*), and no deleted document is back (*resurrected*);
//! - every replica group holds the same answer (none *divergent*): a client
//!   reads from any group;
//! - a listing never shows a document twice (*duplicated*), nor one no client
//!   wrote (*unwritten*), and shows every document as the writes left it
//!   (none *misreported*);
//! - the task of every acknowledged write succeeds (none *failed-task*; the
//!   workload only sends valid documents). A task still unfinished when the
//!   harness stops waiting makes the verdict unknown, as does a run with no
//!   confirmed write at all.
//!
//! Operations on one document come from one client, one at a time, so a
//! document's acceptable final states are: the state its last certain write
//! left (absent before any), plus each state an uncertain write after it
//! would leave (an `info` reply, or a task that did not succeed).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::Verdict;
use crate::history::{Op, OpType};

/// A document's state in one place: absent, or present at a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum DocState {
    Absent,
    Present(u64),
}

/// The copies one node holds.
#[derive(Debug, Clone)]
pub struct NodeCopies {
    pub node: String,
    pub group: u32,
    pub docs: Vec<Value>,
}

/// What the harness read once the fleet was healed.
#[derive(Debug, Clone, Default)]
pub struct FinalRead {
    pub nodes: Vec<NodeCopies>,
    /// Each router's full listing, as a client sees it.
    pub listings: Vec<(String, Vec<Value>)>,
    /// Final task status by uid (missing: never learned).
    pub tasks: BTreeMap<u64, String>,
}

/// Up to this many ids are listed per anomaly (all are counted).
const SHOWN: usize = 20;

#[derive(Debug, Clone, Default, Serialize)]
pub struct Anomaly {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Anomaly {
    pub(crate) fn add(&mut self, what: String) {
        self.count += 1;
        if self.examples.len() < SHOWN {
            self.examples.push(what);
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentsResult {
    pub verdict: Verdict,
    pub documents: usize,
    /// Writes acknowledged with 202 whose task succeeded.
    pub confirmed_writes: usize,
    /// Writes whose outcome stayed unknown (info, or a task not succeeded).
    pub uncertain_writes: usize,
    /// Acknowledged writes whose task had not finished when the harness
    /// stopped waiting, with a few of their uids.
    pub unfinished_tasks: Anomaly,
    pub anomalies: BTreeMap<&'static str, Anomaly>,
}

fn doc_version(d: &Value) -> Option<(String, u64)> {
    let id = match &d["id"] {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => return None,
    };
    Some((id, d["v"].as_u64().unwrap_or(0)))
}

/// The acceptable final states of each document written in `history`.
pub fn acceptable(
    history: &[Op],
    tasks: &BTreeMap<u64, String>,
) -> (BTreeMap<String, BTreeSet<DocState>>, usize, usize) {
    let (pairs, _) = super::pair_ops(history);
    let mut per_doc: BTreeMap<String, BTreeSet<DocState>> = BTreeMap::new();
    let (mut confirmed, mut uncertain) = (0, 0);
    for (invoke, done) in pairs {
        let Some(id) = &invoke.key else { continue };
        let after = match invoke.f.as_str() {
            "add" | "update" => DocState::Present(invoke.value["v"].as_u64().unwrap_or(0)),
            "delete" => DocState::Absent,
            _ => continue,
        };
        let states = per_doc
            .entry(id.clone())
            .or_insert_with(|| BTreeSet::from([DocState::Absent]));
        let certain = match done {
            Some(d) if d.kind == OpType::Ok => d.value["task"]
                .as_u64()
                .and_then(|t| tasks.get(&t))
                .is_some_and(|s| s == "succeeded"),
            // Refused outright: no effect, nothing to add.
            Some(d) if d.kind == OpType::Fail => continue,
            _ => false,
        };
        if certain {
            confirmed += 1;
            // Everything before a certain write is overwritten by it.
            states.clear();
        } else {
            uncertain += 1;
        }
        states.insert(after);
    }
    (per_doc, confirmed, uncertain)
}

pub fn check_documents(history: &[Op], read: &FinalRead) -> DocumentsResult {
    let (expected, confirmed, uncertain) = acceptable(history, &read.tasks);
    let mut unfinished = Anomaly::default();
    let mut anomalies: BTreeMap<&'static str, Anomaly> = BTreeMap::new();
    let mut note = |kind: &'static str, what: String| anomalies.entry(kind).or_default().add(what);
    for op in history.iter().filter(|o| o.kind == OpType::Ok) {
        if let Some(t) = op.value["task"].as_u64() {
            let id = op.key.as_deref().unwrap_or("?");
            match read.tasks.get(&t).map_or("unknown", String::as_str) {
                "succeeded" => {}
                "failed" | "canceled" => note(
                    "failed-task",
                    format!(
                        "task {t} of an acknowledged {} of {id} did not succeed",
                        op.f
                    ),
                ),
                status => unfinished.add(format!("task {t} of {id} ({status})")),
            }
        }
    }

    // Each group's versions of each document (several copies per group
    // when RF > 1; they must all be acceptable).
    let groups: BTreeSet<u32> = read.nodes.iter().map(|n| n.group).collect();
    let mut held: BTreeMap<(u32, String), BTreeSet<u64>> = BTreeMap::new();
    for n in &read.nodes {
        for d in &n.docs {
            if let Some((id, v)) = doc_version(d) {
                held.entry((n.group, id)).or_default().insert(v);
            }
        }
    }
    let mut all_ids: BTreeSet<&String> = expected.keys().collect();
    all_ids.extend(held.keys().map(|(_, id)| id));
    for id in all_ids {
        let Some(ok) = expected.get(id) else {
            note(
                "unwritten",
                format!("{id} is on the nodes but no client wrote it"),
            );
            continue;
        };
        let mut good = vec![];
        let mut bad = vec![];
        for g in &groups {
            let states: Vec<DocState> = match held.get(&(*g, id.clone())) {
                None => vec![DocState::Absent],
                Some(vs) => vs.iter().map(|v| DocState::Present(*v)).collect(),
            };
            if states.iter().all(|s| ok.contains(s)) {
                good.push(*g);
            } else {
                bad.push((*g, states));
            }
        }
        if bad.is_empty() {
            continue;
        }
        let shown = format!("{id}: expected one of {ok:?}, groups hold {bad:?}");
        if !good.is_empty() {
            note("divergent", format!("{shown} (groups {good:?} are right)"));
        } else if ok.iter().all(|s| *s == DocState::Absent) {
            note("resurrected", shown);
        } else if bad.iter().all(|(_, s)| s == &[DocState::Absent]) {
            note("lost", shown);
        } else {
            note("stale", shown);
        }
    }
    for (router, listing) in &read.listings {
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        for d in listing {
            let Some((id, v)) = doc_version(d) else {
                continue;
            };
            if seen.insert(id.clone(), v).is_some() {
                note("duplicated", format!("{id} listed twice by {router}"));
            }
            if !expected.contains_key(&id) {
                note(
                    "unwritten",
                    format!("{id} (v{v}) listed by {router} but no client wrote it"),
                );
            }
        }
        // What a client reading the listing sees must be acceptable too.
        for (id, ok) in &expected {
            let shown = seen
                .get(id)
                .map_or(DocState::Absent, |v| DocState::Present(*v));
            if !ok.contains(&shown) {
                note(
                    "misreported",
                    format!("{router}'s listing shows {id} as {shown:?}, expected one of {ok:?}"),
                );
            }
        }
    }
    let verdict = if !anomalies.is_empty() {
        Verdict::Invalid
    } else if unfinished.count > 0 || confirmed == 0 {
        // Not judged: writes whose fate is still open, or nothing confirmed.
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    DocumentsResult {
        verdict,
        documents: expected.len(),
        confirmed_writes: confirmed,
        uncertain_writes: uncertain,
        unfinished_tasks: unfinished,
        anomalies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(p: u64, kind: OpType, f: &str, id: &str, value: Value) -> Op {
        let mut o = Op::invoke(p, f, Some(id.into()), value);
        o.kind = kind;
        o
    }

    /// An add (v1) and an update (v2) of `a`, both confirmed, then a
    /// confirmed delete of `b` after its add.
    fn history() -> Vec<Op> {
        vec![
            op(1, OpType::Invoke, "add", "a", json!({"v": 1})),
            op(1, OpType::Ok, "add", "a", json!({"v": 1, "task": 1})),
            op(1, OpType::Invoke, "update", "a", json!({"v": 2})),
            op(1, OpType::Ok, "update", "a", json!({"v": 2, "task": 2})),
            op(1, OpType::Invoke, "add", "b", json!({"v": 1})),
            op(1, OpType::Ok, "add", "b", json!({"v": 1, "task": 3})),
            op(1, OpType::Invoke, "delete", "b", Value::Null),
            op(1, OpType::Ok, "delete", "b", json!({"task": 4})),
        ]
    }

    fn tasks() -> BTreeMap<u64, String> {
        (1..=4).map(|t| (t, "succeeded".to_string())).collect()
    }

    fn read(groups: Vec<Vec<Value>>) -> FinalRead {
        FinalRead {
            nodes: groups
                .into_iter()
                .enumerate()
                .map(|(g, docs)| NodeCopies {
                    node: format!("n{g}"),
                    group: g as u32,
                    docs,
                })
                .collect(),
            listings: vec![],
            tasks: tasks(),
        }
    }

    fn kinds(r: &DocumentsResult) -> Vec<&'static str> {
        r.anomalies.keys().copied().collect()
    }

    #[test]
    fn the_last_confirmed_versions_everywhere_is_valid() {
        let a = json!({"id": "a", "v": 2});
        let r = check_documents(&history(), &read(vec![vec![a.clone()], vec![a]]));
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
        assert_eq!((r.documents, r.confirmed_writes), (2, 4));
    }

    #[test]
    fn each_way_of_being_wrong_has_its_name() {
        let h = history();
        let a1 = json!({"id": "a", "v": 1});
        let a2 = json!({"id": "a", "v": 2});
        let b = json!({"id": "b", "v": 1});
        assert_eq!(
            kinds(&check_documents(&h, &read(vec![vec![], vec![]]))),
            ["lost"]
        );
        assert_eq!(
            kinds(&check_documents(
                &h,
                &read(vec![vec![a1.clone()], vec![a1]])
            )),
            ["stale"]
        );
        assert_eq!(
            kinds(&check_documents(&h, &read(vec![vec![a2.clone()], vec![]]))),
            ["divergent"]
        );
        let back = check_documents(
            &h,
            &read(vec![vec![a2.clone(), b.clone()], vec![a2.clone(), b]]),
        );
        assert_eq!(kinds(&back), ["resurrected"]);
        let ghost = json!({"id": "zz", "v": 1});
        let r = check_documents(
            &h,
            &read(vec![vec![a2.clone(), ghost.clone()], vec![a2.clone()]]),
        );
        assert_eq!(kinds(&r), ["unwritten"]);
        let mut twice = read(vec![vec![a2.clone()], vec![a2.clone()]]);
        twice.listings = vec![("r1".into(), vec![a2.clone(), a2.clone()])];
        assert_eq!(kinds(&check_documents(&h, &twice)), ["duplicated"]);
        let mut short = read(vec![vec![a2.clone()], vec![a2]]);
        short.listings = vec![("r1".into(), vec![])];
        assert_eq!(kinds(&check_documents(&h, &short)), ["misreported"]);
    }

    #[test]
    fn an_uncertain_last_write_may_or_may_not_be_there() {
        let mut h = history();
        h.push(op(1, OpType::Invoke, "update", "a", json!({"v": 3})));
        h.push(op(1, OpType::Info, "update", "a", json!({"v": 3})));
        for a in [json!({"id": "a", "v": 2}), json!({"id": "a", "v": 3})] {
            let r = check_documents(&h, &read(vec![vec![a.clone()], vec![a]]));
            assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
        }
        // But not an older version, and not absent.
        let r = check_documents(&h, &read(vec![vec![], vec![]]));
        assert_eq!(kinds(&r), ["lost"]);
    }

    #[test]
    fn a_failed_or_unfinished_task_is_not_a_pass() {
        let h = history();
        let a1 = json!({"id": "a", "v": 1});
        let mut rd = read(vec![vec![a1.clone()], vec![a1.clone()]]);
        rd.tasks.insert(2, "failed".into());
        let r = check_documents(&h, &rd);
        // The document may hold either version, but the task must not fail.
        assert_eq!(kinds(&r), ["failed-task"]);
        assert_eq!(r.uncertain_writes, 1);
        let mut rd = read(vec![vec![a1.clone()], vec![a1]]);
        rd.tasks.insert(2, "processing".into());
        let r = check_documents(&h, &rd);
        assert_eq!(r.verdict, Verdict::Unknown, "{:?}", r.anomalies);
        assert_eq!(r.unfinished_tasks.count, 1);
    }

    #[test]
    fn a_run_with_nothing_confirmed_is_not_judged() {
        let r = check_documents(&[], &read(vec![vec![], vec![]]));
        assert_eq!(r.verdict, Verdict::Unknown);
    }
}
