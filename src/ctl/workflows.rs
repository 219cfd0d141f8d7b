//! `miroir-ctl workflows`: what the coordinator leader is running, and
//! following one phase by phase.

use std::time::Duration;

use super::cli::WorkflowsCmd;
use super::output::{emit, Table};
use super::Ctl;
use crate::control::ControlError;
use crate::state::workflows::{Workflow, WorkflowId};

/// How often `watch` asks.
const POLL: Duration = Duration::from_millis(300);

pub async fn run(ctl: &Ctl, cmd: WorkflowsCmd) -> Result<(), ControlError> {
    match cmd {
        WorkflowsCmd::List { running } => {
            let list = ctl.control.list_workflows(running).await?;
            emit(ctl.json, &list, |l| {
                let mut t = Table::new(&["ID", "KIND", "INDEX", "PHASE", "STEP", "ERRORS"]);
                for w in l {
                    t.row(vec![
                        w.id.to_string(),
                        w.kind.as_str().into(),
                        target(w),
                        w.phase.as_str().into(),
                        progress(w),
                        w.errors.len().to_string(),
                    ]);
                }
                t.render()
            });
        }
        WorkflowsCmd::Show { id } => {
            let w = ctl.control.get_workflow(WorkflowId(id)).await?;
            emit(ctl.json, &w, show);
        }
        WorkflowsCmd::Watch { id } => {
            let w = follow(ctl, WorkflowId(id)).await?;
            if ctl.json {
                emit(true, &w, |_| String::new());
            }
        }
    }
    Ok(())
}

/// The indexes a workflow changes: `a<->b` for a swap, `a->c` for a rename.
fn target(w: &Workflow) -> String {
    if w.swaps.is_empty() {
        return w.index.to_string();
    }
    let pairs: Vec<String> = w
        .swaps
        .iter()
        .map(|s| match s.rename {
            true => format!("{}->{}", s.lhs, s.rhs),
            false => format!("{}<->{}", s.lhs, s.rhs),
        })
        .collect();
    pairs.join(", ")
}

/// `phase/phases` of the workflow's kind: how many of its phases are behind it.
fn progress(w: &Workflow) -> String {
    let phases = w.kind.phases();
    let at = phases.iter().position(|p| *p == w.phase).unwrap_or(0);
    format!("{at}/{}", phases.len() - 1)
}

fn show(w: &Workflow) -> String {
    let mut out = format!(
        "workflow {}  {} of index {}  phase {} ({})\n",
        w.id,
        w.kind.as_str(),
        target(w),
        w.phase.as_str(),
        progress(w)
    );
    if !w.swept_later.is_empty() {
        let nodes: Vec<&str> = w.swept_later.iter().map(|n| n.0.as_str()).collect();
        out.push_str(&format!("to sweep when back: {}\n", nodes.join(", ")));
    }
    out.push('\n');
    let mut t = Table::new(&["AT (ms)", "PHASE", "NOTE"]);
    for e in &w.history {
        t.row(vec![
            e.at_ms.to_string(),
            e.phase.as_str().into(),
            e.note.clone(),
        ]);
    }
    out.push_str(&t.render());
    if !w.errors.is_empty() {
        out.push_str("\nerrors (newest last):\n");
        for e in &w.errors {
            out.push_str(&format!("  {e}\n"));
        }
    }
    out
}

/// Polls the workflow until it is done, printing (unless `--json`) each
/// phase it enters and each new error; the finished workflow.
pub async fn follow(ctl: &Ctl, id: WorkflowId) -> Result<Workflow, ControlError> {
    let (mut seen_history, mut seen_errors) = (0, 0);
    loop {
        let w = ctl.control.get_workflow(id).await?;
        if !ctl.json {
            for e in w.history.iter().skip(seen_history) {
                println!("[{}] {}: {}", progress(&w), e.phase.as_str(), e.note);
            }
            for e in w.errors.iter().skip(seen_errors) {
                eprintln!("  retrying: {e}");
            }
        }
        (seen_history, seen_errors) = (w.history.len(), w.errors.len());
        if w.is_done() {
            return Ok(w);
        }
        tokio::time::sleep(POLL).await;
    }
}
