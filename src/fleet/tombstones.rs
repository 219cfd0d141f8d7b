//! Applying tombstones to one copy (DESIGN section 6, I4): what a catch-up, repair or copy does
//! so that no document deleted since the version it reads from survives on the copy it writes.
//!
//! Each delete removes only documents older than the tombstone, so a document written again
//! after the delete stays: deletes by filter and of everything carry that condition in their own
//! filter; deletes by id look the documents up first and delete only the older ones (Meilisearch
//! has no conditional delete by id, so a rewrite landing in between is lost here and put back by
//! the caller's re-check, which compares with a serving copy).

use serde_json::{json, Value};

use crate::fleet::changes::IndexChange;
use crate::fleet::node_tasks::Enqueued;
use crate::fleet::shard_filter::shard_filter;
use crate::fleet::versioned::version_of;
use crate::fleet::{NodeClient, NodeError};
use crate::meili::reserved::VERSION_FIELD;
use crate::state::tombstones::{Deleted, Tombstone};
use crate::state::ShardId;

/// What applying tombstones to a copy did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// The node tasks the deletes made, to wait for.
    pub tasks: Vec<u64>,
    /// Documents deleted by id (deletes by filter are counted by the node).
    pub deleted_by_id: u64,
}

/// Documents `t` deleted if they match it: those not newer than it (a document survives a
/// delete only with a strictly newer version, as `fingerprint::verdict` decides too).
fn not_newer(t: &Tombstone) -> String {
    format!(
        "{VERSION_FIELD} <= {} OR {VERSION_FIELD} NOT EXISTS",
        t.version.0
    )
}

/// The filter that removes what `t` deleted from `shards`, or `None` for deletes by id.
pub fn delete_filter(t: &Tombstone, shards: &[ShardId]) -> Option<Value> {
    let mut all = vec![json!(shard_filter(shards)), json!(not_newer(t))];
    match &t.deleted {
        Deleted::Ids(_) => return None,
        Deleted::All => {}
        Deleted::Filter(f) => match serde_json::from_str::<Value>(f) {
            // The client's filter in either of its forms, ANDed as it stands.
            Ok(Value::Array(items)) => all.extend(items),
            Ok(other) => all.push(other),
            Err(_) => all.push(Value::String(f.clone())),
        },
    }
    Some(Value::Array(all))
}

impl NodeClient {
    /// Applies `tombstones` (oldest first) to the copy of `shards` on one node.
    pub async fn apply_tombstones(
        &self,
        base: &str,
        index: &str,
        primary_key: &str,
        shards: &[ShardId],
        tombstones: &[Tombstone],
    ) -> Result<Applied, NodeError> {
        let mut applied = Applied::default();
        for t in tombstones {
            let enqueued = match (&t.deleted, delete_filter(t, shards)) {
                (_, Some(filter)) => Some(
                    self.apply(
                        base,
                        index,
                        &IndexChange::DeleteByFilter(json!({ "filter": filter })),
                    )
                    .await?,
                ),
                (Deleted::Ids(ids), None) => {
                    self.delete_older(base, index, primary_key, shards, ids, t, &mut applied)
                        .await?
                }
                (_, None) => None,
            };
            if let Some(Enqueued { task_uid }) = enqueued {
                applied.tasks.push(task_uid);
            }
        }
        Ok(applied)
    }

    #[allow(clippy::too_many_arguments)]
    async fn delete_older(
        &self,
        base: &str,
        index: &str,
        primary_key: &str,
        shards: &[ShardId],
        ids: &[String],
        t: &Tombstone,
        applied: &mut Applied,
    ) -> Result<Option<Enqueued>, NodeError> {
        let fields = [primary_key, VERSION_FIELD];
        let ids: Vec<Value> = ids.iter().cloned().map(Value::String).collect();
        let held = self
            .fetch_ids(base, index, shards, &ids, Some(&fields))
            .await?;
        let older: Vec<Value> = held
            .iter()
            .filter(|d| version_of(d) <= t.version)
            .filter_map(|d| d.get(primary_key).cloned())
            .collect();
        if older.is_empty() {
            return Ok(None);
        }
        applied.deleted_by_id += older.len() as u64;
        let change = IndexChange::DeleteBatch(Value::Array(older));
        self.apply(base, index, &change).await.map(Some)
    }

    /// The uid of the newest task a node has accepted (`None` when it has none): waiting for it
    /// waits for everything the node was sent before.
    pub async fn latest_task(&self, base: &str) -> Result<Option<u64>, NodeError> {
        let v = self
            .call(base, reqwest::Method::GET, "/tasks?limit=1", None)
            .await?;
        Ok(v["results"]
            .as_array()
            .and_then(|r| r.first())
            .and_then(|t| t["uid"].as_u64()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Version;

    fn t(deleted: Deleted) -> Tombstone {
        Tombstone {
            version: Version(50),
            task: None,
            deleted,
        }
    }

    /// Deletes by filter and of everything keep to the shards and to older documents; the
    /// client's filter is ANDed in either of its forms.
    #[test]
    fn deletes_are_conditional_on_version() {
        let s = [ShardId(3)];
        let older = "_miroir_version <= 50 OR _miroir_version NOT EXISTS";
        assert_eq!(
            delete_filter(&t(Deleted::All), &s),
            Some(json!(["_miroir_shard IN [3]", older]))
        );
        assert_eq!(
            delete_filter(&t(Deleted::Filter("\"a = 1\"".into())), &s),
            Some(json!(["_miroir_shard IN [3]", older, "a = 1"]))
        );
        assert_eq!(
            delete_filter(
                &t(Deleted::Filter(r#"["a = 1", ["b = 2", "b = 3"]]"#.into())),
                &s
            ),
            Some(json!([
                "_miroir_shard IN [3]",
                older,
                "a = 1",
                ["b = 2", "b = 3"]
            ]))
        );
        assert_eq!(delete_filter(&t(Deleted::Ids(vec!["x".into()])), &s), None);
    }
}
