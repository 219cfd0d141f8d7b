//! The time-ordered list of call and return events the search walks.

use super::Entry;

pub(super) const NIL: usize = usize::MAX;

/// The event list, dancing-links style: a lifted node keeps its own links,
/// so undoing lifts in reverse order restores the list exactly.
pub(super) struct Events {
    pub(super) prev: Vec<usize>,
    pub(super) next: Vec<usize>,
    /// The entry a node belongs to.
    pub(super) op: Vec<usize>,
    /// For a call node, its return node; `NIL` for return nodes.
    pub(super) ret_node: Vec<usize>,
}

impl Events {
    pub(super) const HEAD: usize = 0;

    pub(super) fn build<I, O>(entries: &[Entry<I, O>]) -> Self {
        // (time, 0 = call / 1 = return, entry); calls sort before returns at
        // equal times, so simultaneous events count as concurrent.
        let mut events: Vec<(u64, u8, usize)> = Vec::with_capacity(2 * entries.len());
        for (i, e) in entries.iter().enumerate() {
            events.push((e.call, 0, i));
            // An indeterminate operation never has to have taken effect.
            let ret = e.ret.map_or(u64::MAX, |r| r.max(e.call));
            events.push((ret, 1, i));
        }
        events.sort_unstable();

        let n = events.len() + 1;
        let mut ev = Events {
            prev: (0..n).map(|i| i.wrapping_sub(1)).collect(),
            next: (1..=n).map(|i| if i == n { NIL } else { i }).collect(),
            op: vec![NIL; n],
            ret_node: vec![NIL; n],
        };
        let mut call_node = vec![NIL; entries.len()];
        for (k, &(_, kind, i)) in events.iter().enumerate() {
            let node = k + 1;
            ev.op[node] = i;
            if kind == 0 {
                call_node[i] = node;
            } else {
                ev.ret_node[call_node[i]] = node;
            }
        }
        ev
    }

    fn unlink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = n;
        if n != NIL {
            self.prev[n] = p;
        }
    }

    fn relink(&mut self, node: usize) {
        let (p, n) = (self.prev[node], self.next[node]);
        self.next[p] = node;
        if n != NIL {
            self.prev[n] = node;
        }
    }

    pub(super) fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.ret_node[call]);
    }

    pub(super) fn unlift(&mut self, call: usize) {
        self.relink(self.ret_node[call]);
        self.relink(call);
    }

    pub(super) fn is_call(&self, node: usize) -> bool {
        self.ret_node[node] != NIL
    }
}
