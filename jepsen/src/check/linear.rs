//! A generic linearizability checker: the Wing–Gong–Lowe search, with the
//! memoisation of Lowe (a cache of already explored configurations).
//!
//! Every operation becomes a call event and a return event in one time-ordered
//! doubly linked list. The search walks the list from its head: at a call it
//! tries to linearize the operation now (step the model, lift the operation's
//! two events out of the list, restart from the head); at a return it has
//! met an operation that must already have taken effect, so it backtracks.
//! The configuration (set of linearized operations, model state) fully
//! determines what can follow, so one seen before is never explored again.

use std::collections::HashSet;
use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// A sequential specification of the object under test.
pub trait Model {
    type State: Clone + Eq + Hash + Debug;
    type Input;
    type Output;

    fn init(&self) -> Self::State;

    /// The state after applying `input` in `state`, if the operation may
    /// have observed `output` there; `None` if it cannot happen here.
    /// `output == None` means the outcome is unknown (indeterminate).
    fn step(
        &self,
        state: &Self::State,
        input: &Self::Input,
        output: Option<&Self::Output>,
    ) -> Option<Self::State>;
}

/// One operation: invoked at `call`, completed at `ret` with `output`.
/// `ret == None` (and then `output == None`) is an indeterminate operation: it
/// may take effect at any point after `call`, or never.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry<I, O> {
    pub call: u64,
    pub ret: Option<u64>,
    pub input: I,
    pub output: Option<O>,
}

/// How much work the search may do before giving up with `Unknown`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Budget {
    pub deadline: Option<Instant>,
    pub max_steps: Option<u64>,
}

impl Budget {
    pub fn unlimited() -> Self {
        Budget::default()
    }

    pub fn time(limit: Duration) -> Self {
        Budget::until(Instant::now() + limit)
    }

    pub fn until(deadline: Instant) -> Self {
        Budget {
            deadline: Some(deadline),
            max_steps: None,
        }
    }

    pub fn steps(max: u64) -> Self {
        Budget {
            deadline: None,
            max_steps: Some(max),
        }
    }

    fn exhausted(&self, steps: u64) -> bool {
        if self.max_steps.is_some_and(|max| steps >= max) {
            return true;
        }
        // Reading the clock every step would dominate small searches.
        steps % 1024 == 1023 && self.deadline.is_some_and(|d| Instant::now() >= d)
    }
}

/// Where the search got furthest before every path failed.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure<S> {
    /// The longest linearization found, as indices into the entries, in
    /// linearization order.
    pub prefix: Vec<usize>,
    /// The model state after `prefix`.
    pub state: S,
    /// The operation that had returned but could not be linearized next.
    pub stuck: usize,
    /// Every operation pending at that point (invoked, not linearized),
    /// including `stuck`: none of them could take effect in `state`
    /// in a way that lets the rest of the history follow.
    pub pending: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<S> {
    Linearizable,
    NotLinearizable(Failure<S>),
    /// The budget ran out first.
    Unknown,
}

const NIL: usize = usize::MAX;

/// The event list, dancing-links style: a lifted node keeps its own links,
/// so undoing lifts in reverse order restores the list exactly.
struct Events {
    prev: Vec<usize>,
    next: Vec<usize>,
    /// The entry a node belongs to.
    op: Vec<usize>,
    /// For a call node, its return node; `NIL` for return nodes.
    ret_node: Vec<usize>,
}

impl Events {
    const HEAD: usize = 0;

    fn build<I, O>(entries: &[Entry<I, O>]) -> Self {
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

    fn lift(&mut self, call: usize) {
        self.unlink(call);
        self.unlink(self.ret_node[call]);
    }

    fn unlift(&mut self, call: usize) {
        self.relink(self.ret_node[call]);
        self.relink(call);
    }

    fn is_call(&self, node: usize) -> bool {
        self.ret_node[node] != NIL
    }
}

/// A fixed-size set of operation indices; hashed together with the state.
#[derive(Clone, PartialEq, Eq, Hash)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }

    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }

    fn clear(&mut self, i: usize) {
        self.0[i / 64] &= !(1 << (i % 64));
    }
}

/// Decides whether `entries` has a linearization under `model`.
pub fn check<M: Model>(
    model: &M,
    entries: &[Entry<M::Input, M::Output>],
    budget: Budget,
) -> Outcome<M::State> {
    let mut events = Events::build(entries);
    let mut state = model.init();
    let mut linearized = Bits::new(entries.len());
    let mut seen: HashSet<(Bits, M::State)> = HashSet::new();
    // The call nodes linearized so far, with the state before each.
    let mut stack: Vec<(usize, M::State)> = Vec::new();
    let mut best: Option<Failure<M::State>> = None;
    let mut steps: u64 = 0;

    let mut node = events.next[Events::HEAD];
    while node != NIL {
        steps += 1;
        if budget.exhausted(steps) {
            return Outcome::Unknown;
        }
        let op = events.op[node];
        if events.is_call(node) {
            let entry = &entries[op];
            let next_state = model
                .step(&state, &entry.input, entry.output.as_ref())
                .filter(|s| {
                    let mut bits = linearized.clone();
                    bits.set(op);
                    seen.insert((bits, s.clone()))
                });
            match next_state {
                Some(s) => {
                    stack.push((node, std::mem::replace(&mut state, s)));
                    linearized.set(op);
                    events.lift(node);
                    node = events.next[Events::HEAD];
                }
                None => node = events.next[node],
            }
            continue;
        }
        // A return: every operation still listed before it was invoked and
        // not yet linearized, and this one must already have taken effect.
        if entries[op].ret.is_none() {
            // Only indeterminate returns remain: all determinate operations
            // are linearized, and the rest may simply never take effect.
            return Outcome::Linearizable;
        }
        if best.as_ref().is_none_or(|b| stack.len() > b.prefix.len()) {
            best = Some(failure(&events, &stack, &state, node));
        }
        let Some((call, prev)) = stack.pop() else {
            // Every way to order the operations before this return failed.
            return Outcome::NotLinearizable(best.expect("recorded above"));
        };
        state = prev;
        linearized.clear(events.op[call]);
        events.unlift(call);
        node = events.next[call];
    }
    // The list emptied: every operation is linearized.
    Outcome::Linearizable
}

