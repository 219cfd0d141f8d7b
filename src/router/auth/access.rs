//! Meilisearch's authorization rules: the action (and the index) each route
//! needs, and whether an API key's actions, index patterns and expiry grant
//! them. One table for every route, so a new route is refused to API keys
//! until it is listed here.

use axum::http::Method;
use serde_json::Value;

use crate::meili::keys::{grants_action, grants_index, is_live};
use crate::meili::stamp;

/// Where the index a request acts on is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Not one index: listings, tasks, keys, version.
    Global,
    /// `/indexes/{uid}/...`.
    Path(String),
    /// The `uid` of the JSON body (index creation).
    BodyUid,
    /// `queries[].indexUid` of the JSON body (multi-search).
    BodyQueries,
    /// `[].indexes[]` of the JSON body (index swap).
    BodySwaps,
}

/// What a request needs from the key it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub action: &'static str,
    pub target: Target,
}

/// The action and index of `method path`, as Meilisearch checks them; `None`
/// for routes this table does not know (only the master key may use them).
pub fn need(method: &Method, path: &str) -> Option<Need> {
    use Target::*;
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let index = |uid: &str| Path(uid.to_string());
    let (action, target) = match (method.as_str(), segs.as_slice()) {
        ("GET", ["version"]) => ("version", Global),
        ("GET", ["stats"]) => ("stats.get", Global),
        ("GET", ["indexes"]) => ("indexes.get", Global),
        ("POST", ["indexes"]) => ("indexes.create", BodyUid),
        ("GET", ["indexes", uid]) => ("indexes.get", index(uid)),
        ("PATCH", ["indexes", uid]) => ("indexes.update", index(uid)),
        ("DELETE", ["indexes", uid]) => ("indexes.delete", index(uid)),
        ("GET" | "POST", ["indexes", uid, "search" | "similar"]) => ("search", index(uid)),
        ("POST", ["indexes", uid, "facet-search"]) => ("search", index(uid)),
        ("GET", ["indexes", uid, "stats"]) => ("stats.get", index(uid)),
        ("POST", ["indexes", uid, "compact"]) => ("indexes.compact", index(uid)),
        ("POST", ["indexes", uid, "fields"]) => ("fields.post", index(uid)),
        ("GET", ["indexes", uid, "documents"]) => ("documents.get", index(uid)),
        ("POST" | "PUT", ["indexes", uid, "documents"]) => ("documents.add", index(uid)),
        ("DELETE", ["indexes", uid, "documents"]) => ("documents.delete", index(uid)),
        ("POST", ["indexes", uid, "documents", "fetch"]) => ("documents.get", index(uid)),
        ("POST", ["indexes", uid, "documents", "delete" | "delete-batch"]) => {
            ("documents.delete", index(uid))
        }
        ("POST", ["indexes", uid, "documents", "edit"]) => ("documents.*", index(uid)),
        ("GET", ["indexes", uid, "documents", _]) => ("documents.get", index(uid)),
        ("DELETE", ["indexes", uid, "documents", _]) => ("documents.delete", index(uid)),
        ("GET", ["indexes", uid, "settings", ..]) => ("settings.get", index(uid)),
        ("PATCH" | "PUT" | "POST" | "DELETE", ["indexes", uid, "settings", ..]) => {
            ("settings.update", index(uid))
        }
        ("POST", ["multi-search"]) => ("search", BodyQueries),
        ("POST", ["swap-indexes"]) => ("indexes.swap", BodySwaps),
        ("GET", ["tasks"]) => ("tasks.get", Global),
        ("DELETE", ["tasks"]) => ("tasks.delete", Global),
        ("POST", ["tasks", "cancel"]) => ("tasks.cancel", Global),
        ("POST", ["tasks", "compact"]) => ("tasks.compact", Global),
        ("GET", ["tasks", _]) => ("tasks.get", Global),
        ("GET", ["batches"] | ["batches", _]) => ("tasks.get", Global),
        ("GET", ["keys"] | ["keys", _]) => ("keys.get", Global),
        ("POST", ["keys"]) => ("keys.create", Global),
        ("PATCH", ["keys", _]) => ("keys.update", Global),
        ("DELETE", ["keys", _]) => ("keys.delete", Global),
        ("GET", ["experimental-features"]) => ("experimental.get", Global),
        ("PATCH", ["experimental-features"]) => ("experimental.update", Global),
        ("GET", ["network"]) => ("network.get", Global),
        ("PATCH", ["network"]) => ("network.update", Global),
        ("POST", ["dumps"]) => ("dumps.create", Global),
        ("POST", ["snapshots"]) => ("snapshots.create", Global),
        ("POST", ["export"]) => ("export", Global),
        // It reads a document and an index's settings; Meilisearch asks for both.
        ("POST", ["render-template"]) => ("documents.get", Global),
        ("GET", ["metrics"]) => ("metrics.get", Global),
        ("GET", ["webhooks", ..]) => ("webhooks.get", Global),
        ("POST", ["webhooks"]) => ("webhooks.create", Global),
        ("PATCH", ["webhooks", _]) => ("webhooks.update", Global),
        ("DELETE", ["webhooks", _]) => ("webhooks.delete", Global),
        _ => return None,
    };
    Some(Need { action, target })
}

