//! `miroir-ctl anti-entropy`: the schedule and the copies behind, the passes that ran and what
//! they found, and passes started by hand (`verify` reports, `run` repairs), followed to the end.

use std::time::Duration;

use super::cli::AntiEntropyCmd;
use super::output::{emit, opt, Table};
use super::Ctl;
use crate::control::repair_types::AntiEntropyStatus;
use crate::control::ControlError;
use crate::state::repair::pass::{AntiEntropyPass, PassMode};
use crate::state::workflows::{Workflow, WorkflowKind};

/// How often a pass being followed is asked about.
const POLL: Duration = Duration::from_millis(300);

pub async fn run(ctl: &Ctl, cmd: AntiEntropyCmd) -> Result<(), ControlError> {
    match cmd {
        AntiEntropyCmd::Status => {
            let s = ctl.control.anti_entropy_status().await?;
            emit(ctl.json, &s, status);
            Ok(())
        }
        AntiEntropyCmd::History {
            index,
            detailed,
            limit,
        } => {
            let passes: Vec<Workflow> = ctl
                .control
                .list_workflows(false)
                .await?
                .into_iter()
                .filter(|w| w.kind == WorkflowKind::AntiEntropy)
                .filter(|w| index.as_ref().is_none_or(|i| &w.index.0 == i))
                .take(limit)
                .collect();
            emit(ctl.json, &passes, |p| history(p, detailed));
            Ok(())
        }
        AntiEntropyCmd::Verify(p) => pass(ctl, p, PassMode::Verify).await,
        AntiEntropyCmd::Run(p) => pass(ctl, p, PassMode::Repair).await,
    }
}

/// Starts a pass and, unless told not to wait, follows it to the end; a verify that found
/// differences exits 1.
async fn pass(ctl: &Ctl, p: super::cli::PassArgs, mode: PassMode) -> Result<(), ControlError> {
    let started = ctl
        .control
        .run_anti_entropy(&p.index, p.shards.unwrap_or_default(), mode)
        .await?;
    if p.no_wait {
        emit(ctl.json, &started, |w| {
            format!("anti-entropy pass {} started\n", w.id)
        });
        return Ok(());
    }
    let mut shown = usize::MAX;
    let done = loop {
        let w = ctl.control.get_workflow(started.id).await?;
        if let (false, Some(pass)) = (ctl.json, &w.pass) {
            if pass.next != shown {
                shown = pass.next;
                eprintln!(
                    "[{}] shard {}/{}: {} documents compared, {} mismatches, {} repaired",
                    w.phase.as_str(),
                    pass.next,
                    pass.shards.len(),
                    pass.counts.documents_compared,
                    pass.counts.mismatches,
                    pass.counts.repaired
                );
            }
        }
        if w.is_done() {
            break w;
        }
        tokio::time::sleep(POLL).await;
    };
    emit(ctl.json, &done, |w| report(w, true));
    let mismatches = done.pass.as_ref().map_or(0, |p| p.counts.mismatches);
    match (mode, mismatches) {
        (PassMode::Verify, n) if n > 0 => Err(ControlError::FailedPrecondition(format!(
            "{n} mismatches between copies: `miroir-ctl anti-entropy run --index {}` repairs them",
            done.index
        ))),
        _ => Ok(()),
    }
}

