//! The CLI's commands; each returns the process exit code.

use std::time::Duration;

use crate::check::{self, KeyedResult, Verdict};
use crate::cli::{CheckArgs, RunArgs};
use crate::history;
use crate::net::Net;
use crate::run::{self, verdict_name, Plan};

/// Exit codes, as documented in `--help` and docs/jepsen.md.
pub const VALID: i32 = 0;
pub const INVALID: i32 = 1;
pub const UNKNOWN: i32 = 2;
pub const HARNESS_FAILED: i32 = 3;
pub const INTERRUPTED: i32 = 130;

fn code(v: Verdict) -> i32 {
    match v {
        Verdict::Valid => VALID,
        Verdict::Invalid => INVALID,
        Verdict::Unknown => UNKNOWN,
    }
}

pub fn run(args: RunArgs) -> i32 {
    let (json, expect_invalid) = (args.json, args.expect_invalid);
    let plan = match Plan::from_args(args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e:#}");
            return HARNESS_FAILED;
        }
    };
    if let Err(e) = crate::net::require_root() {
        eprintln!("error: {e:#}");
        return HARNESS_FAILED;
    }
    let _lock = match crate::lock::RunLock::acquire() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e:#}");
            return HARNESS_FAILED;
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let outcome = rt.block_on(async {
        tokio::select! {
            r = run::run(&plan) => Some(r),
            _ = stop_signal() => None,
        }
    });
    // Everything the run started is gone by now (dropped with its future),
    // and a second sweep catches anything a failure left half made.
    Net::remove_leftovers();
    let outcome = match outcome {
        None => {
            eprintln!("interrupted: hosts and processes removed");
            return INTERRUPTED;
        }
        Some(Err(e)) => {
            eprintln!("error: the run could not complete: {e:#}");
            return HARNESS_FAILED;
        }
        Some(Ok(o)) => o,
    };
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&outcome.summary).expect("summary serializes")
        );
    } else {
        println!("seed {}", plan.seed);
        for (w, r) in &outcome.summary.results {
            println!("{w:>12}: {}", r["verdict"].as_str().unwrap_or("?"));
        }
        println!("verdict: {}", verdict_name(outcome.verdict));
        println!("report: {}", outcome.dir.join("report.html").display());
    }
    if expect_invalid {
        // The suite's own test: each unsafe switch must be caught by the
        // workload that checks the mechanism it removes, not by anything else.
        let verdict_of = |w: &str| {
            outcome
                .summary
                .results
                .get(w)
                .map(crate::report::result_verdict)
        };
        if plan.switches.is_empty() {
            eprintln!("--expect-invalid needs an --unsafe switch");
            return HARNESS_FAILED;
        }
        let (mut missed, mut undecided) = (false, false);
        for s in &plan.switches {
            let w = s.caught_by().name();
            match verdict_of(w) {
                Some("invalid") => println!("the {s} switch was caught by {w}"),
                Some("unknown") => undecided = true,
                other => {
                    eprintln!(
                        "the {s} switch was not caught: {w} is {}",
                        other.unwrap_or("not run")
                    );
                    missed = true;
                }
            }
        }
        return if missed {
            INVALID
        } else if undecided {
            UNKNOWN
        } else {
            VALID
        };
    }
    code(outcome.verdict)
}

/// Ctrl-C, SIGTERM or SIGHUP: each ends the run the same way, with every
/// host and process removed.
async fn stop_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    let mut hup = signal(SignalKind::hangup()).expect("SIGHUP handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
        _ = hup.recv() => {}
    }
}

pub fn check(args: CheckArgs) -> i32 {
    let text = match std::fs::read_to_string(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("error: cannot read {}: {e}", args.file.display());
            return HARNESS_FAILED;
        }
    };
    let ops = match read_history(&text) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!(
                "error: {} is not a history this tool reads: {e}",
                args.file.display()
            );
            return HARNESS_FAILED;
        }
    };
    let budget = Duration::from_secs(args.budget_s);
    let result: KeyedResult = match args.model.as_str() {
        "register" => check::register::check_register(&ops, budget),
        "kv" => check::kv::check_kv(&ops, budget),
        m => {
            eprintln!("error: unknown model `{m}`: use register or kv");
            return HARNESS_FAILED;
        }
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&result).expect("result serializes")
        );
    } else {
        for k in result.problems() {
            println!(
                "key {}: {}",
                k.key.as_deref().unwrap_or("-"),
                verdict_name(k.verdict)
            );
            if let Some(e) = &k.explanation {
                println!("{e}");
            }
        }
        println!(
            "{}: {} keys, {} events ignored",
            verdict_name(result.verdict),
            result.keys.len(),
            result.ignored
        );
    }
    code(result.verdict)
}

/// Reads any of the three formats, told apart by their first line.
fn read_history(text: &str) -> Result<Vec<history::Op>, String> {
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    if first.starts_with("{:") {
        check::parse::edn(text).map_err(|e| e.to_string())
    } else if first.contains("jepsen.util") {
        check::parse::etcd_log(text).map_err(|e| e.to_string())
    } else {
        history::parse_jsonl(text).map_err(|e| e.to_string())
    }
}

pub fn cleanup() -> i32 {
    let _lock = match crate::lock::RunLock::acquire() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("error: {e:#}");
            return HARNESS_FAILED;
        }
    };
    Net::remove_leftovers();
    println!("removed any mj-* namespaces, links and their processes");
    VALID
}
