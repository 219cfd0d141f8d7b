//! A scan of the coordinators' task records that applies Meilisearch's task filters (parsed in
//! `meili::task_filter`). The coordinators filter by index and status themselves; the rest is
//! applied here.

use crate::control::{ControlClient, ControlError, TaskPage, TaskQuery};
pub use crate::meili::task_filter::{missing_filters, number, Params, TaskFilter};
use crate::meili::MeiliError;
use crate::router::write::writer::{coordinators_down, Writer};
use crate::state::{TaskRecord, TaskStatus, TaskUid};

/// Records asked of the coordinators per page of a scan.
const PAGE: u32 = 1000;

impl TaskFilter {
    /// Filters the coordinators cannot apply.
    fn needs_scan(&self) -> bool {
        self.uids.is_some()
            || self.batch_uids.is_some()
            || !self.types.is_empty()
            || self.canceled_by.is_some()
            || !self.dates.is_empty()
    }

    pub fn matches(&self, t: &TaskRecord) -> bool {
        let started = (t.status != TaskStatus::Enqueued).then_some(t.enqueued_at_ms);
        let dates_ok = self.dates.iter().all(|(name, bound)| {
            let at = match *name {
                n if n.ends_with("EnqueuedAt") => Some(t.enqueued_at_ms),
                n if n.ends_with("StartedAt") => started,
                _ => t.finished_at_ms,
            };
            at.is_some_and(|at| match name.starts_with("before") {
                true => at < *bound,
                false => at > *bound,
            })
        });
        self.uids.as_ref().is_none_or(|u| u.contains(&t.uid.0))
            // One batch per Miroir task, under the task's uid.
            && self.batch_uids.as_ref().is_none_or(|b| b.contains(&t.uid.0))
            && (self.index_uids.is_empty() || self.index_uids.contains(&t.index_uid))
            && (self.statuses.is_empty() || self.statuses.iter().any(|s| s == t.status.as_str()))
            && (self.types.is_empty() || self.types.iter().any(|k| k == t.kind.as_str()))
            // Miroir does not record which task canceled another.
            && self.canceled_by.is_none()
            && dates_ok
    }
}

/// A page of matching records, newest first.
#[derive(Debug, Default)]
pub struct Found {
    pub tasks: Vec<TaskRecord>,
    /// Every match, whatever `from` and `limit`.
    pub total: u64,
    /// The uid the next page starts at.
    pub next: Option<u64>,
}

/// One page of the coordinators' task registry.
pub async fn list_page(control: &ControlClient, q: TaskQuery) -> Result<TaskPage, MeiliError> {
    control.list_tasks(q).await.map_err(coordinators_down)
}

async fn list(
    w: &Writer<'_>,
    req: TaskQuery,
) -> Result<(Vec<TaskRecord>, Option<u64>, u64), MeiliError> {
    let page = list_page(w.control, req).await?;
    Ok((page.tasks, page.next, page.total))
}

/// A listing route's page: the query string's filters, `limit` (20 by
/// default), `from` and `reverse` (oldest first, `from` the lowest uid
/// shown), and the matching records; with the limit used.
pub async fn listed(w: &Writer<'_>, q: &[(String, String)]) -> Result<(Found, u64), MeiliError> {
    let (filter, rest) = TaskFilter::parse(q, &["limit", "from", "reverse"])?;
    let limit = number(&rest, "limit", "invalid_task_limit")?.unwrap_or(20);
    let from = number(&rest, "from", "invalid_task_from")?;
    let reverse = match rest.iter().find(|(k, _)| *k == "reverse") {
        Some((_, v)) => crate::meili::task_filter::reverse(v)?,
        None => false,
    };
    if !reverse {
        return Ok((scan(w, &filter, from, limit as usize).await?, limit));
    }
    // The coordinators page newest first: oldest first is one scan, turned round.
    let all = scan(w, &filter, None, usize::MAX).await?;
    let mut window = all
        .tasks
        .into_iter()
        .rev()
        .filter(|t| from.is_none_or(|from| t.uid.0 >= from));
    let tasks: Vec<TaskRecord> = window.by_ref().take(limit as usize).collect();
    let next = window.next().map(|t| t.uid.0);
    let found = Found {
        tasks,
        total: all.total,
        next,
    };
    Ok((found, limit))
}

