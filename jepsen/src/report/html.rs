//! `report.html`: one self-contained page (inline CSS, the plot inlined, no
//! scripts) that can be opened from the run folder or attached to a bug.

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use super::{escape, pair_ops, result_verdict, RunSummary};
use crate::history::{FaultEvent, Op, OpType};

/// Checker details longer than this are cut; `verdict.json` has them whole.
const MAX_DETAIL_CHARS: usize = 20_000;

const STYLE: &str = "
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;padding:0 1em;color:#222}
h1.verdict{font-size:3.5em;margin:.2em 0;letter-spacing:.05em}
.valid{color:#1e8e3e}.invalid{color:#c62828}.unknown{color:#e08600}
.unsafe{background:#c62828;color:#fff;padding:1em 1.2em;border:4px solid #7f0000;font-size:1.2em}
.unsafe code{background:#fff;color:#c62828;padding:0 .3em}
table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f6f6;padding:.6em;overflow:auto;max-height:30em;margin:0}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dt{font-weight:bold}dd{margin:0}
svg{max-width:100%;height:auto}
";

/// The CSS class for a verdict; anything unexpected reads as `unknown`.
fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "valid" => "valid",
        "invalid" => "invalid",
        _ => "unknown",
    }
}

/// Cuts `text` to `max` characters, saying so.
fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}\n… (truncated; see verdict.json)", &text[..at]),
        None => text.to_string(),
    }
}

/// Renders the page; `plot_svg` is inlined verbatim (it is our own output).
pub fn render(
    summary: &RunSummary,
    history: &[Op],
    faults: &[FaultEvent],
    plot_svg: &str,
) -> String {
    let mut out = String::new();
    page(&mut out, summary, history, faults, plot_svg).expect("writing to a String cannot fail");
    out
}

fn page(
    out: &mut String,
    s: &RunSummary,
    history: &[Op],
    faults: &[FaultEvent],
    plot_svg: &str,
) -> fmt::Result {
    let class = verdict_class(&s.verdict);
    let warn = if s.unsafe_switches.is_empty() {
        ""
    } else {
        "[UNSAFE] "
    };
    writeln!(
        out,
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{warn}Miroir Jepsen run {} — {}</title>
<style>{STYLE}</style></head><body>"#,
        s.seed,
        escape(&s.verdict)
    )?;
    if !s.unsafe_switches.is_empty() {
        write!(
            out,
            r#"<div class="unsafe"><strong>&#9888; UNSAFE TEST-ONLY SWITCHES WERE ON.</strong> This run says nothing about a production configuration:"#
        )?;
        for switch in &s.unsafe_switches {
            write!(out, " <code>{}</code>", escape(switch))?;
        }
        writeln!(out, "</div>")?;
    }

    writeln!(
        out,
        r#"<header><h1 class="verdict {class}">{}</h1><dl>"#,
        escape(&s.verdict.to_uppercase())
    )?;
    let duration = format!("{:.1} s", s.duration_ms as f64 / 1000.0);
    let rows = [
        ("seed", s.seed.to_string()),
        ("started", s.started_at.clone()),
        ("duration", duration),
        ("workloads", s.workloads.join(", ")),
        ("nemeses (one lane each)", s.nemeses.join(" | ")),
    ];
    for (name, value) in rows {
        writeln!(out, "<dt>{name}</dt><dd>{}</dd>", escape(&value))?;
    }
    writeln!(
        out,
        "</dl><p>Reproduce with:</p><pre>{}</pre></header>",
        escape(&s.command)
    )?;

    writeln!(out, "<h2>Workloads</h2>")?;
    if s.results.is_empty() {
        writeln!(out, "<p>No checker results.</p>")?;
    } else {
        writeln!(
            out,
            "<table><tr><th>workload</th><th>verdict</th><th>details</th></tr>"
        )?;
        for (name, result) in &s.results {
            let verdict = result_verdict(result);
            let details = serde_json::to_string_pretty(result).unwrap_or_default();
            writeln!(
                out,
                r#"<tr><td>{}</td><td class="{}"><strong>{}</strong></td><td><pre>{}</pre></td></tr>"#,
                escape(name),
                verdict_class(verdict),
                escape(verdict),
                escape(&truncate(&details, MAX_DETAIL_CHARS))
            )?;
        }
        writeln!(out, "</table>")?;
    }

    writeln!(out, "<h2>Latency</h2>\n{plot_svg}")?;
    op_counts(out, history)?;
    timeline(out, faults)?;

    writeln!(
        out,
        r#"<h2>Files</h2><ul><li><a href="history.jsonl">history.jsonl</a> — every invocation and completion</li>
<li><a href="nemesis.jsonl">nemesis.jsonl</a> — every fault start and stop</li>
<li><a href="verdict.json">verdict.json</a> — this summary, whole</li>
<li><a href="latency.svg">latency.svg</a> — the plot above</li></ul>
</body></html>"#
    )
}

