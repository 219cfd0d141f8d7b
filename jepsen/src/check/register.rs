//! Registers: `read`, `write` and `cas` on a value that starts as `null`, one
//! independent register per key.
//!
//! How the history's events read:
//! - `ok read` observed its completion's value; `ok write` wrote the invocation's
//!   value; `ok cas [A B]` swapped A for B;
//! - `fail cas [A B]` without `error`: the comparison failed (the value was not
//!   A), an observation to check;
//! - any other `fail` (with `error`, or of a read or write) had no effect and is
//!   left out;
//! - `info` (or no completion): a write or cas may take effect at any time after
//!   its invocation, or never; a read observed nothing and is left out.

use std::fmt;
use std::time::Duration;

use serde_json::Value;

use super::linear::Model;
use super::{check_keyed, Convert, KeyedResult};
use crate::history::{Op, OpType};

/// A register value, held as its JSON text so that it hashes and compares.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Val(String);

impl Val {
    pub fn new(v: &Value) -> Self {
        Val(v.to_string())
    }
}

impl fmt::Debug for Val {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum RegInput {
    Read,
    Write(Val),
    Cas(Val, Val),
}

#[derive(Debug, Clone, PartialEq)]
pub enum RegOutput {
    /// The value a read observed.
    Read(Val),
    Write,
    /// Whether the comparison held (and the swap happened).
    Cas(bool),
}

/// The sequential register.
pub struct Register;

impl Model for Register {
    type State = Val;
    type Input = RegInput;
    type Output = RegOutput;

    fn init(&self) -> Val {
        Val::new(&Value::Null)
    }

    fn step(&self, state: &Val, input: &RegInput, output: Option<&RegOutput>) -> Option<Val> {
        match (input, output) {
            (RegInput::Read, Some(RegOutput::Read(seen))) => (seen == state).then(|| state.clone()),
            // A read with an unknown result constrains nothing.
            (RegInput::Read, _) => Some(state.clone()),
            (RegInput::Write(v), _) => Some(v.clone()),
            (RegInput::Cas(from, _), Some(RegOutput::Cas(false))) => {
                (from != state).then(|| state.clone())
            }
            // A successful swap, or an unknown one taking effect; an unknown
            // cas whose comparison fails changes nothing, which the search
            // already covers by never linearizing it.
            (RegInput::Cas(from, to), _) => (from == state).then(|| to.clone()),
        }
    }

