//! Checkers: each judges one property of a history.
//!
//! - [`linear`]: a generic linearizability search over a sequential [`linear::Model`];
//! - [`register`]: read/write/compare-and-set registers, one per key;
//! - [`kv`]: a key-value store of strings with get/put/append, one key at a time;
//! - [`parse`]: readers for the Jepsen formats of the shared test histories;
//! - [`documents`]: lost, stale, resurrected, divergent, duplicated or unwritten documents;
//! - [`shard_map`]: the epochs routers wrote under.

pub mod documents;
pub mod kv;
pub mod linear;
pub mod parse;
pub mod register;
pub mod shard_map;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{Op, OpType};
use linear::{Budget, Entry, Failure, Limit, Model, Outcome};

/// What a checker concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Valid,
    Invalid,
    /// The checker gave up (budget exhausted) or could not decide.
    Unknown,
}

impl Verdict {
    /// The verdict of two parts together: any invalid part makes the whole
    /// invalid; otherwise any undecided part leaves it undecided.
    pub fn combine(self, other: Verdict) -> Verdict {
        use Verdict::*;
        match (self, other) {
            (Invalid, _) | (_, Invalid) => Invalid,
            (Unknown, _) | (_, Unknown) => Unknown,
            _ => Valid,
        }
    }

    /// [`Verdict::combine`] over many parts; `Valid` when there are none.
    pub fn combine_all(verdicts: impl IntoIterator<Item = Verdict>) -> Verdict {
        verdicts.into_iter().fold(Verdict::Valid, Verdict::combine)
    }
}

/// One operation as shown in an explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpSummary {
    pub process: u64,
    pub f: String,
    /// The invocation's value (the argument).
    pub value: Value,
    /// How it completed: `ok`, `fail`, or `info` (also for no completion).
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The completion's value, when it has one and it differs from `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    pub invoked: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed: Option<u64>,
}

impl OpSummary {
    fn new(invoke: &Op, done: Option<&Op>) -> Self {
        OpSummary {
            process: invoke.process,
            f: invoke.f.clone(),
            value: invoke.value.clone(),
            kind: done.map_or(OpType::Info, |d| d.kind),
            result: done
                .map(|d| d.value.clone())
                .filter(|v| !v.is_null() && *v != invoke.value),
            invoked: invoke.time,
            completed: done.filter(|d| d.kind != OpType::Info).map(|d| d.time),
        }
    }
}

impl fmt::Display for OpSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        };
        write!(f, "process {} {}", self.process, self.f)?;
        if !self.value.is_null() {
            write!(f, " {}", self.value)?;
        }
        if let Some(r) = &self.result {
            write!(f, " -> {r}")?;
        }
        write!(f, " {kind} (invoked {}", self.invoked)?;
        match self.completed {
            Some(t) => write!(f, ", completed {t})"),
            None => write!(f, ", never completed)"),
        }
    }
}

/// The verdict on one key's operations.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyResult {
    /// `None` for operations without a key (a single object).
    pub key: Option<String>,
    pub verdict: Verdict,
    /// How many operations were checked for this key.
    pub ops: usize,
    /// When invalid: how far the search got and what could not follow;
    /// when unknown: why the search gave up.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explanation: Option<String>,
    /// When invalid: the operations pending where the search got furthest,
    /// none of which could be linearized next.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unlinearizable: Vec<OpSummary>,
}

/// The verdict on a whole history, checked key by key.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KeyedResult {
    pub verdict: Verdict,
    pub keys: Vec<KeyResult>,
    /// Events the checker left out because it did not understand them: an
    /// unknown `f`, a malformed value, a completion with no invocation.
    pub ignored: usize,
}

impl KeyedResult {
    /// The keys that are not valid, worst first.
    pub fn problems(&self) -> impl Iterator<Item = &KeyResult> {
        let invalid = self.keys.iter().filter(|k| k.verdict == Verdict::Invalid);
        let unknown = self.keys.iter().filter(|k| k.verdict == Verdict::Unknown);
        invalid.chain(unknown)
    }
}

/// How a model reads one invocation and its completion.
pub(crate) enum Convert<I, O> {
    /// Checked: the input and, unless the outcome is unknown, the output.
    Op(I, Option<O>),
    /// Known to have had no effect and observed nothing: left out.
    Drop,
    /// Not understood: left out and counted in [`KeyedResult::ignored`].
    Ignore,
}

/// Pairs each invocation with the next completion of the same process, in
/// invocation order. Returns the pairs and how many completions had no
/// invocation.
pub fn pair_ops(history: &[Op]) -> (Vec<(&Op, Option<&Op>)>, usize) {
    let mut pairs: Vec<(&Op, Option<&Op>)> = Vec::new();
    let mut open: HashMap<u64, usize> = HashMap::new();
    let mut orphans = 0;
    for op in history {
        if op.kind == OpType::Invoke {
            // A process invoking again without completing leaves the first
            // operation open: indeterminate.
            open.insert(op.process, pairs.len());
            pairs.push((op, None));
        } else if let Some(i) = open.remove(&op.process) {
            pairs[i].1 = Some(op);
        } else {
            orphans += 1;
        }
    }
    (pairs, orphans)
}

