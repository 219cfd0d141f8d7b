//! The latency plot: one mark per operation at its invocation time, latency on
//! a log scale, fault windows shaded behind. Plain SVG without scripts, so it
//! opens in any viewer and can be inlined in the report as is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write};

use super::{escape, fault_windows, pair_ops};
use crate::history::{FaultEvent, Op, OpType};

const WIDTH: f64 = 960.0;
/// Room for the y tick labels and the axis title.
const LEFT: f64 = 70.0;
/// The legend column.
const LEGEND_W: f64 = 190.0;
const TOP: f64 = 40.0;
const PLOT_H: f64 = 400.0;
const BOTTOM: f64 = 50.0;
/// Strip above the log axis where invocations that never completed sit.
const NO_REPLY_BAND: f64 = 24.0;
const ROW: f64 = 16.0;

/// Completion colours, indexed like `outcome`: ok, fail, info, no reply.
const OUTCOMES: [(&str, &str); 4] = [
    ("ok", "#2e9d44"),
    ("fail", "#d9534f"),
    ("info", "#f0a020"),
    ("no reply", "#555555"),
];
/// Fault shades, one per nemesis name (cycled when there are more).
const SHADES: [&str; 6] = [
    "#4a7fd4", "#9b59b6", "#e67e22", "#16a085", "#c0392b", "#7f8c8d",
];

fn outcome(completion: Option<OpType>) -> usize {
    match completion {
        Some(OpType::Ok) => 0,
        Some(OpType::Fail) => 1,
        Some(OpType::Info) => 2,
        _ => 3,
    }
}

/// Coordinates to one decimal, without a trailing `.0`: tens of thousands of
/// marks stay a few hundred kilobytes.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// A mark shape: a line cap (or `fill`), a stroke width, and its path from
/// the centre. One shape per `f` (cycled); every mark of a group goes in a
/// single `<path>`, far smaller than an element per operation.
#[derive(Clone, Copy)]
struct Shape(&'static str, f64, &'static str);

const SHAPES: [Shape; 5] = [
    // A zero-length subpath with round caps draws a dot.
    Shape("round", 4.0, "h0"),
    Shape("fill", 0.0, "m-1.8-1.8h3.6v3.6h-3.6z"),
    Shape("fill", 0.0, "m0-3l3 5h-6z"),
    Shape("fill", 0.0, "m0-3l3 3-3 3-3-3z"),
    Shape("butt", 1.2, "m-2.5-2.5l5 5m0-5l-5 5"),
];

impl Shape {
    fn style(self, color: &str) -> String {
        match self {
            Shape("fill", ..) => format!(r#"fill="{color}""#),
            Shape(cap, width, _) => format!(
                r#"fill="none" stroke="{color}" stroke-width="{width}" stroke-linecap="{cap}""#
            ),
        }
    }

    /// Path data for one mark centred on (x, y).
    fn mark(self, out: &mut String, x: f64, y: f64) -> fmt::Result {
        write!(out, "M{} {}{}", num(x), num(y), self.2)
    }
}

fn shape(i: usize) -> Shape {
    SHAPES[i % SHAPES.len()]
}

fn shade(i: usize) -> &'static str {
    SHADES[i % SHADES.len()]
}

/// Numbers distinct names in sorted order, so assignments are stable.
fn index_by_name<'a>(names: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let names: BTreeSet<&str> = names.collect();
    names.into_iter().enumerate().map(|(i, n)| (n, i)).collect()
}

/// The legend column: completion colours, operation shapes, fault shades.
fn legend(
    out: &mut String,
    x: f64,
    f_index: &BTreeMap<&str, usize>,
    nemeses: &BTreeMap<&str, usize>,
) -> fmt::Result {
    // (shape, colour, label); no shape means a fault shade swatch.
    type Entry<'a> = (Option<Shape>, &'a str, &'a str);
    let mut sections: [(&str, Vec<Entry>); 3] = [
        ("completion", vec![]),
        ("operation", vec![]),
        ("fault", vec![]),
    ];
    for (label, color) in OUTCOMES {
        sections[0].1.push((Some(SHAPES[0]), color, label));
    }
    for (name, i) in f_index {
        sections[1].1.push((Some(shape(*i)), "#333333", name));
    }
    for (name, i) in nemeses {
        sections[2].1.push((None, shade(*i), name));
    }
    let mut y = TOP + 4.0;
    for (title, entries) in sections.iter().filter(|(_, e)| !e.is_empty()) {
        writeln!(
            out,
            r#"<text x="{x}" y="{}" font-weight="bold">{title}</text>"#,
            num(y)
        )?;
        y += ROW;
        for (swatch, color, label) in entries {
            if let Some(swatch) = swatch {
                let mut d = String::new();
                swatch.mark(&mut d, x + 4.0, y - 4.0)?;
                write!(out, r#"<path {} d="{d}"/>"#, swatch.style(color))?;
            } else {
                write!(
                    out,
                    r#"<rect x="{x}" y="{}" width="10" height="10" fill="{color}" fill-opacity="0.35"/>"#,
                    num(y - 9.0)
                )?;
            }
            writeln!(
                out,
                r#"<text x="{}" y="{}">{}</text>"#,
                x + 14.0,
                num(y),
                escape(label)
            )?;
            y += ROW;
        }
    }
    Ok(())
}

/// A tick step of 1, 2 or 5 times a power of ten giving at most ~10 ticks.
fn tick_step(span: f64) -> f64 {
    let raw = span / 10.0;
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag)
}