    fn state_bytes(&self, state: &Val) -> usize {
        std::mem::size_of::<Val>() + state.0.capacity()
    }
}

/// Reads `[A, B]` (or `{"from": A, "to": B}`) as a cas argument.
fn cas_args(v: &Value) -> Option<(Val, Val)> {
    match v {
        Value::Array(a) if a.len() == 2 => Some((Val::new(&a[0]), Val::new(&a[1]))),
        Value::Object(o) => Some((Val::new(o.get("from")?), Val::new(o.get("to")?))),
        _ => None,
    }
}

fn convert(invoke: &Op, done: Option<&Op>) -> Convert<RegInput, RegOutput> {
    let kind = done.map_or(OpType::Info, |d| d.kind);
    // A failure with a reason did not happen, whatever the operation.
    if kind == OpType::Fail && done.is_some_and(|d| d.error.is_some()) {
        return Convert::Drop;
    }
    match (invoke.f.as_str(), kind) {
        ("read", OpType::Ok) => {
            let seen = done.map_or(&Value::Null, |d| &d.value);
            Convert::Op(RegInput::Read, Some(RegOutput::Read(Val::new(seen))))
        }
        ("read", _) => Convert::Drop,
        ("write", OpType::Ok) => Convert::Op(
            RegInput::Write(Val::new(&invoke.value)),
            Some(RegOutput::Write),
        ),
        ("write", OpType::Fail) => Convert::Drop,
        ("write", _) => Convert::Op(RegInput::Write(Val::new(&invoke.value)), None),
        ("cas", kind) => {
            let Some((from, to)) = cas_args(&invoke.value) else {
                return Convert::Ignore;
            };
            let output = match kind {
                OpType::Ok => Some(RegOutput::Cas(true)),
                OpType::Fail => Some(RegOutput::Cas(false)),
                _ => None,
            };
            Convert::Op(RegInput::Cas(from, to), output)
        }
        _ => Convert::Ignore,
    }
}

/// Checks that each key's register operations in `history` are linearizable.
/// Keys still undecided when `budget` runs out are `unknown`, and so are
/// those left once one key is found invalid (which settles the verdict).
pub fn check_register(history: &[Op], budget: Duration) -> KeyedResult {
    check_keyed(&Register, history, budget, convert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;
    use serde_json::json;

    use OpType::{Fail, Info, Invoke, Ok};

    /// Events as (process, type, f, value), timed by their position.
    fn history(events: &[(u64, OpType, &str, Value)]) -> Vec<Op> {
        events
            .iter()
            .enumerate()
            .map(|(t, (p, kind, f, v))| {
                let mut op = Op::invoke(*p, f, None, v.clone());
                op.kind = *kind;
                op.time = t as u64;
                op
            })
            .collect()
    }

    fn verdict(events: &[(u64, OpType, &str, Value)]) -> Verdict {
        check_register(&history(events), Duration::from_secs(10)).verdict
    }

    const NIL: Value = Value::Null;

    #[test]
    fn sequential_history_is_valid() {
        let v = verdict(&[
            (0, Invoke, "read", NIL),
            (0, Ok, "read", NIL),
            (0, Invoke, "write", json!(1)),
            (0, Ok, "write", json!(1)),
            (1, Invoke, "cas", json!([1, 2])),
            (1, Ok, "cas", json!([1, 2])),
            (0, Invoke, "read", NIL),
            (0, Ok, "read", json!(2)),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn stale_read_is_invalid() {
        let r = check_register(
            &history(&[
                (0, Invoke, "write", json!(1)),
                (0, Ok, "write", json!(1)),
                (0, Invoke, "write", json!(2)),
                (0, Ok, "write", json!(2)),
                (1, Invoke, "read", NIL),
                (1, Ok, "read", json!(1)),
            ]),
            Duration::from_secs(10),
        );
        assert_eq!(r.verdict, Verdict::Invalid);
        let key = &r.keys[0];
        assert_eq!(key.unlinearizable.len(), 1);
        assert_eq!(key.unlinearizable[0].f, "read");
        assert!(key.explanation.as_ref().unwrap().contains("at most 2 of 3"));
    }

    #[test]
    fn overlapping_operations_may_go_either_way() {
        // The read overlaps the write, so it may see the old or the new value.
        for seen in [NIL, json!(1)] {
            let v = verdict(&[
                (0, Invoke, "write", json!(1)),
                (1, Invoke, "read", NIL),
                (1, Ok, "read", seen.clone()),
                (0, Ok, "write", json!(1)),
                (1, Invoke, "read", NIL),
                (1, Ok, "read", json!(1)),
            ]);
            assert_eq!(v, Verdict::Valid, "read {seen}");
        }
    }

    #[test]
    fn indeterminate_write_may_take_effect_later() {
        let v = verdict(&[
            (0, Invoke, "write", json!(1)),
            (0, Info, "write", json!(1)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", NIL),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", json!(1)),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn indeterminate_write_may_never_take_effect() {
        let v = verdict(&[
            (0, Invoke, "write", json!(1)),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", NIL),
            (1, Invoke, "cas", json!([1, 2])),
            (1, Fail, "cas", json!([1, 2])),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn indeterminate_write_cannot_act_before_its_invocation() {
        let v = verdict(&[
            (1, Invoke, "read", NIL),
            (1, Ok, "read", json!(1)),
            (0, Invoke, "write", json!(1)),
            (0, Info, "write", json!(1)),
        ]);
        assert_eq!(v, Verdict::Invalid);
    }

    #[test]
    fn failed_cas_observes_a_mismatch() {
        let v = verdict(&[
            (0, Invoke, "write", json!(1)),
            (0, Ok, "write", json!(1)),
            (1, Invoke, "cas", json!([2, 3])),
            (1, Fail, "cas", json!([2, 3])),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", json!(1)),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn failed_cas_contradicting_the_state_is_invalid() {
        let events = [
            (0, Invoke, "write", json!(1)),
            (0, Ok, "write", json!(1)),
            (1, Invoke, "cas", json!([1, 2])),
            (1, Fail, "cas", json!([1, 2])),
        ];
        assert_eq!(verdict(&events), Verdict::Invalid);
        // With an error the cas did not happen at all, which is fine.
        let mut ops = history(&events);
        ops[3].error = Some("timeout".into());
        let r = check_register(&ops, Duration::from_secs(10));
        assert_eq!(r.verdict, Verdict::Valid);
    }

    #[test]
    fn keys_are_checked_apart() {
        let mut ops = history(&[
            (0, Invoke, "write", json!("x")),
            (0, Ok, "write", json!("x")),
            (1, Invoke, "read", NIL),
            (1, Ok, "read", json!("x")),
            (2, Invoke, "read", NIL),
            (2, Ok, "read", json!("x")),
        ]);
        for (i, key) in ["a", "a", "a", "a", "b", "b"].iter().enumerate() {
            ops[i].key = Some(key.to_string());
        }
        let r = check_register(&ops, Duration::from_secs(10));
        assert_eq!(r.verdict, Verdict::Invalid);
        let verdicts: Vec<_> = r
            .keys
            .iter()
            .map(|k| (k.key.as_deref(), k.verdict))
            .collect();
        assert_eq!(
            verdicts,
            [(Some("a"), Verdict::Valid), (Some("b"), Verdict::Invalid)]
        );
        assert_eq!(r.problems().count(), 1);
    }

    #[test]
    fn unknown_operations_are_counted_not_checked() {
        let r = check_register(
            &history(&[
                (0, Invoke, "frob", NIL),
                (0, Ok, "frob", NIL),
                (1, Ok, "read", NIL),
            ]),
            Duration::from_secs(10),
        );
        assert_eq!((r.verdict, r.ignored), (Verdict::Valid, 2));
    }

    #[test]
    fn an_invalid_key_settles_the_history_early() {
        // Key "hard": concurrent writes and a read none of them explains,
        // which only an exhaustive search can rule out; key "bad": a stale read.
        let mut ops = Vec::new();
        let mut op = |p: u64, kind: OpType, f: &str, key: &str, v: Value| {
            let mut o = Op::invoke(p, f, Some(key.into()), v);
            o.kind = kind;
            o.time = ops.len() as u64;
            ops.push(o);
        };
        for p in 0..24 {
            op(p, Invoke, "write", "hard", json!(p));
        }
        op(99, Invoke, "read", "hard", NIL);
        op(99, Ok, "read", "hard", json!(-1));
        for p in 0..24 {
            op(p, Ok, "write", "hard", json!(p));
        }
        op(0, Invoke, "write", "bad", json!(1));
        op(0, Ok, "write", "bad", json!(1));
        op(1, Invoke, "read", "bad", NIL);
        op(1, Ok, "read", "bad", NIL);

        let r = check_register(&ops, Duration::from_secs(600));
        assert_eq!(r.verdict, Verdict::Invalid);
        let hard = &r.keys[1];
        assert_eq!(
            (hard.key.as_deref(), hard.verdict),
            (Some("hard"), Verdict::Unknown)
        );
        assert!(hard.explanation.as_ref().unwrap().contains("another key"));

        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["verdict"], "invalid");
        assert_eq!(json["keys"][0]["unlinearizable"][0]["f"], "read");
    }
}