fn status(s: &AntiEntropyStatus) -> String {
    let next = s
        .next_round_ms
        .map(|ms| crate::meili::stamp::rfc3339(u128::from(ms) * 1_000_000));
    let mut out = format!(
        "schedule: {} (UTC)  next round: {}  auto-repair: {}\n",
        s.schedule,
        opt(next),
        if s.auto_repair { "on" } else { "off" }
    );
    if !s.round.is_empty() {
        let names: Vec<&str> = s.round.iter().map(|i| i.0.as_str()).collect();
        out.push_str(&format!(
            "this round still to pass over: {}\n",
            names.join(", ")
        ));
    }
    match &s.running {
        Some(w) => out.push_str(&format!("running: {}\n", line(w))),
        None => out.push_str("running: none\n"),
    }
    out.push_str(&format!(
        "\ncopies behind: {} ({} for longer than repair_behind_alert_s)\n",
        s.behind.len(),
        s.behind_too_long
    ));
    if !s.behind.is_empty() {
        let mut t = Table::new(&["INDEX", "NODE", "SHARD", "SINCE VERSION", "WHY", "REPAIR"]);
        for b in &s.behind {
            t.row(vec![
                b.index.to_string(),
                b.node.to_string(),
                b.shard.0.to_string(),
                b.since_version.0.to_string(),
                b.reason.clone(),
                opt(b.repair),
            ]);
        }
        out.push_str(&t.render());
    }
    if !s.last.is_empty() {
        out.push_str("\nlast pass per index:\n");
        let mut t = Table::new(&[
            "INDEX",
            "PASS",
            "MODE",
            "SHARDS",
            "COMPARED",
            "MISMATCHES",
            "REPAIRED",
            "STREAK",
        ]);
        for l in &s.last {
            t.row(vec![
                l.index.to_string(),
                l.workflow.to_string(),
                l.mode.as_str().into(),
                l.counts.shards_scanned.to_string(),
                l.counts.documents_compared.to_string(),
                l.counts.mismatches.to_string(),
                l.counts.repaired.to_string(),
                l.dirty_streak.to_string(),
            ]);
        }
        out.push_str(&t.render());
    }
    out
}

/// One pass in a line.
fn line(w: &Workflow) -> String {
    let Some(p) = &w.pass else {
        return format!("workflow {}", w.id);
    };
    format!(
        "pass {} over `{}` ({}{}): {} at shard {}/{}, {} mismatches",
        w.id,
        w.index,
        p.mode.as_str(),
        if p.scheduled { ", scheduled" } else { "" },
        w.phase.as_str(),
        p.next,
        p.shards.len(),
        p.counts.mismatches
    )
}

fn history(passes: &[Workflow], detailed: bool) -> String {
    if !detailed {
        let mut t = Table::new(&[
            "PASS",
            "INDEX",
            "MODE",
            "PHASE",
            "SHARDS",
            "COMPARED",
            "MISMATCHES",
            "REPAIRED",
            "STRAYS",
        ]);
        for w in passes {
            let Some(p) = &w.pass else { continue };
            t.row(vec![
                w.id.to_string(),
                w.index.to_string(),
                p.mode.as_str().into(),
                w.phase.as_str().into(),
                format!("{}/{}", p.next, p.shards.len()),
                p.counts.documents_compared.to_string(),
                p.counts.mismatches.to_string(),
                p.counts.repaired.to_string(),
                p.counts.strays_removed.to_string(),
            ]);
        }
        return t.render();
    }
    passes
        .iter()
        .map(|w| report(w, true))
        .collect::<Vec<_>>()
        .join("\n")
}

/// A pass's counts and, with `findings`, what it found where.
fn report(w: &Workflow, findings: bool) -> String {
    let Some(p) = &w.pass else {
        return String::new();
    };
    let mut out = format!("{}\n{}", line(w), counts(p));
    if findings && !p.findings.is_empty() {
        let mut t = Table::new(&["KIND", "NODE", "SHARD", "WHAT", "REPAIRED"]);
        for f in &p.findings {
            t.row(vec![
                f.kind.as_str().into(),
                f.node.to_string(),
                opt(f.shard),
                f.what.clone(),
                if f.repaired { "yes" } else { "no" }.into(),
            ]);
        }
        out.push_str(&t.render());
        if p.findings_dropped > 0 {
            out.push_str(&format!(
                "... and {} more findings not kept\n",
                p.findings_dropped
            ));
        }
    }
    out
}

fn counts(p: &AntiEntropyPass) -> String {
    let c = &p.counts;
    format!(
        "  {} shards, {} documents compared, {} mismatches, {} repaired, {} strays removed, {} index fixes\n",
        c.shards_scanned, c.documents_compared, c.mismatches, c.repaired, c.strays_removed, c.index_fixes
    )
}
