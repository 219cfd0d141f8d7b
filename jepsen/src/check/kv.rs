//! A key-value store of strings: `get`, `put` and `append`, each key checked
//! on its own. A missing key reads as the empty string.
//!
//! Events read as for registers: `ok get` observed its completion's value;
//! `ok put`/`ok append` took effect; a `fail` had no effect and is left out;
//! `info` (or no completion) of a put or append may take effect at any time
//! after its invocation, or never, and of a get is left out.

use std::time::Duration;

use serde_json::Value;

use super::linear::Model;
use super::{check_keyed, Convert, KeyedResult};
use crate::history::{Op, OpType};

#[derive(Debug, Clone, PartialEq)]
pub enum KvInput {
    Get,
    Put(String),
    Append(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum KvOutput {
    /// The value a get observed.
    Get(String),
    Done,
}

/// The sequential store, restricted to one key: the state is its value.
pub struct Kv;

impl Model for Kv {
    type State = String;
    type Input = KvInput;
    type Output = KvOutput;

    fn init(&self) -> String {
        String::new()
    }

    fn step(&self, state: &String, input: &KvInput, output: Option<&KvOutput>) -> Option<String> {
        match (input, output) {
            (KvInput::Get, Some(KvOutput::Get(seen))) => (seen == state).then(|| state.clone()),
            (KvInput::Get, _) => Some(state.clone()),
            (KvInput::Put(v), _) => Some(v.clone()),
            (KvInput::Append(v), _) => Some(format!("{state}{v}")),
        }
    }

    fn state_bytes(&self, state: &String) -> usize {
        std::mem::size_of::<String>() + state.capacity()
    }
}

/// A value as the store holds it: `null` is the empty (missing) value.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn convert(invoke: &Op, done: Option<&Op>) -> Convert<KvInput, KvOutput> {
    let kind = done.map_or(OpType::Info, |d| d.kind);
    let input = match invoke.f.as_str() {
        "get" => KvInput::Get,
        "put" => KvInput::Put(text(&invoke.value)),
        "append" => KvInput::Append(text(&invoke.value)),
        _ => return Convert::Ignore,
    };
    match (input, kind) {
        (_, OpType::Fail) | (KvInput::Get, OpType::Info | OpType::Invoke) => Convert::Drop,
        (KvInput::Get, _) => {
            let seen = done.map_or(String::new(), |d| text(&d.value));
            Convert::Op(KvInput::Get, Some(KvOutput::Get(seen)))
        }
        (input, OpType::Ok) => Convert::Op(input, Some(KvOutput::Done)),
        (input, _) => Convert::Op(input, None),
    }
}

/// Checks that each key's operations in `history` are linearizable.
/// Keys still undecided when `budget` runs out are `unknown`, and so are
/// those left once one key is found invalid (which settles the verdict).
pub fn check_kv(history: &[Op], budget: Duration) -> KeyedResult {
    check_keyed(&Kv, history, budget, convert)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Verdict;
    use serde_json::json;

    use OpType::{Fail, Info, Invoke, Ok};

    /// Events as (process, type, f, key, value), timed by their position.
    fn check(events: &[(u64, OpType, &str, &str, Value)]) -> Verdict {
        let ops: Vec<Op> = events
            .iter()
            .enumerate()
            .map(|(t, (p, kind, f, key, v))| {
                let mut op = Op::invoke(*p, f, Some(key.to_string()), v.clone());
                op.kind = *kind;
                op.time = t as u64;
                op
            })
            .collect();
        check_kv(&ops, Duration::from_secs(10)).verdict
    }

    #[test]
    fn missing_key_reads_empty_and_appends_concatenate() {
        let v = check(&[
            (0, Invoke, "get", "k", Value::Null),
            (0, Ok, "get", "k", json!("")),
            (0, Invoke, "append", "k", json!("a")),
            (0, Ok, "append", "k", json!("a")),
            (1, Invoke, "append", "k", json!("b")),
            (1, Ok, "append", "k", json!("b")),
            (1, Invoke, "get", "k", Value::Null),
            (1, Ok, "get", "k", json!("ab")),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn lost_append_is_invalid() {
        let v = check(&[
            (0, Invoke, "put", "k", json!("x")),
            (0, Ok, "put", "k", json!("x")),
            (0, Invoke, "append", "k", json!("y")),
            (0, Ok, "append", "k", json!("y")),
            (1, Invoke, "get", "k", Value::Null),
            (1, Ok, "get", "k", json!("x")),
        ]);
        assert_eq!(v, Verdict::Invalid);
    }

    #[test]
    fn concurrent_appends_in_either_order() {
        let v = check(&[
            (0, Invoke, "append", "k", json!("a")),
            (1, Invoke, "append", "k", json!("b")),
            (0, Ok, "append", "k", json!("a")),
            (1, Ok, "append", "k", json!("b")),
            (2, Invoke, "get", "k", Value::Null),
            (2, Ok, "get", "k", json!("ba")),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn indeterminate_and_failed_writes() {
        // The info append shows up later; the failed put never does.
        let v = check(&[
            (0, Invoke, "append", "k", json!("a")),
            (0, Info, "append", "k", json!("a")),
            (1, Invoke, "put", "k", json!("z")),
            (1, Fail, "put", "k", json!("z")),
            (1, Invoke, "get", "k", Value::Null),
            (1, Ok, "get", "k", json!("")),
            (1, Invoke, "get", "k", Value::Null),
            (1, Ok, "get", "k", json!("a")),
        ]);
        assert_eq!(v, Verdict::Valid);
    }

    #[test]
    fn keys_are_independent() {
        let v = check(&[
            (0, Invoke, "put", "a", json!("1")),
            (0, Ok, "put", "a", json!("1")),
            (1, Invoke, "get", "b", Value::Null),
            (1, Ok, "get", "b", Value::Null),
        ]);
        assert_eq!(v, Verdict::Valid);
    }
}