fn failure<S: Clone>(events: &Events, stack: &[(usize, S)], state: &S, stuck: usize) -> Failure<S> {
    // `stuck` is the first return listed, so everything before it is a
    // call, its own among them.
    let mut pending = Vec::new();
    let mut n = events.next[Events::HEAD];
    while n != stuck {
        pending.push(events.op[n]);
        n = events.next[n];
    }
    Failure {
        prefix: stack.iter().map(|(call, _)| events.op[*call]).collect(),
        state: state.clone(),
        stuck: events.op[stuck],
        pending,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An integer register: `Some(v)` writes v, `None` reads.
    struct Reg;

    impl Model for Reg {
        type State = i64;
        type Input = Option<i64>;
        type Output = i64;

        fn init(&self) -> i64 {
            0
        }

        fn step(&self, state: &i64, input: &Option<i64>, output: Option<&i64>) -> Option<i64> {
            match (input, output) {
                (Some(v), _) => Some(*v),
                (None, Some(seen)) => (seen == state).then_some(*state),
                (None, None) => Some(*state),
            }
        }
    }

    fn write(call: u64, ret: Option<u64>, v: i64) -> Entry<Option<i64>, i64> {
        Entry {
            call,
            ret,
            input: Some(v),
            output: ret.map(|_| 0),
        }
    }

    fn read(call: u64, ret: u64, v: i64) -> Entry<Option<i64>, i64> {
        Entry {
            call,
            ret: Some(ret),
            input: None,
            output: Some(v),
        }
    }

    fn run(entries: &[Entry<Option<i64>, i64>]) -> Outcome<i64> {
        check(&Reg, entries, Budget::unlimited())
    }

    #[test]
    fn empty_and_sequential() {
        assert_eq!(run(&[]), Outcome::Linearizable);
        assert_eq!(
            run(&[read(0, 1, 0), write(2, Some(3), 5), read(4, 5, 5)]),
            Outcome::Linearizable
        );
    }

    #[test]
    fn real_time_order_is_respected() {
        // The write returned before the read was invoked: the read must see it.
        let Outcome::NotLinearizable(f) = run(&[write(0, Some(1), 5), read(2, 3, 0)]) else {
            panic!("expected a violation");
        };
        assert_eq!(
            (f.prefix, f.state, f.stuck, f.pending),
            (vec![0], 5, 1, vec![1])
        );
        // Overlapping, either order is fine.
        assert_eq!(
            run(&[write(0, Some(3), 5), read(1, 2, 0)]),
            Outcome::Linearizable
        );
        assert_eq!(
            run(&[write(0, Some(3), 5), read(1, 2, 5)]),
            Outcome::Linearizable
        );
        // Touching intervals count as overlapping.
        assert_eq!(
            run(&[write(0, Some(2), 5), read(2, 3, 0)]),
            Outcome::Linearizable
        );
    }

    #[test]
    fn indeterminate_operations_act_late_or_never() {
        let late = [
            write(0, None, 7),
            read(1, 2, 0),
            read(3, 4, 7),
            read(5, 6, 7),
        ];
        assert_eq!(run(&late), Outcome::Linearizable);
        let never = [write(0, None, 7), read(1, 2, 0), read(3, 4, 0)];
        assert_eq!(run(&never), Outcome::Linearizable);
        // But once seen, it cannot be undone.
        let flicker = [write(0, None, 7), read(1, 2, 7), read(3, 4, 0)];
        assert!(matches!(run(&flicker), Outcome::NotLinearizable(_)));
        // Nor act before it is invoked.
        assert!(matches!(
            run(&[read(0, 1, 7), write(2, None, 7)]),
            Outcome::NotLinearizable(_)
        ));
    }

    #[test]
    fn budget_exhaustion_is_unknown() {
        // Many concurrent writes and an impossible read: the whole space of
        // orders has to be searched before the verdict.
        let mut entries: Vec<_> = (0..12).map(|i| write(i, Some(100), i as i64 + 1)).collect();
        entries.push(read(50, 150, 99));
        assert_eq!(check(&Reg, &entries, Budget::steps(50)), Outcome::Unknown);
        let expired = Budget::until(Instant::now());
        assert!(matches!(
            check(&Reg, &entries, Budget::unlimited()),
            Outcome::NotLinearizable(_)
        ));
        assert_eq!(check(&Reg, &entries, expired), Outcome::Unknown);
    }
}
