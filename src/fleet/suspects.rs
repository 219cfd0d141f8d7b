//! Nodes that just failed several times in a row are *suspect*: calls to them fail at once for a
//! short while instead of each waiting out the node timeout, so one dead node does not slow every
//! write (its copies are marked behind from the misses, and repaired when it is back). Once the
//! while is over, the next call goes through and decides: an answer clears the suspicion, another
//! failure renews it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// When a node becomes suspect, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Suspicion {
    /// Failures in a row (no answer at all) that make a node suspect; 0 turns suspicion off.
    pub after: u32,
    /// How long calls to a suspect node fail without being sent.
    pub hold: Duration,
}

impl Default for Suspicion {
    fn default() -> Self {
        Suspicion {
            after: 3,
            hold: Duration::from_secs(2),
        }
    }
}

#[derive(Debug, Default)]
struct Record {
    failures: u32,
    until: Option<Instant>,
}

/// The suspect nodes, by base URL, shared by every clone of a node client.
#[derive(Debug, Default)]
pub struct Suspects {
    rule: Suspicion,
    nodes: Mutex<HashMap<String, Record>>,
}

impl Suspects {
    pub fn new(rule: Suspicion) -> Self {
        Suspects {
            rule,
            nodes: Mutex::default(),
        }
    }

    /// How much longer calls to `base` fail without being sent (`None`: call it).
    pub fn held(&self, base: &str, now: Instant) -> Option<Duration> {
        let nodes = self.nodes.lock().expect("suspects lock");
        let until = nodes.get(base)?.until?;
        (until > now).then(|| until - now)
    }

    /// A call to `base` got no answer.
    pub fn failed(&self, base: &str, now: Instant) {
        if self.rule.after == 0 {
            return;
        }
        let mut nodes = self.nodes.lock().expect("suspects lock");
        let r = nodes.entry(base.to_string()).or_default();
        r.failures = r.failures.saturating_add(1);
        if r.failures >= self.rule.after {
            if r.until.is_none_or(|u| u <= now) {
                metrics::counter!("miroir_node_suspected_total").increment(1);
                tracing::warn!(node = base, failures = r.failures, hold = ?self.rule.hold, "node suspect: calls fail fast for a while");
            }
            r.until = Some(now + self.rule.hold);
        }
    }

    /// A call to `base` got an answer (an error answer too): the node is up.
    pub fn answered(&self, base: &str) {
        let mut nodes = self.nodes.lock().expect("suspects lock");
        if nodes.contains_key(base) {
            nodes.remove(base);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A node is suspect after the set number of failures in a row, for the hold; an answer
    /// clears it, and a failure after the hold renews it.
    #[test]
    fn suspicion_follows_failures_in_a_row() {
        let hold = Duration::from_secs(2);
        let s = Suspects::new(Suspicion { after: 2, hold });
        let t0 = Instant::now();
        s.failed("n", t0);
        assert_eq!(s.held("n", t0), None, "one failure is not enough");
        s.failed("n", t0);
        assert_eq!(s.held("n", t0), Some(hold));
        assert_eq!(s.held("n", t0 + hold), None, "the hold is over");
        s.failed("n", t0 + hold);
        assert!(s.held("n", t0 + hold).is_some(), "renewed");
        s.answered("n");
        assert_eq!(s.held("n", t0 + hold), None);
        let off = Suspects::new(Suspicion { after: 0, hold });
        for _ in 0..5 {
            off.failed("n", t0);
        }
        assert_eq!(off.held("n", t0), None);
    }
}
