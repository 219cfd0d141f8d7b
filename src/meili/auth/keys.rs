//! What an API key grants, as Meilisearch decides it: its actions (with their wildcards), its
//! index patterns, and its expiry. The router checks keys by these rules and the devnode imitates
//! a node with them, so the two cannot drift.

/// Actions a key may be given (`X.*` and `*.get` wildcards are accepted on top of these).
pub const ACTIONS: [&str; 36] = [
    "*",
    "search",
    "documents.*",
    "documents.add",
    "documents.get",
    "documents.delete",
    "indexes.*",
    "indexes.create",
    "indexes.get",
    "indexes.update",
    "indexes.delete",
    "indexes.swap",
    "tasks.*",
    "tasks.cancel",
    "tasks.delete",
    "tasks.get",
    "settings.*",
    "settings.get",
    "settings.update",
    "stats.*",
    "stats.get",
    "metrics.*",
    "metrics.get",
    "dumps.*",
    "dumps.create",
    "snapshots.*",
    "snapshots.create",
    "version",
    "keys.create",
    "keys.get",
    "keys.update",
    "keys.delete",
    "experimental.get",
    "experimental.update",
    "chatCompletions",
    "*.get",
];

/// Whether a key's `actions` include `action`: itself, `*`, its family's
/// `family.*`, or `*.get` for reads (key reads excepted, as in Meilisearch's
/// read-only admin key, which lists `keys.get` on its own).
pub fn grants_action(granted: &[String], action: &str) -> bool {
    let family = action.split('.').next().unwrap_or(action);
    granted.iter().any(|g| {
        g == "*"
            || g == action
            || g.strip_suffix(".*") == Some(family) && action.contains('.')
            || g == "*.get" && action.ends_with(".get") && action != "keys.get"
    })
}

/// Whether a key's `indexes` patterns cover `index`: `*`, the name itself,
/// or a prefix ending in `*`.
pub fn grants_index(patterns: &[String], index: &str) -> bool {
    patterns.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => index.starts_with(prefix),
        None => p == index,
    })
}

/// Whether a key that expires at `expires` (seconds since the epoch, `None` for never) is still
/// valid at `now`: Meilisearch refuses a key from the second it expires.
pub fn is_live(expires: Option<i64>, now: i64) -> bool {
    expires.is_none_or(|e| now < e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Wildcards: `*`, `family.*`, and `*.get` for every read but key reads.
    #[test]
    fn actions_and_wildcards() {
        assert!(grants_action(&list(&["search"]), "search"));
        assert!(!grants_action(&list(&["search"]), "documents.add"));
        assert!(grants_action(&list(&["*"]), "keys.delete"));
        assert!(grants_action(&list(&["documents.*"]), "documents.delete"));
        assert!(!grants_action(&list(&["documents.*"]), "indexes.get"));
        assert!(!grants_action(&list(&["search.*"]), "search"));
        assert!(grants_action(&list(&["*.get"]), "settings.get"));
        assert!(!grants_action(&list(&["*.get"]), "keys.get"));
        assert!(!grants_action(&list(&["*.get"]), "settings.update"));
    }

    /// Index patterns: exact names, `*`, and prefixes ending in `*`.
    #[test]
    fn index_patterns() {
        assert!(grants_index(&list(&["*"]), "movies"));
        assert!(grants_index(&list(&["movies"]), "movies"));
        assert!(!grants_index(&list(&["movies"]), "movies2"));
        assert!(grants_index(&list(&["mov*"]), "movies"));
        assert!(!grants_index(&list(&["mov*"]), "books"));
        assert!(!grants_index(&list(&[]), "movies"));
    }

    #[test]
    fn a_key_expires_at_its_second() {
        assert!(is_live(None, i64::MAX));
        assert!(is_live(Some(100), 99));
        assert!(!is_live(Some(100), 100));
    }
}
