//! The record of a run: every client operation as an invocation and its
//! completion, one JSON line each, in the order the harness saw them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What an event says about an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The client is about to send the operation.
    Invoke,
    /// It took effect, and `value` is what it observed.
    Ok,
    /// It did not take effect (for a compare-and-set without `error`: the
    /// comparison failed, which is itself an observation).
    Fail,
    /// Unknown: it may take effect at any time after its invocation.
    Info,
}

/// One event of the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Op {
    /// The logical client; one operation at a time per process.
    pub process: u64,
    #[serde(rename = "type")]
    pub kind: OpType,
    /// The operation, e.g. `read`, `write`, `cas`, `add`, `delete`.
    pub f: String,
    /// The key (register) or document id the operation is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default)]
    pub value: Value,
    /// Nanoseconds since the run started.
    pub time: u64,
    /// Why it failed or is unknown, when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which host served it (router or coordinator), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

impl Op {
    pub fn invoke(process: u64, f: &str, key: Option<String>, value: Value) -> Self {
        Op {
            process,
            kind: OpType::Invoke,
            f: f.to_string(),
            key,
            value,
            time: 0,
            error: None,
            node: None,
        }
    }

    /// The completion of `self` (an invocation) with `kind` and `value`.
    pub fn complete(&self, kind: OpType, value: Value) -> Self {
        Op {
            kind,
            value,
            time: 0,
            ..self.clone()
        }
    }

    pub fn with_error(mut self, error: impl Into<String>) -> Self {
        self.error = Some(error.into());
        self
    }

    pub fn on(mut self, node: impl Into<String>) -> Self {
        self.node = Some(node.into());
        self
    }
}

/// The shared, append-only history of a run; stamps each event with the time.
#[derive(Clone)]
pub struct Recorder {
    start: Instant,
    ops: Arc<Mutex<Vec<Op>>>,
}

impl Recorder {
    pub fn new(start: Instant) -> Self {
        Recorder {
            start,
            ops: Arc::new(Mutex::new(Vec::new())),
        }
    }

    pub fn now(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// Appends `op`, stamped with the current time, and returns the stamped copy.
    pub fn record(&self, mut op: Op) -> Op {
        let mut ops = self.ops.lock().expect("history lock");
        // Stamped under the lock, so times never go backwards in the file.
        op.time = self.now();
        ops.push(op.clone());
        op
    }

    pub fn snapshot(&self) -> Vec<Op> {
        self.ops.lock().expect("history lock").clone()
    }
}

/// Reads a history written as JSON lines.
pub fn parse_jsonl(text: &str) -> Result<Vec<Op>, serde_json::Error> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(serde_json::from_str)
        .collect()
}

/// Writes a history as JSON lines.
pub fn to_jsonl(ops: &[Op]) -> String {
    let mut out = String::new();
    for op in ops {
        out.push_str(&serde_json::to_string(op).expect("op serializes"));
        out.push('\n');
    }
    out
}

/// A fault window as the nemesis ran it, for the timeline and the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FaultEvent {
    /// Nanoseconds since the run started.
    pub time: u64,
    /// `start`, `stop`, or `undo-failed` (the stop could not undo everything).
    pub phase: String,
    /// The nemesis, e.g. `partition-halves`, `kill`, `pause`, `netem`, `membership`.
    pub nemesis: String,
    /// What it did, e.g. `[c1 c2] | [c3 r1 n1]` or `kill -9 c2`.
    pub detail: String,
}
