//! `miroir-ctl tombstones`: the deletes the coordinators keep (I4).

use super::cli::TombstonesCmd;
use super::output::{emit, Table};
use super::Ctl;
use crate::control::admin_types::{ListedDeletion, TombstoneListing};
use crate::control::ControlError;

pub async fn run(ctl: &Ctl, cmd: TombstonesCmd) -> Result<(), ControlError> {
    let listing = match &cmd {
        TombstonesCmd::Stats => ctl.control.list_tombstones(None, 0).await?,
        TombstonesCmd::List { index, limit } => {
            ctl.control.list_tombstones(Some(index), *limit).await?
        }
    };
    match cmd {
        TombstonesCmd::Stats => emit(ctl.json, &listing, stats),
        TombstonesCmd::List { .. } => emit(ctl.json, &listing, records),
    }
    Ok(())
}

fn date(unix_ms: u64) -> String {
    crate::meili::stamp::rfc3339(u128::from(unix_ms) * 1_000_000)
}

fn stats(l: &TombstoneListing) -> String {
    let mut t = Table::new(&["INDEX", "RECORDS", "OLDEST", "NEWEST"]);
    for i in &l.indexes {
        let at = |v: Option<crate::state::Version>| v.map_or("-".into(), |v| date(v.unix_ms()));
        t.row(vec![
            i.index.clone(),
            i.records.to_string(),
            at(i.oldest_version),
            at(i.newest_version),
        ]);
    }
    format!("retention: {}s\n{}", l.retention_s, t.render())
}

fn records(l: &TombstoneListing) -> String {
    let mut t = Table::new(&["VERSION", "AT", "TASK", "KIND", "DELETED"]);
    for r in &l.tombstones {
        let (kind, what) = match &r.deleted {
            ListedDeletion::Ids { ids } => ("ids", ids_summary(ids)),
            ListedDeletion::Filter { filter } => ("filter", filter.clone()),
            ListedDeletion::All => ("all", "every document".into()),
        };
        t.row(vec![
            r.version.to_string(),
            date(r.at_unix_ms),
            r.task_uid.map_or("-".into(), |u| u.to_string()),
            kind.into(),
            what,
        ]);
    }
    t.render()
}

/// The first few ids, and how many more.
fn ids_summary(ids: &[String]) -> String {
    const SHOWN: usize = 5;
    let head = ids
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    match ids.len().saturating_sub(SHOWN) {
        0 => head,
        more => format!("{head} (+{more} more)"),
    }
}
