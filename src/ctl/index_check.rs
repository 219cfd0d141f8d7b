//! `miroir-ctl indexes check`: the copies the nodes do not hold as the shard
//! maps say, and physical indexes no map names.

use super::output::{emit, Table};
use super::Ctl;
use crate::control::ControlError;
use crate::fleet::index_check::{CopyState, IndexCheck};

pub async fn run(ctl: &Ctl, uid: Option<&str>) -> Result<(), ControlError> {
    let check = ctl.control.check_indexes(uid).await?;
    emit(ctl.json, &check, text);
    match check.disagreements() {
        0 => Ok(()),
        n => Err(ControlError::FailedPrecondition(format!(
            "{n} index cop{} not where the shard maps say: a node lost an index or did not answer (the repair workflow restores copies)",
            if n == 1 { "y is" } else { "ies are" }
        ))),
    }
}

fn text(c: &IndexCheck) -> String {
    let mut out = format!(
        "{} copies checked: {} present, {} missing, {} unreachable\n",
        c.copies.len(),
        count(c, CopyState::Present),
        count(c, CopyState::Missing),
        count(c, CopyState::Unreachable),
    );
    if c.disagreements() > 0 {
        let mut t = Table::new(&["INDEX", "PHYSICAL", "NODE", "STATE", "DETAIL"]);
        for x in c.copies.iter().filter(|x| x.state != CopyState::Present) {
            t.row(vec![
                x.uid.to_string(),
                x.physical.clone(),
                x.node.to_string(),
                x.state.as_str().into(),
                x.detail.clone(),
            ]);
        }
        out.push('\n');
        out.push_str(&t.render());
    }
    if !c.stray.is_empty() {
        out.push_str("\nphysical indexes no shard map names:\n");
        let mut t = Table::new(&["NODE", "PHYSICAL", "ON SWEEP LIST"]);
        for s in &c.stray {
            let owed = if s.on_sweep_list { "yes" } else { "no" };
            t.row(vec![s.node.to_string(), s.physical.clone(), owed.into()]);
        }
        out.push_str(&t.render());
    }
    out
}

fn count(c: &IndexCheck, state: CopyState) -> usize {
    c.copies.iter().filter(|x| x.state == state).count()
}
