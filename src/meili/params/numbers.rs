//! Numbers in query strings and paths, as Meilisearch reads them.

use crate::meili::MeiliError;

/// A parameter the route does not take, refused as Meilisearch does (`bad_request`).
pub fn unknown(name: &str, allowed: &[&str]) -> MeiliError {
    let list: Vec<String> = allowed.iter().map(|a| format!("`{a}`")).collect();
    MeiliError::bad_request(format!(
        "Unknown parameter `{name}`: expected one of {}",
        list.join(", ")
    ))
}

/// One query parameter's value as a positive integer, with Meilisearch's error under `code`.
pub fn positive_integer(name: &str, code: &'static str, value: &str) -> Result<u64, MeiliError> {
    value.parse().map_err(|_| {
        MeiliError::invalid(
            code,
            format!("Invalid value in parameter `{name}`: could not parse `{value}` as a positive integer"),
        )
    })
}

/// A task's or a batch's uid in a path (`/tasks/{uid}`, `/batches/{uid}`); `what` is `Task` or
/// `Batch`, `code` Meilisearch's (`invalid_task_uids`, `invalid_batch_uids`).
pub fn uid_in_path(what: &str, code: &'static str, value: &str) -> Result<u64, MeiliError> {
    value.parse().map_err(|_| {
        MeiliError::invalid(
            code,
            format!("{what} uid `{value}` is invalid. It should only contain numeric characters."),
        )
    })
}

/// A parameter that holds a positive integer (`limit`, `offset`, `from`), with Meilisearch's
/// error (under `code`) when it does not parse; `None` when it is absent.
pub fn number<K: AsRef<str>>(
    params: &[(K, String)],
    name: &str,
    code: &'static str,
) -> Result<Option<u64>, MeiliError> {
    params
        .iter()
        .find(|(k, _)| k.as_ref() == name)
        .map(|(_, v)| positive_integer(name, code, v))
        .transpose()
}

/// A query string's pairs, for tests.
#[cfg(test)]
pub fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_parse_with_meilisearch_errors() {
        let q = vec![
            ("limit".to_string(), "3".to_string()),
            ("from".into(), "x".into()),
        ];
        assert_eq!(number(&q, "limit", "invalid_task_limit").unwrap(), Some(3));
        assert_eq!(number(&q, "offset", "invalid_task_offset").unwrap(), None);
        let e = number(&q, "from", "invalid_task_from").unwrap_err();
        assert_eq!(e.code, "invalid_task_from");
        assert_eq!(
            e.message,
            "Invalid value in parameter `from`: could not parse `x` as a positive integer"
        );
    }

    /// Recorded from Meilisearch 1.50: `GET /tasks/x` and `GET /batches/x`.
    #[test]
    fn uids_in_paths_parse_with_meilisearch_errors() {
        assert_eq!(uid_in_path("Task", "invalid_task_uids", "12").unwrap(), 12);
        let e = uid_in_path("Batch", "invalid_batch_uids", "x").unwrap_err();
        assert_eq!(e.code, "invalid_batch_uids");
        assert_eq!(
            e.message,
            "Batch uid `x` is invalid. It should only contain numeric characters."
        );
    }
}