/// The decades the log axis spans: from 10^lo to 10^hi ms. Always shows
/// 1–10 ms; goes down to 1 µs and up to 10^7 ms only when the data needs it.
fn decades(latencies_ms: &[f64]) -> (i32, i32) {
    let positive = latencies_ms.iter().filter(|v| **v > 0.0);
    let lo = positive.clone().map(|v| v.log10().floor() as i32).min();
    let hi = positive.map(|v| v.log10().ceil() as i32).max();
    (lo.unwrap_or(0).clamp(-3, 0), hi.unwrap_or(1).clamp(1, 7))
}

fn decade_label(e: i32) -> String {
    if e >= 0 {
        format!("{}", 10u64.pow(e as u32))
    } else {
        format!("{:.*}", (-e) as usize, 10f64.powi(e))
    }
}

/// Renders the plot. `run_end_ns` is the run's length; the x axis also
/// stretches to the last event, and unstopped faults shade up to its end.
pub fn latency_svg(history: &[Op], faults: &[FaultEvent], run_end_ns: u64) -> String {
    let mut out = String::new();
    render(&mut out, history, faults, run_end_ns).expect("writing to a String cannot fail");
    out
}

fn render(out: &mut String, history: &[Op], faults: &[FaultEvent], run_end_ns: u64) -> fmt::Result {
    let spans = pair_ops(history);
    let windows = fault_windows(faults);
    let end_ns = history
        .iter()
        .map(|o| o.time)
        .chain(faults.iter().map(|f| f.time))
        .fold(run_end_ns, u64::max);
    let t_max = if end_ns == 0 {
        1.0
    } else {
        end_ns as f64 / 1e9
    };

    // Stable shape and shade assignments, by sorted name.
    let f_index = index_by_name(spans.iter().map(|s| s.f.as_str()));
    let nemeses = index_by_name(windows.iter().map(|w| w.nemesis.as_str()));

    let (x0, x1) = (LEFT, WIDTH - LEGEND_W);
    let (y_top, y_bottom) = (TOP + NO_REPLY_BAND, TOP + PLOT_H);
    let x_of = |t_s: f64| x0 + t_s / t_max * (x1 - x0);
    let latencies: Vec<f64> = spans
        .iter()
        .filter_map(|s| s.latency_ns())
        .map(|ns| ns as f64 / 1e6)
        .collect();
    let (lo, hi) = decades(&latencies);
    let floor_ms = 10f64.powi(lo);
    let y_of = |ms: f64| {
        let frac = (ms.max(floor_ms).log10() - lo as f64) / (hi - lo) as f64;
        y_bottom - frac.min(1.0) * (y_bottom - y_top)
    };

    let legend_rows = 3 + OUTCOMES.len() + f_index.len() + nemeses.len();
    let height = (TOP + PLOT_H + BOTTOM).max(TOP + ROW * (legend_rows as f64 + 2.0));
    writeln!(
        out,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{h}" viewBox="0 0 {WIDTH} {h}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="{x0}" y="22" font-size="15" font-weight="bold">Operation latency over time ({} ops, {} fault windows)</text>"##,
        spans.len(),
        windows.len(),
        h = num(height)
    )?;

    // Faults first, so the marks are drawn over them.
    for w in &windows {
        let start = w.start as f64 / 1e9;
        let stop = w.stop.unwrap_or(end_ns) as f64 / 1e9;
        let (a, b) = (x_of(start), x_of(stop));
        let until = w
            .stop
            .map_or("end of run".to_string(), |_| format!("{stop:.3} s"));
        writeln!(
            out,
            r#"<rect class="fault" x="{}" y="{}" width="{}" height="{}" fill="{}" fill-opacity="0.18"><title>{}: {} ({start:.3} s to {})</title></rect>"#,
            num(a),
            TOP,
            num((b - a).max(1.0)), // instantaneous faults stay visible
            PLOT_H,
            shade(nemeses[w.nemesis.as_str()]),
            escape(&w.nemesis),
            escape(&w.detail),
            until
        )?;
    }

    // Grid, ticks and axes.
    let step = tick_step(t_max);
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let mut i = 0;
    while i as f64 * step <= t_max * (1.0 + 1e-9) {
        let t = i as f64 * step;
        let x = num(x_of(t));
        writeln!(
            out,
            r##"<line x1="{x}" y1="{TOP}" x2="{x}" y2="{}" stroke="#e4e4e4"/><text x="{x}" y="{}" text-anchor="middle">{t:.decimals$}</text>"##,
            y_bottom + 4.0,
            y_bottom + 16.0
        )?;
        i += 1;
    }
    for e in lo..=hi {
        let y = num(y_of(10f64.powi(e)));
        writeln!(
            out,
            r##"<line x1="{}" y1="{y}" x2="{x1}" y2="{y}" stroke="#e4e4e4"/><text x="{}" y="{y}" dy="4" text-anchor="end">{}</text>"##,
            x0 - 4.0,
            x0 - 7.0,
            decade_label(e)
        )?;
    }
    let (xm, ym) = (num((x0 + x1) / 2.0), num((y_top + y_bottom) / 2.0));
    writeln!(
        out,
        r##"<text x="{}" y="{}" dy="4" text-anchor="end" fill="#555555">no reply</text>
<line x1="{x0}" y1="{y_top}" x2="{x1}" y2="{y_top}" stroke="#bbbbbb" stroke-dasharray="3 3"/>
<path d="M{x0} {TOP}V{y_bottom}H{x1}" fill="none" stroke="#333333"/>
<text x="{xm}" y="{}" text-anchor="middle">time since start (s), at invocation</text>
<text transform="translate(18 {ym}) rotate(-90)" text-anchor="middle">latency (ms, log scale)</text>"##,
        x0 - 7.0,
        num(TOP + NO_REPLY_BAND / 2.0),
        y_bottom + 36.0
    )?;
    if spans.is_empty() {
        writeln!(
            out,
            r##"<text x="{xm}" y="{ym}" text-anchor="middle" fill="#888888">no operations recorded</text>"##
        )?;
    }

    // Marks, one path per (f, outcome).
    let mut groups: BTreeMap<(usize, usize), (String, usize)> = BTreeMap::new();
    for s in &spans {
        let fi = f_index[s.f.as_str()];
        let oi = outcome(s.completion.map(|c| c.0));
        let x = x_of(s.invoked as f64 / 1e9);
        let y = match s.latency_ns() {
            Some(ns) => y_of(ns as f64 / 1e6),
            None => TOP + NO_REPLY_BAND / 2.0,
        };
        let (d, n) = groups.entry((fi, oi)).or_default();
        shape(fi).mark(d, x, y)?;
        *n += 1;
    }
    let names: Vec<&str> = f_index.keys().copied().collect();
    for ((fi, oi), (d, n)) in &groups {
        let (label, color) = OUTCOMES[*oi];
        writeln!(
            out,
            r#"<path class="ops" {} d="{d}"><title>{} {label}: {n}</title></path>"#,
            shape(*fi).style(color),
            escape(names[*fi])
        )?;
    }

    legend(out, x1 + 20.0, &f_index, &nemeses)?;
    writeln!(out, "</svg>")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::{fault, op};

    #[test]
    fn plot_is_an_svg_with_a_rect_per_fault_window() {
        let ms = 1_000_000;
        let history = [
            op(1, OpType::Invoke, "read", 0),
            op(1, OpType::Ok, "read", 3 * ms),
            op(2, OpType::Invoke, "write<&>", 10 * ms),
            op(2, OpType::Fail, "write<&>", 2_000 * ms),
            op(3, OpType::Invoke, "cas", 20 * ms),
        ];
        let faults = [
            fault(5 * ms, "start", "partition", "[c1] | [c2 \"c3\"]"),
            fault(900 * ms, "stop", "partition", "[c1] | [c2 \"c3\"]"),
            fault(1_000 * ms, "start", "kill", "kill -9 c2"),
        ];
        let svg = latency_svg(&history, &faults, 3_000 * ms);
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches(r#"class="fault""#).count(), 2);
        assert!(svg.contains("write&lt;&amp;&gt;"));
        assert!(!svg.contains("write<&>"));
        assert!(svg.contains("&quot;c3&quot;"));
        assert!(svg.contains("cas no reply: 1"));
        // 3 ms and 2 s latencies: the axis runs from 1 ms to 10 s.
        assert!(svg.contains(">10000</text>"));
        assert!(!svg.contains(">100000</text>"));
    }

    #[test]
    fn copes_with_an_empty_run() {
        let svg = latency_svg(&[], &[], 0);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("no operations recorded"));
        assert!(!svg.contains("NaN") && !svg.contains("\"inf") && !svg.contains("\"-inf"));
    }

    #[test]
    fn stays_small_for_many_ops() {
        let mut history = Vec::new();
        for i in 0..40_000u64 {
            let t = i * 1_000_000;
            history.push(op(
                i % 16,
                OpType::Invoke,
                ["read", "write", "cas"][(i % 3) as usize],
                t,
            ));
            history.push(op(i % 16, OpType::Ok, "x", t + (i % 997) * 10_000));
        }
        let svg = latency_svg(&history, &[], 0);
        assert!(svg.len() < 1_200_000, "{} bytes", svg.len());
        assert!(svg.matches("<path").count() < 20);
    }

    #[test]
    fn ticks_and_scales() {
        assert_eq!(tick_step(60.0), 10.0);
        assert_eq!(tick_step(1.0), 0.1);
        assert_eq!(decades(&[0.3, 40.0]), (-1, 2));
        assert_eq!(decades(&[]), (0, 1));
        assert_eq!(decade_label(-2), "0.01");
        assert_eq!(num(12.0), "12");
        assert_eq!(num(12.345), "12.3");
    }
}