/// Checks `model` on each key of `history` on its own, all keys sharing one
/// time budget (see [`search_rounds`] for how it is shared).
pub(crate) fn check_keyed<M: Model>(
    model: &M,
    history: &[Op],
    budget: Duration,
    convert: impl Fn(&Op, Option<&Op>) -> Convert<M::Input, M::Output>,
) -> KeyedResult {
    let deadline = Instant::now() + budget;
    let (pairs, mut ignored) = pair_ops(history);
    type PerKey<'a, I, O> = (Vec<Entry<I, O>>, Vec<(&'a Op, Option<&'a Op>)>);
    let mut keys: BTreeMap<Option<String>, PerKey<M::Input, M::Output>> = BTreeMap::new();
    for (invoke, done) in pairs {
        let (input, output) = match convert(invoke, done) {
            Convert::Op(input, output) => (input, output),
            Convert::Drop => continue,
            Convert::Ignore => {
                ignored += 1;
                continue;
            }
        };
        let entry = Entry {
            call: invoke.time,
            // An unknown outcome has no return: it may take effect any time.
            ret: output.as_ref().and(done).map(|d| d.time),
            input,
            output,
        };
        let (entries, ops) = keys.entry(invoke.key.clone()).or_default();
        entries.push(entry);
        ops.push((invoke, done));
    }

    let keys: Vec<_> = keys.into_iter().collect();
    let entries: Vec<_> = keys.iter().map(|(_, (e, _))| e.as_slice()).collect();
    let outcomes = search_rounds(model, &entries, deadline);
    let keys: Vec<KeyResult> = keys
        .iter()
        .zip(outcomes)
        .map(|((key, (entries, ops)), (outcome, steps))| {
            let mut result = KeyResult {
                key: key.clone(),
                verdict: Verdict::Valid,
                ops: entries.len(),
                explanation: None,
                unlinearizable: Vec::new(),
            };
            match outcome {
                Outcome::Linearizable => {}
                Outcome::Unknown(limit) => {
                    result.verdict = Verdict::Unknown;
                    result.explanation = Some(match limit {
                        Limit::Time => "gave up: the time budget ran out".into(),
                        Limit::Memory => "gave up: the search reached its memory bound".into(),
                        Limit::Steps => format!(
                            "undecided after {steps} search steps, and not searched further: \
                             another key is not linearizable"
                        ),
                    });
                }
                Outcome::NotLinearizable(failure) => {
                    result.verdict = Verdict::Invalid;
                    let summary = |i: usize| OpSummary::new(ops[i].0, ops[i].1);
                    result.explanation = Some(explain(&failure, entries.len(), summary));
                    result.unlinearizable = failure.pending.iter().map(|&i| summary(i)).collect();
                }
            }
            result
        })
        .collect();
    KeyedResult {
        verdict: Verdict::combine_all(keys.iter().map(|k| k.verdict)),
        keys,
        ignored,
    }
}

/// The first round's step limit per key; each further round allows 8 times more.
const FIRST_ROUND_STEPS: u64 = 100_000;

/// Searches every key, in rounds of growing step limits: a key left undecided
/// is searched again from scratch with a larger limit (which wastes at most a
/// seventh of the work but keeps one search's memory at a time), so that cheap
/// keys are decided before an expensive one can eat the budget. Once a key is
/// not linearizable neither is the history, and no further round runs.
/// Returns each key's outcome and the step limit of its last search.
fn search_rounds<M: Model>(
    model: &M,
    keys: &[&[Entry<M::Input, M::Output>]],
    deadline: Instant,
) -> Vec<(Outcome<M::State>, u64)> {
    let mut outcomes: Vec<(Outcome<M::State>, u64)> = (0..keys.len())
        .map(|_| (Outcome::Unknown(Limit::Steps), 0))
        .collect();
    let mut steps = FIRST_ROUND_STEPS;
    loop {
        for (entries, outcome) in keys.iter().zip(&mut outcomes) {
            if matches!(outcome.0, Outcome::Unknown(Limit::Steps)) {
                let budget = Budget {
                    deadline: Some(deadline),
                    max_steps: Some(steps),
                    ..Budget::default()
                };
                *outcome = (linear::check(model, entries, budget), steps);
            }
        }
        let undecided = outcomes
            .iter()
            .any(|o| matches!(o.0, Outcome::Unknown(Limit::Steps)));
        let invalid = outcomes
            .iter()
            .any(|o| matches!(o.0, Outcome::NotLinearizable(_)));
        if !undecided || invalid {
            return outcomes;
        }
        if Instant::now() >= deadline {
            for o in &mut outcomes {
                if matches!(o.0, Outcome::Unknown(Limit::Steps)) {
                    o.0 = Outcome::Unknown(Limit::Time);
                }
            }
            return outcomes;
        }
        steps = steps.saturating_mul(8);
    }
}

/// A few lines saying where every attempt at a linearization broke down.
fn explain<S: fmt::Debug>(
    failure: &Failure<S>,
    total: usize,
    summary: impl Fn(usize) -> OpSummary,
) -> String {
    const SHOWN: usize = 8;
    let mut text = format!(
        "at most {} of {} operations linearize; then the state is {:?}",
        failure.prefix.len(),
        total,
        failure.state
    );
    if let Some(&last) = failure.prefix.last() {
        text += &format!(", after {}", summary(last));
    }
    text += &format!(
        ". {} must take effect before it completes, but no order of the pending operations allows it:",
        summary(failure.stuck)
    );
    for &i in failure.pending.iter().take(SHOWN) {
        text += &format!("\n  {}", summary(i));
    }
    if failure.pending.len() > SHOWN {
        text += &format!("\n  ... and {} more", failure.pending.len() - SHOWN);
    }
    text
}
