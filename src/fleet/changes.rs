//! The changes every node holding an index must carry out alike (index updates and deletion,
//! settings, document deletions), as typed values: the router broadcasts them for clients, and the
//! coordinators' workflows can send the same ones. Each maps to one Meilisearch route here, and
//! nowhere else.

use reqwest::Method;
use serde_json::Value;

use crate::fleet::node_tasks::Enqueued;
use crate::fleet::{NodeClient, NodeError};
use crate::state::tombstones::Deleted;

/// How a single setting is written: `PUT` replaces it, `PATCH` merges into it (for the settings
/// that are objects, such as `embedders`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingWrite {
    Replace,
    Merge,
}

/// One change to an index on one node.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexChange {
    /// `PATCH /indexes/{uid}` (the primary key and the like).
    UpdateIndex(Value),
    DeleteIndex,
    /// `PATCH /indexes/{uid}/settings` with these settings.
    UpdateSettings(Value),
    /// `DELETE /indexes/{uid}/settings`: every setting back to its default.
    ResetSettings,
    /// One setting by its route name (`filterable-attributes`, ...).
    SetSetting {
        name: String,
        how: SettingWrite,
        value: Value,
    },
    ResetSetting(String),
    DeleteDocument(String),
    /// `POST /indexes/{uid}/documents/delete-batch` with these ids.
    DeleteBatch(Value),
    /// `POST /indexes/{uid}/documents/delete` with this body (`{"filter": ...}`).
    DeleteByFilter(Value),
    DeleteAllDocuments,
    /// `POST /indexes/{uid}/compact`: the node rewrites its copy's files smaller.
    Compact,
}

impl IndexChange {
    /// The Meilisearch request that carries the change out on one node.
    fn request(&self, index: &str) -> (Method, String, Option<&Value>) {
        let at = |tail: &str| format!("/indexes/{index}{tail}");
        match self {
            IndexChange::UpdateIndex(body) => (Method::PATCH, at(""), Some(body)),
            IndexChange::DeleteIndex => (Method::DELETE, at(""), None),
            IndexChange::UpdateSettings(body) => (Method::PATCH, at("/settings"), Some(body)),
            IndexChange::ResetSettings => (Method::DELETE, at("/settings"), None),
            IndexChange::SetSetting { name, how, value } => {
                let method = match how {
                    SettingWrite::Replace => Method::PUT,
                    SettingWrite::Merge => Method::PATCH,
                };
                (method, at(&format!("/settings/{name}")), Some(value))
            }
            IndexChange::ResetSetting(name) => {
                (Method::DELETE, at(&format!("/settings/{name}")), None)
            }
            IndexChange::DeleteDocument(id) => {
                (Method::DELETE, at(&format!("/documents/{id}")), None)
            }
            IndexChange::DeleteBatch(ids) => {
                (Method::POST, at("/documents/delete-batch"), Some(ids))
            }
            IndexChange::DeleteByFilter(body) => {
                (Method::POST, at("/documents/delete"), Some(body))
            }
            IndexChange::DeleteAllDocuments => (Method::DELETE, at("/documents"), None),
            IndexChange::Compact => (Method::POST, at("/compact"), None),
        }
    }

    /// What a document deletion removes, for its tombstone; `None` for other
    /// changes and for deletions that remove nothing (no ids, no filter).
    pub fn deleted(&self) -> Option<Deleted> {
        let id = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
            _ => None,
        };
        match self {
            IndexChange::DeleteDocument(one) => Some(Deleted::Ids(vec![one.clone()])),
            IndexChange::DeleteBatch(ids) => {
                let ids: Vec<String> = ids.as_array()?.iter().filter_map(id).collect();
                (!ids.is_empty()).then_some(Deleted::Ids(ids))
            }
            IndexChange::DeleteByFilter(body) => match body.get("filter") {
                None | Some(Value::Null) => None,
                Some(f) => Some(Deleted::Filter(f.to_string())),
            },
            IndexChange::DeleteAllDocuments => Some(Deleted::All),
            _ => None,
        }
    }
}

impl NodeClient {
    /// Sends one change to one node; the node applies it later, as its task.
    pub async fn apply(
        &self,
        base: &str,
        index: &str,
        change: &IndexChange,
    ) -> Result<Enqueued, NodeError> {
        let (method, path, body) = change.request(index);
        let reply = self.call(base, method, &path, body).await?;
        Enqueued::from_reply(base, &reply)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Each change is the Meilisearch route that makes it.
    #[test]
    fn changes_are_meilisearch_routes() {
        let route = |c: IndexChange| {
            let (m, p, b) = c.request("movies");
            (m.to_string(), p, b.cloned())
        };
        assert_eq!(
            route(IndexChange::DeleteIndex),
            ("DELETE".into(), "/indexes/movies".into(), None)
        );
        assert_eq!(
            route(IndexChange::SetSetting {
                name: "embedders".into(),
                how: SettingWrite::Merge,
                value: json!({}),
            }),
            (
                "PATCH".into(),
                "/indexes/movies/settings/embedders".into(),
                Some(json!({}))
            )
        );
        assert_eq!(
            route(IndexChange::DeleteBatch(json!([1, 2]))).1,
            "/indexes/movies/documents/delete-batch"
        );
        assert_eq!(
            route(IndexChange::DeleteByFilter(json!({"filter": "a = 1"}))).1,
            "/indexes/movies/documents/delete"
        );
        assert_eq!(
            route(IndexChange::DeleteAllDocuments),
            ("DELETE".into(), "/indexes/movies/documents".into(), None)
        );
    }

    /// Every kind of document deletion names what its tombstone records.
    #[test]
    fn deletions_name_their_tombstone() {
        let ids = |v: Vec<&str>| Some(Deleted::Ids(v.into_iter().map(String::from).collect()));
        assert_eq!(
            IndexChange::DeleteDocument("a".into()).deleted(),
            ids(vec!["a"])
        );
        assert_eq!(
            IndexChange::DeleteBatch(json!([1, "b"])).deleted(),
            ids(vec!["1", "b"])
        );
        assert_eq!(IndexChange::DeleteBatch(json!([])).deleted(), None);
        assert_eq!(
            IndexChange::DeleteByFilter(json!({"filter": "a = 1"})).deleted(),
            Some(Deleted::Filter("\"a = 1\"".into()))
        );
        assert_eq!(IndexChange::DeleteByFilter(json!({})).deleted(), None);
        assert_eq!(
            IndexChange::DeleteAllDocuments.deleted(),
            Some(Deleted::All)
        );
        assert_eq!(IndexChange::ResetSettings.deleted(), None);
    }
}
