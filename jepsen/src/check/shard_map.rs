//! Judges the epochs routers wrote under, as each write's answer reported
//! them (`X-Miroir-Epoch`), against when the harness saw the coordinators
//! commit each epoch. Properties:
//! - *regressed*: a router never routes a write with an older epoch than a
//!   write it already answered (real-time order, per router);
//! - *expired-lease*: no write is routed with epoch `e` when it was sent
//!   after a newer epoch was committed plus a full lease: by then the
//!   coordinators have moved on and count that router's lease as expired.
//!   The write was sent no earlier than the client invoked it, and the
//!   harness saw the newer epoch no earlier than its commit, so a write
//!   invoked later than that bound is a certain violation.

use std::collections::BTreeMap;

use serde::Serialize;

use super::documents::Anomaly;
use super::Verdict;
use crate::history::{Op, OpType};

#[derive(Debug, Clone, Serialize)]
pub struct ShardMapResult {
    pub verdict: Verdict,
    /// Writes that reported an epoch.
    pub writes_checked: usize,
    /// Searches that reported an epoch.
    pub searches_checked: usize,
    /// Epochs the harness saw committed during the run.
    pub epochs_seen: usize,
    /// Writes whose epoch had been superseded when they were invoked
    /// (legitimate within a lease): shows the lease rule was exercised.
    pub writes_under_superseded_epoch: usize,
    pub anomalies: BTreeMap<&'static str, Anomaly>,
}

