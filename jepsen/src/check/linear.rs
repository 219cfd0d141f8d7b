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

mod events;
mod memo;

use std::fmt::Debug;
use std::hash::Hash;
use std::time::{Duration, Instant};

use events::{Events, NIL};
use memo::{Seen, States};

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

    /// Roughly the memory `state` holds, for [`Budget::max_bytes`].
    fn state_bytes(&self, _state: &Self::State) -> usize {
        std::mem::size_of::<Self::State>()
    }
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
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub deadline: Option<Instant>,
    pub max_steps: Option<u64>,
    /// A bound on the memo cache and the states it holds: the cache grows
    /// with every step, so without one a long search exhausts memory.
    pub max_bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            deadline: None,
            max_steps: None,
            max_bytes: Budget::DEFAULT_MAX_BYTES,
        }
    }
}

impl Budget {
    pub const DEFAULT_MAX_BYTES: usize = 1 << 30;

    /// No limit but the default memory bound.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    pub fn time(limit: Duration) -> Self {
        Budget::until(Instant::now() + limit)
    }

    pub fn until(deadline: Instant) -> Self {
        Budget {
            deadline: Some(deadline),
            ..Budget::default()
        }
    }

    pub fn steps(max: u64) -> Self {
        Budget {
            max_steps: Some(max),
            ..Budget::default()
        }
    }

    fn exhausted(&self, steps: u64, bytes: usize) -> Option<Limit> {
        if self.max_steps.is_some_and(|max| steps > max) {
            return Some(Limit::Steps);
        }
        if bytes > self.max_bytes {
            return Some(Limit::Memory);
        }
        // Reading the clock every step would dominate small searches.
        let late = steps.is_multiple_of(256) && self.deadline.is_some_and(|d| Instant::now() >= d);
        late.then_some(Limit::Time)
    }
}

/// Which part of the budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Steps,
    Time,
    Memory,
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
    /// including `stuck`: no order of them lets the history go on.
    pub pending: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome<S> {
    Linearizable,
    NotLinearizable(Failure<S>),
    /// The budget ran out first.
    Unknown(Limit),
}

/// Decides whether `entries` has a linearization under `model`.
pub fn check<M: Model>(
    model: &M,
    entries: &[Entry<M::Input, M::Output>],
    budget: Budget,
) -> Outcome<M::State> {
    let mut events = Events::build(entries);
    let words = entries.len().div_ceil(64);
    // The cache key: the linearized operations as a bitset, plus one word
    // for the state's index.
    let mut key = vec![0u64; words + 1];
    let mut seen = Seen::new(words + 1);
    let mut states = States::new();
    let mut bytes = 0;
    let mut state = states.intern(model.init()).0;
    // The call nodes linearized so far, with the state before each.
    let mut stack: Vec<(usize, u32)> = Vec::new();
    let mut best: Option<Failure<M::State>> = None;
    let mut steps: u64 = 0;

    let mut node = events.next[Events::HEAD];
    while node != NIL {
        steps += 1;
        if let Some(limit) = budget.exhausted(steps, bytes) {
            return Outcome::Unknown(limit);
        }
        let op = events.op[node];
        if events.is_call(node) {
            let entry = &entries[op];
            let next = model.step(states.get(state), &entry.input, entry.output.as_ref());
            let Some(next) = next else {
                node = events.next[node];
                continue;
            };
            let size = model.state_bytes(&next);
            let (next, fresh) = states.intern(next);
            if fresh {
                // The state, plus its share of the index.
                bytes += size + 16;
            }
            key[op / 64] ^= 1 << (op % 64);
            key[words] = next as u64;
            if seen.insert(&key) {
                // The key, its link and the table's slot (half full).
                bytes += 8 * key.len() + 4 + 32;
                stack.push((node, state));
                state = next;
                events.lift(node);
                node = events.next[Events::HEAD];
            } else {
                key[op / 64] ^= 1 << (op % 64);
                node = events.next[node];
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
            let s = states.get(state);
            best = Some(failure(&events, &stack, s, node));
        }
        let Some((call, prev)) = stack.pop() else {
            // Every way to order the operations before this return failed.
            return Outcome::NotLinearizable(best.expect("recorded above"));
        };
        state = prev;
        let undone = events.op[call];
        key[undone / 64] ^= 1 << (undone % 64);
        events.unlift(call);
        node = events.next[call];
    }
    // The list emptied: every operation is linearized.
    Outcome::Linearizable
}

fn failure<S: Clone>(
    events: &Events,
    stack: &[(usize, u32)],
    state: &S,
    stuck: usize,
) -> Failure<S> {
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
        let unknown = |budget| check(&Reg, &entries, budget);
        assert_eq!(unknown(Budget::steps(50)), Outcome::Unknown(Limit::Steps));
        assert_eq!(
            unknown(Budget::until(Instant::now())),
            Outcome::Unknown(Limit::Time)
        );
        let small = Budget {
            max_bytes: 4096,
            ..Budget::default()
        };
        assert_eq!(unknown(small), Outcome::Unknown(Limit::Memory));
        assert!(matches!(
            unknown(Budget::unlimited()),
            Outcome::NotLinearizable(_)
        ));
    }
}