/// An API key as a node describes it (`GET /keys/{key}`).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiKey {
    pub key: String,
    pub uid: String,
    pub actions: Vec<String>,
    pub indexes: Vec<String>,
    /// `expiresAt` in seconds since the epoch.
    pub expires: Option<i64>,
}

impl ApiKey {
    pub fn from_json(v: &Value) -> Option<ApiKey> {
        let strings = |f: &str| -> Option<Vec<String>> {
            v[f].as_array()?
                .iter()
                .map(|x| x.as_str().map(String::from))
                .collect()
        };
        let expires = match &v["expiresAt"] {
            Value::Null => None,
            Value::String(s) => Some(stamp::parse_rfc3339(s)?),
            _ => return None,
        };
        Some(ApiKey {
            key: v["key"].as_str()?.to_string(),
            uid: v["uid"].as_str()?.to_string(),
            actions: strings("actions")?,
            indexes: strings("indexes")?,
            expires,
        })
    }

    /// Whether the key may do `action` on every index of `indexes` at `now`
    /// (seconds since the epoch).
    pub fn allows(&self, action: &str, indexes: &[String], now: i64) -> bool {
        is_live(self.expires, now)
            && grants_action(&self.actions, action)
            && indexes.iter().all(|i| grants_index(&self.indexes, i))
    }
}