/// `seen` maps each epoch to when (ns since start) the harness first saw it
/// committed; `bound_ns` is the lease plus the coordinators' margin and
/// some slack for the harness's own delay in seeing the commit.
pub fn check_shard_map(history: &[Op], seen: &BTreeMap<u64, u64>, bound_ns: u64) -> ShardMapResult {
    let (pairs, _) = super::pair_ops(history);
    // (router, invoked, completed, epoch, is a search) of every answer with
    // an epoch: a write answered, or failed after the router had sent it, or
    // a search.
    let mut routed: Vec<(&str, u64, u64, u64, bool)> = pairs
        .iter()
        .filter_map(|(i, d)| {
            let d = d.filter(|d| matches!(d.kind, OpType::Ok | OpType::Info))?;
            let epoch = d.value["epoch"].as_u64()?;
            Some((i.node.as_deref()?, i.time, d.time, epoch, i.f == "search"))
        })
        .collect();
    routed.sort_by_key(|w| w.1);
    let mut anomalies: BTreeMap<&'static str, Anomaly> = BTreeMap::new();

    // When the harness first saw an epoch newer than `e` committed.
    let superseded_at = |e: u64| seen.range(e + 1..).map(|(_, &t)| t).min();

    // Leases bound writes only: searches may use any cached map (I5).
    let mut superseded = 0;
    let mut writes = 0;
    for &(router, invoked, _, epoch, _) in routed.iter().filter(|w| !w.4) {
        writes += 1;
        if let Some(at) = superseded_at(epoch) {
            if invoked > at {
                superseded += 1;
            }
            if invoked > at.saturating_add(bound_ns) {
                anomalies.entry("expired-lease").or_default().add(format!(
                    "{router} routed a write invoked at {:.3}s with epoch {epoch}, {:.3}s after a newer epoch was committed",
                    invoked as f64 / 1e9,
                    (invoked - at) as f64 / 1e9
                ));
            }
        }
    }

    // Per router, in invocation order: the highest epoch among requests that
    // completed before this one was invoked must not exceed this one's.
    let mut by_router: BTreeMap<&str, Vec<(u64, u64, u64)>> = BTreeMap::new();
    for &(r, i, c, e, _) in &routed {
        by_router.entry(r).or_default().push((i, c, e));
    }
    for (router, ws) in &by_router {
        let mut done: Vec<(u64, u64)> = ws.iter().map(|&(_, c, e)| (c, e)).collect();
        done.sort();
        let (mut j, mut high) = (0, 0u64);
        for &(invoked, _, epoch) in ws {
            while j < done.len() && done[j].0 < invoked {
                high = high.max(done[j].1);
                j += 1;
            }
            if epoch < high {
                anomalies.entry("regressed").or_default().add(format!(
                    "{router} routed a request invoked at {:.3}s with epoch {epoch} after answering one with epoch {high}",
                    invoked as f64 / 1e9
                ));
            }
        }
    }
    let verdict = if !anomalies.is_empty() {
        Verdict::Invalid
    } else if writes == 0 || seen.len() < 2 {
        // No write reported an epoch, or the epoch never moved: nothing was
        // actually checked.
        Verdict::Unknown
    } else {
        Verdict::Valid
    };
    ShardMapResult {
        verdict,
        writes_checked: writes,
        searches_checked: routed.len() - writes,
        epochs_seen: seen.len(),
        writes_under_superseded_epoch: superseded,
        anomalies,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const S: u64 = 1_000_000_000;

    fn write(router: &str, invoked: u64, completed: u64, epoch: u64) -> [Op; 2] {
        let mut i = Op::invoke(1, "add", Some("d".into()), json!({"v": 1})).on(router);
        i.time = invoked;
        let mut d = i.complete(OpType::Ok, json!({"v": 1, "epoch": epoch}));
        d.time = completed;
        [i, d]
    }

    fn search(router: &str, invoked: u64, completed: u64, epoch: u64) -> [Op; 2] {
        let [mut i, mut d] = write(router, invoked, completed, epoch);
        i.f = "search".into();
        d.f = "search".into();
        [i, d]
    }

    fn history(ws: &[[Op; 2]]) -> Vec<Op> {
        let mut h: Vec<Op> = ws.iter().flatten().cloned().collect();
        h.sort_by_key(|o| o.time);
        h
    }

    #[test]
    fn writes_within_a_lease_of_a_new_epoch_are_fine_and_later_ones_are_not() {
        let seen = BTreeMap::from([(5, 0), (6, 10 * S)]);
        let ok = history(&[write("r1", 11 * S, 11 * S + 1, 5)]);
        let r = check_shard_map(&ok, &seen, 3 * S);
        assert_eq!(r.verdict, Verdict::Valid);
        assert_eq!(r.writes_under_superseded_epoch, 1);
        let late = history(&[write("r1", 14 * S, 14 * S + 1, 5)]);
        let r = check_shard_map(&late, &seen, 3 * S);
        assert_eq!(
            r.anomalies.keys().copied().collect::<Vec<_>>(),
            ["expired-lease"]
        );
    }

    #[test]
    fn searches_need_no_lease_but_must_not_go_back() {
        let seen = BTreeMap::from([(5, 0), (6, 10 * S)]);
        let w = write("r1", 11 * S, 11 * S + 1, 6);
        // A search long after with an old map is fine (reads outlive leases)...
        let old = history(&[w.clone(), search("r2", 30 * S, 30 * S + 1, 5)]);
        let r = check_shard_map(&old, &seen, 3 * S);
        assert_eq!(r.verdict, Verdict::Valid, "{:?}", r.anomalies);
        assert_eq!((r.writes_checked, r.searches_checked), (1, 1));
        // ...but not after the same router answered with a newer one.
        let back = history(&[w, search("r1", 30 * S, 30 * S + 1, 5)]);
        let r = check_shard_map(&back, &seen, 3 * S);
        assert_eq!(
            r.anomalies.keys().copied().collect::<Vec<_>>(),
            ["regressed"]
        );
    }

    #[test]
    fn an_epoch_never_seen_is_superseded_by_the_next_one_seen() {
        let seen = BTreeMap::from([(4, 0), (9, 10 * S)]);
        let late = history(&[write("r1", 20 * S, 20 * S + 1, 6)]);
        assert_eq!(
            check_shard_map(&late, &seen, 3 * S).verdict,
            Verdict::Invalid
        );
    }

    #[test]
    fn a_router_going_back_in_epoch_is_caught_but_overlapping_writes_are_not() {
        let seen = BTreeMap::new();
        let overlap = history(&[write("r1", S, 3 * S, 7), write("r1", 2 * S, 4 * S, 6)]);
        assert_eq!(
            check_shard_map(&overlap, &seen, S).verdict,
            Verdict::Unknown
        );
        let seen = BTreeMap::from([(6, 0), (7, 10 * S)]);
        assert_eq!(check_shard_map(&overlap, &seen, S).verdict, Verdict::Valid);
        let back = history(&[write("r1", S, 2 * S, 7), write("r1", 3 * S, 4 * S, 6)]);
        let r = check_shard_map(&back, &seen, S);
        assert_eq!(
            r.anomalies.keys().copied().collect::<Vec<_>>(),
            ["regressed"]
        );
        // Another router may well be behind.
        let other = history(&[write("r1", S, 2 * S, 7), write("r2", 3 * S, 4 * S, 6)]);
        assert_eq!(check_shard_map(&other, &seen, S).verdict, Verdict::Valid);
        // No write with an epoch: nothing was checked.
        assert_eq!(check_shard_map(&[], &seen, S).verdict, Verdict::Unknown);
    }
}
