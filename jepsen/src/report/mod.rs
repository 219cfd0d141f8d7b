//! The run folder and its HTML report.
//!
//! A run folder holds everything needed to judge and reproduce a run without
//! the harness: the seed, the raw history and fault log as JSON lines, the
//! verdicts, and a self-contained `report.html` with its latency plot.

pub mod html;
pub mod svg;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fs;
use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::history::{self, FaultEvent, Op, OpType};

/// What a run was and what the checkers made of it; written as `verdict.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSummary {
    pub seed: u64,
    /// The command line that reproduces the run.
    pub command: String,
    pub workloads: Vec<String>,
    pub nemeses: Vec<String>,
    /// When the run started, as given by the caller (RFC 3339).
    pub started_at: String,
    pub duration_ms: u64,
    /// Overall: `valid`, `invalid` or `unknown`.
    pub verdict: String,
    /// Per workload: an object with at least a `verdict` string, plus whatever
    /// the checker wants to show.
    pub results: BTreeMap<String, Value>,
    /// Test-only switches that were on; a run with any of these proves nothing
    /// about a production configuration, so the report flags them loudly.
    pub unsafe_switches: Vec<String>,
}

/// Creates `dir` and writes the run folder: `seed`, `history.jsonl`,
/// `nemesis.jsonl`, `verdict.json`, `report.html` and `latency.svg`.
pub fn write_run(
    dir: &Path,
    summary: &RunSummary,
    history: &[Op],
    faults: &[FaultEvent],
) -> io::Result<()> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join("seed"), format!("{}\n", summary.seed))?;
    fs::write(dir.join("history.jsonl"), history::to_jsonl(history))?;
    let mut log = String::new();
    for event in faults {
        log.push_str(&serde_json::to_string(event)?);
        log.push('\n');
    }
    fs::write(dir.join("nemesis.jsonl"), log)?;
    let mut verdict = serde_json::to_string_pretty(summary)?;
    verdict.push('\n');
    fs::write(dir.join("verdict.json"), verdict)?;
    // Rendered once so the standalone file and the inlined copy cannot differ.
    let plot = svg::latency_svg(
        history,
        faults,
        summary.duration_ms.saturating_mul(1_000_000),
    );
    fs::write(dir.join("latency.svg"), &plot)?;
    fs::write(
        dir.join("report.html"),
        html::render(summary, history, faults, &plot),
    )?;
    Ok(())
}

/// Escapes text for HTML and XML (SVG), in content and in quoted attributes.
/// Control characters XML 1.0 forbids outright become U+FFFD, so an odd byte
/// in an error message cannot make the standalone SVG unparseable.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// One invocation and, if it got one, its completion.
#[derive(Debug, Clone, PartialEq)]
pub struct OpSpan {
    pub process: u64,
    pub f: String,
    /// Invocation time, ns since the run started.
    pub invoked: u64,
    /// How and when it completed; `None` when no reply ever came.
    pub completion: Option<(OpType, u64)>,
}

impl OpSpan {
    pub fn latency_ns(&self) -> Option<u64> {
        self.completion
            .map(|(_, done)| done.saturating_sub(self.invoked))
    }
}

/// Each invocation with its completion, as [`crate::check::pair_ops`] pairs
/// them (completions with no open invocation have nothing to measure).
pub fn pair_ops(history: &[Op]) -> Vec<OpSpan> {
    crate::check::pair_ops(history)
        .0
        .into_iter()
        .map(|(invoke, done)| OpSpan {
            process: invoke.process,
            f: invoke.f.clone(),
            invoked: invoke.time,
            completion: done.map(|d| (d.kind, d.time)),
        })
        .collect()
}

/// A fault as a time window, ns since the run started.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultWindow {
    pub nemesis: String,
    pub detail: String,
    pub start: u64,
    /// `None` when it was never stopped: it lasted to the end of the run.
    pub stop: Option<u64>,
}

/// Pairs each `start` with the next `stop` of the same nemesis and detail
/// (oldest open window first, so repeated identical faults pair in order).
/// A stop with no open start is dropped. Events are taken in time order.
pub fn fault_windows(faults: &[FaultEvent]) -> Vec<FaultWindow> {
    let mut events: Vec<&FaultEvent> = faults.iter().collect();
    events.sort_by_key(|e| e.time); // stable: ties keep their logged order
    let mut windows: Vec<FaultWindow> = Vec::new();
    let mut open: HashMap<(&str, &str), VecDeque<usize>> = HashMap::new();
    for e in events {
        let key = (e.nemesis.as_str(), e.detail.as_str());
        match e.phase.as_str() {
            "start" => {
                windows.push(FaultWindow {
                    nemesis: e.nemesis.clone(),
                    detail: e.detail.clone(),
                    start: e.time,
                    stop: None,
                });
                open.entry(key).or_default().push_back(windows.len() - 1);
            }
            "stop" => {
                if let Some(i) = open.get_mut(&key).and_then(VecDeque::pop_front) {
                    windows[i].stop = Some(e.time);
                }
            }
            _ => {}
        }
    }
    windows
}