/// The indexes a JSON body names for `target` (`None` if the body does not
/// have the expected shape: the handler then reports the error).
pub fn body_indexes(target: &Target, body: &Value) -> Option<Vec<String>> {
    let text = |v: &Value| v.as_str().map(String::from);
    match target {
        Target::BodyUid => Some(vec![text(&body["uid"])?]),
        Target::BodyQueries => body["queries"]
            .as_array()?
            .iter()
            .map(|q| text(&q["indexUid"]))
            .collect(),
        Target::BodySwaps => {
            let mut all = vec![];
            for swap in body.as_array()? {
                for i in swap["indexes"].as_array()? {
                    all.push(text(i)?);
                }
            }
            Some(all)
        }
        Target::Global | Target::Path(_) => Some(vec![]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn action(method: Method, path: &str) -> Option<(&'static str, Target)> {
        need(&method, path).map(|n| (n.action, n.target))
    }

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    /// Every route the router serves maps to Meilisearch's action and index.
    #[test]
    fn routes_map_to_actions() {
        let p = |uid: &str| Target::Path(uid.into());
        let cases = [
            (Method::GET, "/version", "version", Target::Global),
            (Method::GET, "/stats", "stats.get", Target::Global),
            (Method::GET, "/indexes", "indexes.get", Target::Global),
            (Method::POST, "/indexes", "indexes.create", Target::BodyUid),
            (Method::GET, "/indexes/movies", "indexes.get", p("movies")),
            (
                Method::PATCH,
                "/indexes/movies",
                "indexes.update",
                p("movies"),
            ),
            (
                Method::DELETE,
                "/indexes/movies",
                "indexes.delete",
                p("movies"),
            ),
            (Method::GET, "/indexes/movies/search", "search", p("movies")),
            (
                Method::POST,
                "/indexes/movies/search",
                "search",
                p("movies"),
            ),
            (Method::POST, "/indexes/m/facet-search", "search", p("m")),
            (Method::GET, "/indexes/m/stats", "stats.get", p("m")),
            (Method::GET, "/indexes/m/documents", "documents.get", p("m")),
            (
                Method::POST,
                "/indexes/m/documents",
                "documents.add",
                p("m"),
            ),
            (Method::PUT, "/indexes/m/documents", "documents.add", p("m")),
            (
                Method::DELETE,
                "/indexes/m/documents",
                "documents.delete",
                p("m"),
            ),
            (
                Method::POST,
                "/indexes/m/documents/fetch",
                "documents.get",
                p("m"),
            ),
            (
                Method::POST,
                "/indexes/m/documents/delete",
                "documents.delete",
                p("m"),
            ),
            (
                Method::POST,
                "/indexes/m/documents/delete-batch",
                "documents.delete",
                p("m"),
            ),
            (
                Method::GET,
                "/indexes/m/documents/7",
                "documents.get",
                p("m"),
            ),
            (
                Method::DELETE,
                "/indexes/m/documents/7",
                "documents.delete",
                p("m"),
            ),
            (Method::GET, "/indexes/m/settings", "settings.get", p("m")),
            (
                Method::GET,
                "/indexes/m/settings/synonyms",
                "settings.get",
                p("m"),
            ),
            (
                Method::PATCH,
                "/indexes/m/settings",
                "settings.update",
                p("m"),
            ),
            (
                Method::PUT,
                "/indexes/m/settings/synonyms",
                "settings.update",
                p("m"),
            ),
            (
                Method::DELETE,
                "/indexes/m/settings",
                "settings.update",
                p("m"),
            ),
            (Method::POST, "/multi-search", "search", Target::BodyQueries),
            (
                Method::POST,
                "/swap-indexes",
                "indexes.swap",
                Target::BodySwaps,
            ),
            (Method::GET, "/tasks", "tasks.get", Target::Global),
            (Method::GET, "/tasks/3", "tasks.get", Target::Global),
            (
                Method::POST,
                "/tasks/cancel",
                "tasks.cancel",
                Target::Global,
            ),
            (Method::DELETE, "/tasks", "tasks.delete", Target::Global),
            (Method::GET, "/batches", "tasks.get", Target::Global),
            (Method::GET, "/batches/3", "tasks.get", Target::Global),
            (Method::GET, "/keys", "keys.get", Target::Global),
            (Method::POST, "/keys", "keys.create", Target::Global),
            (Method::GET, "/keys/abc", "keys.get", Target::Global),
            (Method::PATCH, "/keys/abc", "keys.update", Target::Global),
            (Method::DELETE, "/keys/abc", "keys.delete", Target::Global),
            (
                Method::GET,
                "/experimental-features",
                "experimental.get",
                Target::Global,
            ),
            (
                Method::PATCH,
                "/experimental-features",
                "experimental.update",
                Target::Global,
            ),
            (Method::POST, "/webhooks", "webhooks.create", Target::Global),
        ];
        for (m, path, want, target) in cases {
            assert_eq!(action(m.clone(), path), Some((want, target)), "{m} {path}");
        }
        assert_eq!(action(Method::GET, "/nowhere"), None);
        assert_eq!(action(Method::PUT, "/indexes/m"), None);
    }

    /// A key allows an action on indexes only while it has not expired.
    #[test]
    fn keys_allow_until_they_expire() {
        let k = ApiKey::from_json(&json!({
            "key": "k", "uid": "u", "actions": ["search"], "indexes": ["movies"],
            "expiresAt": "2030-01-01T00:00:00Z",
        }))
        .unwrap();
        let before = stamp::parse_rfc3339("2029-12-31").unwrap();
        assert!(k.allows("search", &list(&["movies"]), before));
        assert!(!k.allows("search", &list(&["books"]), before));
        assert!(!k.allows("documents.add", &list(&["movies"]), before));
        assert!(!k.allows("search", &list(&["movies"]), before + 2 * 86_400));
        assert!(ApiKey::from_json(&json!({"key": "k"})).is_none());
    }

    /// Indexes named in bodies: creation, multi-search queries, swaps.
    #[test]
    fn indexes_in_bodies() {
        let b = json!({"queries": [{"indexUid": "a"}, {"indexUid": "b"}]});
        assert_eq!(
            body_indexes(&Target::BodyQueries, &b),
            Some(list(&["a", "b"]))
        );
        let b = json!([{"indexes": ["a", "b"]}, {"indexes": ["c", "d"]}]);
        assert_eq!(
            body_indexes(&Target::BodySwaps, &b),
            Some(list(&["a", "b", "c", "d"]))
        );
        let b = json!({"uid": "movies"});
        assert_eq!(body_indexes(&Target::BodyUid, &b), Some(list(&["movies"])));
        assert_eq!(body_indexes(&Target::BodyUid, &json!({})), None);
    }
}
