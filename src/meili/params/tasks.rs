//! Meilisearch's task filters (`uids`, `statuses`, `types`, `indexUids`, `canceledBy` and the
//! six date bounds), parsed with Meilisearch's errors, for the router's task routes and the
//! devnode's alike.

pub use crate::meili::params::number;
use crate::meili::params::{positive_integer, unknown};
use crate::meili::{stamp, MeiliError};

const STATUSES: [&str; 5] = ["enqueued", "processing", "succeeded", "failed", "canceled"];
const TYPES: [&str; 18] = [
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
    "indexCompaction",
    "networkTopologyChange",
    "dsrUpdate",
    "dsrClear",
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
/// `batchUids`, accepted by every task route, though not named in `missing_task_filters`.
const BATCH_UIDS: (&str, &str) = ("batchUids", "invalid_batch_uids");

/// The parameters a task route names when it meets an unknown one, in Meilisearch's order: a
/// listing's own (`extra`: `limit`, `from`, ...) first, then its filters.
fn expected(extra: &[&'static str]) -> Vec<&'static str> {
    let ids: [&str; 2] = match extra.is_empty() {
        true => ["uids", "batchUids"],
        false => ["batchUids", "uids"],
    };
    let mut all = extra.to_vec();
    all.extend(ids);
    all.extend(["canceledBy", "types", "statuses", "indexUids"]);
    all.extend([
        "afterEnqueuedAt",
        "beforeEnqueuedAt",
        "afterStartedAt",
        "beforeStartedAt",
        "afterFinishedAt",
        "beforeFinishedAt",
    ]);
    all
}

/// A route's parameters other than filters, by name.
pub type Params = Vec<(&'static str, String)>;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct TaskFilter {
    pub uids: Option<Vec<u64>>,
    /// `batchUids`: the batches the tasks ran in.
    pub batch_uids: Option<Vec<u64>>,
    pub index_uids: Vec<String>,
    pub statuses: Vec<String>,
    pub types: Vec<String>,
    pub canceled_by: Option<Vec<u64>>,
    /// (parameter, bound in ms since the epoch).
    pub dates: Vec<(&'static str, u64)>,
    /// Whether any filter was given, if only `*`.
    pub given: bool,
}

/// `reverse` of a task or batch listing: exactly `true` or `false`.
pub fn reverse(v: &str) -> Result<bool, MeiliError> {
    v.parse().map_err(|_| {
        MeiliError::invalid(
            "invalid_task_reverse",
            format!("Invalid value in parameter `reverse`: could not parse `{v}` as a boolean, expected either `true` or `false`"),
        )
    })
}

fn numbers(name: &str, code: &'static str, v: &str) -> Result<Option<Vec<u64>>, MeiliError> {
    let items: Vec<&str> = v.split(',').map(str::trim).collect();
    if items.contains(&"*") {
        return Ok(None);
    }
    items
        .iter()
        .map(|x| positive_integer(name, code, x))
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
            let known = FILTERS.iter().chain([&BATCH_UIDS]).find(|(n, _)| n == k);
            let Some(&(name, code)) = known else {
                match extra.iter().find(|e| **e == k) {
                    Some(e) => rest.push((*e, v.clone())),
                    None => return Err(unknown(k, &expected(extra))),
                }
                continue;
            };
            f.given = true;
            match name {
                "uids" => f.uids = numbers(name, code, v)?,
                "batchUids" => f.batch_uids = numbers(name, code, v)?,
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
}

/// Meilisearch's `missing_task_filters` for a route that changes tasks.
pub fn missing_filters(verb: &str) -> MeiliError {
    let list: Vec<String> = FILTERS.iter().map(|(n, _)| format!("`{n}`")).collect();
    MeiliError::invalid(
        "missing_task_filters",
        format!("Query parameters to filter the tasks to {verb} are missing. Available query parameters are: {}.", list.join(", ")),
    )
}

/// A query string as axum hands it over, for tests.
#[cfg(test)]
pub(crate) fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::meili::task_filter::query as q;

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
        assert_eq!(err(&[("batchUids", "x")]), "invalid_batch_uids");
        let (f, _) = TaskFilter::parse(&q(&[("batchUids", "4")]), &[]).unwrap();
        assert_eq!(f.batch_uids, Some(vec![4]));
        assert!(TaskFilter::parse(&[], &[]).unwrap().0.is_empty());
        assert!(!TaskFilter::parse(&q(&[("statuses", "*")]), &[])
            .unwrap()
            .0
            .is_empty());
    }

    /// Recorded from Meilisearch 1.50 (`GET /tasks?reverse=TRUE`; batches give the same code).
    #[test]
    fn reverse_is_strictly_true_or_false() {
        assert!(reverse("true").unwrap());
        assert!(!reverse("false").unwrap());
        let e = reverse("TRUE").unwrap_err();
        assert_eq!(e.code, "invalid_task_reverse");
        assert_eq!(e.message, "Invalid value in parameter `reverse`: could not parse `TRUE` as a boolean, expected either `true` or `false`");
    }

    /// An unknown parameter gets the list Meilisearch 1.50 gives, in its order (recorded from a
    /// real server: a listing names its own parameters first, and `batchUids` before `uids`).
    #[test]
    fn unknown_parameters_list_what_the_route_takes() {
        let msg = |extra: &[&'static str]| {
            TaskFilter::parse(&q(&[("foo", "1")]), extra)
                .unwrap_err()
                .message
        };
        assert_eq!(
            msg(&["limit", "from", "reverse"]),
            "Unknown parameter `foo`: expected one of `limit`, `from`, `reverse`, `batchUids`, `uids`, `canceledBy`, `types`, `statuses`, `indexUids`, `afterEnqueuedAt`, `beforeEnqueuedAt`, `afterStartedAt`, `beforeStartedAt`, `afterFinishedAt`, `beforeFinishedAt`"
        );
        assert_eq!(
            msg(&[]),
            "Unknown parameter `foo`: expected one of `uids`, `batchUids`, `canceledBy`, `types`, `statuses`, `indexUids`, `afterEnqueuedAt`, `beforeEnqueuedAt`, `afterStartedAt`, `beforeStartedAt`, `afterFinishedAt`, `beforeFinishedAt`"
        );
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
