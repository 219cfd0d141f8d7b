//! Meilisearch's task filters (`uids`, `statuses`, `types`, `indexUids`,
//! `canceledBy` and the six date bounds), parsed with Meilisearch's errors,
//! and a scan of the coordinators' task records that applies them. The
//! coordinators filter by index and status themselves; the rest is applied
//! here.

use crate::meili::{stamp, MeiliError};
use crate::pb::v1::router_client::RouterClient;
use crate::pb::v1::{GetTaskRequest, ListTasksRequest, ListTasksResponse, TaskRecord};
use crate::router::control::ControlPlane;
use crate::router::write::writer::{coordinators_down, Writer};

const STATUSES: [&str; 5] = ["enqueued", "processing", "succeeded", "failed", "canceled"];
const TYPES: [&str; 14] = [
    "documentAdditionOrUpdate",
    "documentEdition",
    "documentDeletion",
    "settingsUpdate",
    "indexCreation",
    "indexDeletion",
    "indexUpdate",
    "indexSwap",
    "taskCancelation",
    "taskDeletion",
    "dumpCreation",
    "snapshotCreation",
    "export",
    "upgradeDatabase",
];
/// The filters every task route takes, with the code a bad value gets.
const FILTERS: [(&str, &str); 11] = [
    ("uids", "invalid_task_uids"),
    ("indexUids", "invalid_task_index_uids"),
    ("statuses", "invalid_task_statuses"),
    ("types", "invalid_task_types"),
    ("canceledBy", "invalid_task_canceled_by"),
    ("beforeEnqueuedAt", "invalid_task_before_enqueued_at"),
    ("afterEnqueuedAt", "invalid_task_after_enqueued_at"),
    ("beforeStartedAt", "invalid_task_before_started_at"),
    ("afterStartedAt", "invalid_task_after_started_at"),
    ("beforeFinishedAt", "invalid_task_before_finished_at"),
    ("afterFinishedAt", "invalid_task_after_finished_at"),
];
/// A route's parameters other than filters, by name.
pub type Params = Vec<(&'static str, String)>;
/// Records asked of the coordinators per page of a scan.
const PAGE: u32 = 1000;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskFilter {
    pub uids: Option<Vec<u64>>,
    pub index_uids: Vec<String>,
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    pub canceled_by: Option<Vec<u64>>,
    /// (parameter, bound in ms since the epoch).
    pub dates: Vec<(&'static str, u64)>,
    /// Whether any filter was given, if only `*`.
    pub given: bool,
}

fn unknown(name: &str, allowed: &[&str]) -> MeiliError {
    let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
    MeiliError::bad_request(format!(
        "Unknown parameter `{name}`: expected one of {}",
        list.join(", ")
    ))
}

fn numbers(name: &str, code: &'static str, v: &str) -> Result<Option<Vec<u64>>, MeiliError> {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.contains(&"*") {
        return Ok(None);
    }
    items
        .iter()
        .map(|x| {
            x.parse::<u64>().map_err(|_| {
                MeiliError::invalid(
                    code,
                    format!("Invalid value in parameter `{name}`: could not parse `{x}` as a positive integer"),
                )
            })
        })
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Names out of a list, `*` meaning all (an empty list).
fn names(v: &str) -> Vec<String> {
    let items: Vec<String> = v.split(',').map(|x| x.trim().to_string()).collect();
    match items.iter().any(|x| x == "*") {
        true => vec![],
        false => items,
    }
}

impl TaskFilter {
    /// The filters of a query string; `extra` names the other parameters the
    /// route takes (`limit`, `from`, ...), returned as they are.
    pub fn parse(
        query: &[(String, String)],
        extra: &[&'static str],
    ) -> Result<(TaskFilter, Params), MeiliError> {
        let mut f = TaskFilter::default();
        let mut rest = vec![];
        for (k, v) in query {
            let Some(&(name, code)) = FILTERS.iter().find(|(n, _)| n == k) else {
                match extra.iter().find(|e| **e == k) {
                    Some(e) => rest.push((*e, v.clone())),
                    None => {
                        let mut all: Vec<&str> = FILTERS.iter().map(|(n, _)| *n).collect();
                        all.extend_from_slice(extra);
                        return Err(unknown(k, &all));
                    }
                }
                continue;
            };
            f.given = true;
            match name {
                "uids" => f.uids = numbers(name, code, v)?,
                "canceledBy" => f.canceled_by = numbers(name, code, v)?,
                "indexUids" => f.index_uids = names(v),
                "statuses" => {
                    f.statuses = names(v);
                    if let Some(bad) = f.statuses.iter().find(|s| !STATUSES.contains(&s.as_str())) {
                        return Err(MeiliError::invalid(code, format!("Invalid value in parameter `statuses`: `{bad}` is not a valid task status. Available statuses are `enqueued`, `processing`, `succeeded`, `failed`, `canceled`.")));
                    }
                }
                "types" => {
                    f.types = names(v);
                    if let Some(bad) = f.types.iter().find(|t| !TYPES.contains(&t.as_str())) {
                        let list: Vec<String> = TYPES.iter().map(|t| format!("`{t}`")).collect();
                        return Err(MeiliError::invalid(code, format!("Invalid value in parameter `types`: `{bad}` is not a valid task type. Available types are {}.", list.join(", "))));
                    }
                }
                _ => {
                    let secs = stamp::parse_rfc3339(v).ok_or_else(|| {
                        MeiliError::invalid(code, format!("Invalid value in parameter `{name}`: `{v}` is an invalid date-time. It should follow the YYYY-MM-DD or RFC 3339 date-time format."))
                    })?;
                    // A bare date after which tasks must come means its whole day.
                    let day = i64::from(name.starts_with("after") && v.len() == 10) * 86_400;
                    f.dates.push((name, ((secs + day).max(0) as u64) * 1000));
                }
            }
        }
        Ok((f, rest))
    }

    /// Whether no filter was given (cancel and delete require one).
    pub fn is_empty(&self) -> bool {
        !self.given
    }

    /// Filters the coordinators cannot apply.
    fn needs_scan(&self) -> bool {
        self.uids.is_some()
            || !self.types.is_empty()
            || self.canceled_by.is_some()
            || !self.dates.is_empty()
    }

    pub fn matches(&self, t: &TaskRecord) -> bool {
        let started = (t.status != "enqueued").then_some(t.enqueued_at_ms);
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
        self.uids.as_ref().is_none_or(|u| u.contains(&t.uid))
            && (self.index_uids.is_empty() || self.index_uids.contains(&t.index_uid))
            && (self.statuses.is_empty() || self.statuses.contains(&t.status))
            && (self.types.is_empty() || self.types.contains(&t.kind))
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
pub async fn list_page(
    control: &ControlPlane,
    req: ListTasksRequest,
) -> Result<ListTasksResponse, MeiliError> {
    control
        .unary(|ch, auth| {
            let req = req.clone();
            async move {
                RouterClient::new(ch)
                    .list_tasks(ControlPlane::request(&auth, req))
                    .await
            }
        })
        .await
        .map(tonic::Response::into_inner)
        .map_err(coordinators_down)
}

async fn list(
    w: &Writer<'_>,
    req: ListTasksRequest,
) -> Result<(Vec<TaskRecord>, Option<u64>, u64), MeiliError> {
    let page = list_page(w.control, req).await?;
    Ok((page.tasks, page.next, page.total))
}

/// A listing route's page: the query string's filters, `limit` (20 by
/// default) and `from`, and the matching records; with the limit used.
pub async fn listed(w: &Writer<'_>, q: &[(String, String)]) -> Result<(Found, u64), MeiliError> {
    let (filter, rest) = TaskFilter::parse(q, &["limit", "from"])?;
    let limit = number(&rest, "limit", "invalid_task_limit")?.unwrap_or(20);
    let from = number(&rest, "from", "invalid_task_from")?;
    Ok((scan(w, &filter, from, limit as usize).await?, limit))
}

/// One record, `None` if the coordinators do not have it.
pub async fn record(w: &Writer<'_>, uid: u64) -> Result<Option<TaskRecord>, MeiliError> {
    let res = w
        .control
        .unary(|ch, auth| async move {
            RouterClient::new(ch)
                .get_task(ControlPlane::request(&auth, GetTaskRequest { uid }))
                .await
        })
        .await;
    match res {
        Ok(t) => Ok(Some(t.into_inner())),
        Err(s) if s.code() == tonic::Code::NotFound => Ok(None),
        Err(s) => Err(coordinators_down(s)),
    }
}

/// The records matching `f`, newest first, from uid `from` on, at most `limit`.
pub async fn scan(
    w: &Writer<'_>,
    f: &TaskFilter,
    from: Option<u64>,
    limit: usize,
) -> Result<Found, MeiliError> {
    let req = |from: u64, limit: u32| ListTasksRequest {
        from,
        limit,
        index_uids: f.index_uids.clone(),
        statuses: f.statuses.clone(),
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
            candidates.extend(record(w, *uid).await?);
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
        .filter(|t| from.is_none_or(|from| t.uid <= from));
    let tasks: Vec<TaskRecord> = window.by_ref().take(limit).collect();
    Ok(Found {
        tasks,
        total,
        next: window.next().map(|t| t.uid),
    })
}

/// The query string's parameters that hold a number (`limit`, `from`).
pub fn number(
    rest: &[(&str, String)],
    name: &str,
    code: &'static str,
) -> Result<Option<u64>, MeiliError> {
    match rest.iter().find(|(k, _)| *k == name) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| {
            MeiliError::invalid(code, format!("Invalid value in parameter `{name}`: could not parse `{v}` as a positive integer"))
        }),
    }
}

/// Meilisearch's `missing_task_filters` for a route that changes tasks.
pub fn missing_filters(verb: &str) -> MeiliError {
    let list: Vec<String> = FILTERS.iter().map(|(n, _)| format!("`{n}`")).collect();
    MeiliError::invalid(
        "missing_task_filters",
        format!("Query parameters to filter the tasks to {verb} are missing. Available query parameters are: {}.", list.join(", ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn task(uid: u64, status: &str, kind: &str, at: u64) -> TaskRecord {
        TaskRecord {
            uid,
            index_uid: "movies".into(),
            kind: kind.into(),
            status: status.into(),
            enqueued_at_ms: at,
            finished_at_ms: (status == "succeeded").then_some(at + 10),
            ..Default::default()
        }
    }

    /// Filters parse with Meilisearch's codes; `*` means all; extras pass through.
    #[test]
    fn parsing() {
        let (f, rest) = TaskFilter::parse(
            &q(&[("uids", "1,2"), ("statuses", "*"), ("limit", "3")]),
            &["limit"],
        )
        .unwrap();
        assert_eq!(f.uids, Some(vec![1, 2]));
        assert!(f.statuses.is_empty());
        assert_eq!(rest, vec![("limit", "3".to_string())]);
        let err = |p: &[(&str, &str)]| TaskFilter::parse(&q(p), &[]).unwrap_err().code;
        assert_eq!(err(&[("uids", "x")]), "invalid_task_uids");
        assert_eq!(err(&[("statuses", "done")]), "invalid_task_statuses");
        assert_eq!(err(&[("types", "nope")]), "invalid_task_types");
        assert_eq!(
            err(&[("afterEnqueuedAt", "yesterday")]),
            "invalid_task_after_enqueued_at"
        );
        assert_eq!(err(&[("limit", "3")]), "bad_request");
        assert!(TaskFilter::parse(&[], &[]).unwrap().0.is_empty());
        assert!(!TaskFilter::parse(&q(&[("statuses", "*")]), &[])
            .unwrap()
            .0
            .is_empty());
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
        assert!(!parse(&[("beforeStartedAt", "1970-01-02")]).matches(&task(5, "enqueued", "x", 0)));
        assert!(!parse(&[("canceledBy", "1")]).matches(&t));
    }

    #[test]
    fn missing_filters_names_them() {
        let e = missing_filters("cancel");
        assert_eq!(e.code, "missing_task_filters");
        assert!(e
            .message
            .starts_with("Query parameters to filter the tasks to cancel are missing."));
    }
}
