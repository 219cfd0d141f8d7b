//! Query-string parameters as Meilisearch reads them.

use crate::meili::MeiliError;

/// A parameter that holds a positive integer (`limit`, `offset`, `from`), with Meilisearch's
/// error (under `code`) when it does not parse; `None` when it is absent.
pub fn number<K: AsRef<str>>(
    params: &[(K, String)],
    name: &str,
    code: &'static str,
) -> Result<Option<u64>, MeiliError> {
    match params.iter().find(|(k, _)| k.as_ref() == name) {
        None => Ok(None),
        Some((_, v)) => v.parse().map(Some).map_err(|_| {
            MeiliError::invalid(
                code,
                format!("Invalid value in parameter `{name}`: could not parse `{v}` as a positive integer"),
            )
        }),
    }
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
}