/// One record, `None` if the coordinators do not have it.
pub async fn record(w: &Writer<'_>, uid: TaskUid) -> Result<Option<TaskRecord>, MeiliError> {
    match w.control.get_task(uid).await {
        Ok(t) => Ok(Some(t)),
        Err(ControlError::NotFound(_)) => Ok(None),
        Err(e) => Err(coordinators_down(e)),
    }
}

/// The records matching `f`, newest first, from uid `from` on, at most `limit`.
pub async fn scan(
    w: &Writer<'_>,
    f: &TaskFilter,
    from: Option<u64>,
    limit: usize,
) -> Result<Found, MeiliError> {
    let req = |from: u64, limit: u32| TaskQuery {
        from,
        limit,
        index_uids: f.index_uids.clone(),
        // Parsed by Meilisearch's rule already, so every name is known.
        statuses: f
            .statuses
            .iter()
            .filter_map(|s| TaskStatus::parse(s).ok())
            .collect(),
    };
    if !f.needs_scan() && limit <= PAGE as usize {
        // `from` 0 asks the coordinators for the newest, so uid 0 is asked as 1.
        let first = from.map_or(0, |f| f.max(1));
        let asked = limit.clamp(1, PAGE as usize);
        let (mut tasks, next, total) = list(w, req(first, asked as u32)).await?;
        tasks.truncate(limit);
        return Ok(Found { tasks, total, next });
    }
    let mut candidates: Vec<TaskRecord> = vec![];
    if let Some(uids) = &f.uids {
        for uid in uids {
            candidates.extend(record(w, TaskUid(*uid)).await?);
        }
        candidates.sort_by_key(|t| std::cmp::Reverse(t.uid));
        candidates.dedup_by_key(|t| t.uid);
    } else {
        let mut at = 0;
        loop {
            let (tasks, next, _) = list(w, req(at, PAGE)).await?;
            candidates.extend(tasks.into_iter().filter(|t| f.matches(t)));
            match next {
                Some(n) => at = n,
                None => break,
            }
        }
    }
    let matching: Vec<TaskRecord> = candidates.into_iter().filter(|t| f.matches(t)).collect();
    let total = matching.len() as u64;
    let mut window = matching
        .into_iter()
        .filter(|t| from.is_none_or(|from| t.uid.0 <= from));
    let tasks: Vec<TaskRecord> = window.by_ref().take(limit).collect();
    Ok(Found {
        tasks,
        total,
        next: window.next().map(|t| t.uid.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::meili::task_filter::query as q;

    fn task(uid: u64, status: &str, kind: &str, at: u64) -> TaskRecord {
        TaskRecord {
            uid: TaskUid(uid),
            index_uid: "movies".into(),
            kind: crate::state::TaskKind::parse(kind).unwrap(),
            status: TaskStatus::parse(status).unwrap(),
            node_tasks: vec![],
            error: None,
            enqueued_at_ms: at,
            finished_at_ms: (status == "succeeded").then_some(at + 10),
            details: "{}".into(),
            workflow: None,
            custom_metadata: None,
            misses: vec![],
        }
    }

    /// Each filter narrows; dates compare with the record's instants.
    #[test]
    fn matching() {
        let t = task(5, "succeeded", "settingsUpdate", 1_000_000);
        let parse = |p: &[(&str, &str)]| TaskFilter::parse(&q(p), &[]).unwrap().0;
        assert!(parse(&[("uids", "5")]).matches(&t));
        assert!(!parse(&[("uids", "6")]).matches(&t));
        assert!(parse(&[("types", "settingsUpdate")]).matches(&t));
        assert!(!parse(&[("types", "indexCreation")]).matches(&t));
        assert!(parse(&[("indexUids", "movies"), ("statuses", "succeeded,failed")]).matches(&t));
        assert!(parse(&[("beforeEnqueuedAt", "1970-01-02")]).matches(&t));
        assert!(!parse(&[("afterEnqueuedAt", "1970-01-01")]).matches(&t));
        assert!(parse(&[("afterFinishedAt", "1970-01-01T00:00:00Z")]).matches(&t));
        assert!(!parse(&[("beforeStartedAt", "1970-01-02")]).matches(&task(
            5,
            "enqueued",
            "indexCreation",
            0
        )));
        assert!(!parse(&[("canceledBy", "1")]).matches(&t));
    }
}