/// The verdict string of one workload's result, `unknown` when it has none.
pub fn result_verdict(result: &Value) -> &str {
    result
        .get("verdict")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    pub(crate) fn op(process: u64, kind: OpType, f: &str, time: u64) -> Op {
        let mut op = Op::invoke(process, f, None, Value::Null);
        op.kind = kind;
        op.time = time;
        op
    }

    pub(crate) fn fault(time: u64, phase: &str, nemesis: &str, detail: &str) -> FaultEvent {
        FaultEvent {
            time,
            phase: phase.into(),
            nemesis: nemesis.into(),
            detail: detail.into(),
        }
    }

    pub(crate) fn summary(unsafe_switches: Vec<String>) -> RunSummary {
        RunSummary {
            seed: 42,
            command: "miroir-jepsen run --seed 42 --workload register".into(),
            workloads: vec!["register".into()],
            nemeses: vec!["partition-majority".into()],
            started_at: "2025-01-01T00:00:00Z".into(),
            duration_ms: 3_000,
            verdict: "invalid".into(),
            results: BTreeMap::from([(
                "register".to_string(),
                json!({"verdict": "invalid", "anomalies": ["stale read <k1>"]}),
            )]),
            unsafe_switches,
        }
    }

    #[test]
    fn pairs_invocations_with_the_next_completion_of_the_same_process() {
        let ms = 1_000_000;
        let history = [
            op(1, OpType::Invoke, "read", 0),
            op(2, OpType::Invoke, "write", ms),
            op(2, OpType::Ok, "write", 3 * ms),
            op(1, OpType::Fail, "read", 5 * ms),
            op(1, OpType::Invoke, "cas", 6 * ms),
            op(1, OpType::Info, "cas", 16 * ms),
            op(3, OpType::Ok, "read", 17 * ms), // orphan completion: dropped
        ];
        let spans = pair_ops(&history);
        let got: Vec<_> = spans
            .iter()
            .map(|s| {
                (
                    s.process,
                    s.f.as_str(),
                    s.completion.map(|c| c.0),
                    s.latency_ns(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (1, "read", Some(OpType::Fail), Some(5 * ms)),
                (2, "write", Some(OpType::Ok), Some(2 * ms)),
                (1, "cas", Some(OpType::Info), Some(10 * ms)),
            ]
        );
    }

    #[test]
    fn an_invocation_without_completion_has_no_reply() {
        let history = [
            op(1, OpType::Invoke, "read", 0),
            op(1, OpType::Invoke, "write", 10), // invoked again: first got none
            op(1, OpType::Ok, "write", 20),
            op(2, OpType::Invoke, "read", 30),
        ];
        let spans = pair_ops(&history);
        assert_eq!(spans.len(), 3);
        assert_eq!(spans[0].completion, None);
        assert_eq!(spans[1].completion, Some((OpType::Ok, 20)));
        assert_eq!(spans[2].latency_ns(), None);
    }

    #[test]
    fn pairs_fault_windows_by_nemesis_and_detail() {
        let faults = [
            fault(10, "start", "kill", "kill -9 c1"),
            fault(20, "start", "partition", "[c1] | [c2 c3]"),
            fault(25, "start", "kill", "kill -9 c2"),
            fault(30, "stop", "kill", "kill -9 c2"),
            fault(40, "stop", "kill", "kill -9 c1"),
            fault(45, "stop", "pause", "c3"), // never started: dropped
            fault(50, "start", "kill", "kill -9 c1"),
            fault(60, "stop", "kill", "kill -9 c1"),
        ];
        let w: Vec<_> = fault_windows(&faults)
            .into_iter()
            .map(|w| (w.nemesis, w.start, w.stop))
            .collect();
        assert_eq!(
            w,
            [
                ("kill".to_string(), 10, Some(40)),
                ("partition".to_string(), 20, None), // lasts to the end
                ("kill".to_string(), 25, Some(30)),
                ("kill".to_string(), 50, Some(60)),
            ]
        );
    }

    #[test]
    fn escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            escape(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(escape("a\u{0}b\nc"), "a\u{FFFD}b\nc");
        assert_eq!(escape("plain é"), "plain é");
    }

    #[test]
    fn write_run_creates_every_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("runs").join("42");
        let history = [
            op(1, OpType::Invoke, "read", 0),
            op(1, OpType::Ok, "read", 2_000_000),
        ];
        let faults = [fault(1_000, "start", "partition", "[c1] | [c2]")];
        let s = summary(vec![]);
        write_run(&dir, &s, &history, &faults).unwrap();

        let read = |name: &str| fs::read_to_string(dir.join(name)).unwrap();
        assert_eq!(read("seed"), "42\n");
        assert_eq!(
            history::parse_jsonl(&read("history.jsonl")).unwrap(),
            history
        );
        let logged: FaultEvent = serde_json::from_str(read("nemesis.jsonl").trim()).unwrap();
        assert_eq!(logged, faults[0]);
        let back: RunSummary = serde_json::from_str(&read("verdict.json")).unwrap();
        assert_eq!(back, s);
        let plot = read("latency.svg");
        assert!(plot.starts_with("<svg"));
        assert!(read("report.html").contains(&plot));
    }
}