/// Operations by `f` and completion type. Completions are counted as logged;
/// "no reply" counts invocations that never got one.
fn op_counts(out: &mut String, history: &[Op]) -> fmt::Result {
    // Columns: invoked, ok, fail, info, no reply.
    let mut counts: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for op in history {
        let col = match op.kind {
            OpType::Invoke => 0,
            OpType::Ok => 1,
            OpType::Fail => 2,
            OpType::Info => 3,
        };
        counts.entry(op.f.as_str()).or_default()[col] += 1;
    }
    let spans = pair_ops(history);
    for span in spans.iter().filter(|s| s.completion.is_none()) {
        counts.entry(span.f.as_str()).or_default()[4] += 1;
    }
    writeln!(out, "<h2>Operations</h2>")?;
    if counts.is_empty() {
        return writeln!(out, "<p>No operations were recorded.</p>");
    }
    writeln!(
        out,
        "<table><tr><th>f</th><th>invoked</th><th>ok</th><th>fail</th><th>info</th><th>no reply</th></tr>"
    )?;
    let mut total = [0usize; 5];
    for (f, row) in &counts {
        write!(out, "<tr><td>{}</td>", escape(f))?;
        for (i, n) in row.iter().enumerate() {
            total[i] += n;
            write!(out, r#"<td class="n">{n}</td>"#)?;
        }
        writeln!(out, "</tr>")?;
    }
    write!(out, "<tr><th>total</th>")?;
    for n in total {
        write!(out, r#"<th class="n">{n}</th>"#)?;
    }
    writeln!(out, "</tr></table>")
}

/// Every fault event in time order, as the nemesis logged it.
fn timeline(out: &mut String, faults: &[FaultEvent]) -> fmt::Result {
    writeln!(out, "<h2>Nemesis timeline</h2>")?;
    if faults.is_empty() {
        return writeln!(out, "<p>No faults were injected.</p>");
    }
    let mut events: Vec<&FaultEvent> = faults.iter().collect();
    events.sort_by_key(|e| e.time);
    writeln!(
        out,
        "<table><tr><th>time (s)</th><th>phase</th><th>nemesis</th><th>detail</th></tr>"
    )?;
    for e in events {
        writeln!(
            out,
            r#"<tr><td class="n">{:.3}</td><td>{}</td><td>{}</td><td>{}</td></tr>"#,
            e.time as f64 / 1e9,
            escape(&e.phase),
            escape(&e.nemesis),
            escape(&e.detail)
        )?;
    }
    writeln!(out, "</table>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{fault, op, summary};

    fn history() -> Vec<Op> {
        vec![
            op(1, OpType::Invoke, "read", 0),
            op(1, OpType::Ok, "read", 1_000_000),
            op(2, OpType::Invoke, "write", 0),
            op(2, OpType::Info, "write", 5_000_000),
            op(3, OpType::Invoke, "write", 0),
        ]
    }

    #[test]
    fn page_has_verdict_workloads_counts_timeline_and_links() {
        let faults = [fault(1_500_000_000, "start", "partition", "[c1] | <c2>")];
        let page = render(&summary(vec![]), &history(), &faults, "<svg></svg>");
        assert!(page.starts_with("<!DOCTYPE html>"));
        assert!(page.contains(r#"<h1 class="verdict invalid">INVALID</h1>"#));
        assert!(page.contains("miroir-jepsen run --seed 42 --workload register"));
        assert!(page.contains("stale read &lt;k1&gt;"));
        assert!(page.contains(r#"<td class="n">1.500</td><td>start</td>"#));
        assert!(page.contains("[c1] | &lt;c2&gt;"));
        // write: 2 invoked, 1 info, 1 without reply.
        assert!(page.contains(
            r#"<td>write</td><td class="n">2</td><td class="n">0</td><td class="n">0</td><td class="n">1</td><td class="n">1</td>"#
        ));
        for file in ["history.jsonl", "nemesis.jsonl", "verdict.json"] {
            assert!(page.contains(&format!(r#"href="{file}""#)));
        }
        assert!(page.contains("<svg></svg>"));
        assert!(!page.contains("class=\"unsafe\""));
    }

    #[test]
    fn unsafe_switches_are_flagged_and_escaped() {
        let s = summary(vec!["skip-fsync<raft>".into()]);
        let page = render(&s, &[], &[], "");
        assert!(page.contains(r#"<div class="unsafe">"#));
        assert!(page.contains("<code>skip-fsync&lt;raft&gt;</code>"));
        assert!(page.contains("<title>[UNSAFE] "));
        assert!(page.contains("No operations were recorded."));
        assert!(page.contains("No faults were injected."));
    }

    #[test]
    fn odd_verdicts_and_long_details() {
        assert_eq!(verdict_class("valid"), "valid");
        assert_eq!(verdict_class("\"><script>"), "unknown");
        assert_eq!(
            truncate("abcdef", 3),
            "abc\n… (truncated; see verdict.json)"
        );
        assert_eq!(truncate("abc", 3), "abc");
    }
}
