//! Bringing one copy up to date with a page read from another: the documents the copy lacks, or
//! holds at an older version, or at the same version with other content (it missed a partial
//! update), are written to it verbatim; a document the copy holds at a newer version is left
//! alone (a client wrote it since the page was read).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::fleet::{version_of, IndexChange, NodeClient, VersionedDoc, VersionedPages, WriteMode};
use crate::state::fingerprint::{fingerprint, Fingerprint};
use crate::state::{ShardId, Version};

/// Documents read or deleted per request.
const PAGE: usize = 1_000;

/// The copy a repair writes to.
#[derive(Clone)]
pub struct Target<'a> {
    pub nodes: &'a NodeClient,
    pub base: &'a str,
    pub index: &'a str,
    pub primary_key: &'a str,
}

impl Target<'_> {
    /// Applies `tombstones` to the copy's `shards` (only to documents not newer than each).
    pub async fn apply_tombstones(
        &self,
        shards: &[ShardId],
        tombstones: &[crate::state::tombstones::Tombstone],
    ) -> Result<crate::fleet::tombstones::Applied, String> {
        self.nodes
            .apply_tombstones(self.base, self.index, self.primary_key, shards, tombstones)
            .await
            .map_err(|e| format!("applying tombstones on {}: {e}", self.base))
    }
}

/// What bringing a copy up to date with one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    pub written: u64,
    /// The node task of the write, if one was needed.
    pub task: Option<u64>,
}

/// A document id in the canonical form placement and tombstones use.
pub fn id_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `copy` must be overwritten with `source`. Equal versions with other content are
/// settled by `source_wins_ties` (a serving source's content is the truth; when merging copies
/// none of which serves, a tie is left as it is).
pub fn needs_write(source: Fingerprint, copy: Option<Fingerprint>, source_wins_ties: bool) -> bool {
    match copy {
        None => true,
        Some(c) if c.version < source.version => true,
        Some(c) => c.version == source.version && c.hash != source.hash && source_wins_ties,
    }
}

/// A document as it is written back: verbatim, less an empty `_vectors` (a node without
/// embedders returns one, and an index without embedders may refuse it).
pub(crate) fn writable(mut doc: Value) -> Value {
    if let Value::Object(m) = &mut doc {
        if m.get("_vectors")
            .is_some_and(|v| v.as_object().is_some_and(|o| o.is_empty()))
        {
            m.remove("_vectors");
        }
    }
    doc
}

/// Writes to `target` what of `page` (documents of `shards` read from another copy) it lacks.
pub async fn sync_page(
    target: &Target<'_>,
    shards: &[ShardId],
    page: Vec<VersionedDoc>,
    source_wins_ties: bool,
) -> Result<Synced, String> {
    let pk = target.primary_key;
    let ids: Vec<Value> = page.iter().filter_map(|d| d.doc.get(pk).cloned()).collect();
    let held = target
        .nodes
        .fetch_ids(target.base, target.index, shards, &ids, None)
        .await
        .map_err(|e| format!("reading the copy on {}: {e}", target.base))?;
    let held: BTreeMap<String, Fingerprint> = held
        .iter()
        .filter_map(|d| Some((id_key(d.get(pk)?)?, fingerprint(d, version_of(d)))))
        .collect();
    let stale: Vec<Value> = page
        .into_iter()
        .filter(|d| {
            let Some(id) = d.doc.get(pk).and_then(id_key) else {
                return false;
            };
            let source = fingerprint(&d.doc, d.version);
            needs_write(source, held.get(&id).copied(), source_wins_ties)
        })
        .map(|d| writable(d.doc))
        .collect();
    if stale.is_empty() {
        return Ok(Synced::default());
    }
    let written = stale.len() as u64;
    let enqueued = target
        .nodes
        .write_batch(target.base, target.index, pk, stale, WriteMode::Replace)
        .await
        .map_err(|e| format!("writing to the copy on {}: {e}", target.base))?;
    Ok(Synced {
        written,
        task: Some(enqueued.task_uid),
    })
}

/// Deletes from the copy every document of `shard` at a version not newer than `newest` that
/// `source` (a serving copy) no longer holds: a delete by filter judged the source's newer
/// content, which the copy's older content may not match. Returns how many.
pub async fn delete_absent_on_source(
    target: &Target<'_>,
    shard: ShardId,
    source: &str,
    newest: Version,
) -> Result<u64, String> {
    let pk = target.primary_key;
    let mut old = vec![];
    let mut pages = VersionedPages::new(
        target.nodes,
        target.base,
        target.index,
        &[shard],
        Version::ZERO,
        PAGE,
    )
    .fields(&[pk]);
    'read: while let Some(page) = pages
        .next_page()
        .await
        .map_err(|e| format!("reading shard {} from {}: {e}", shard.0, target.base))?
    {
        for d in page {
            if d.version > newest {
                break 'read;
            }
            if let Some(id) = d.doc.get(pk) {
                old.push(id.clone());
            }
        }
    }
    let mut gone = 0;
    for chunk in old.chunks(PAGE) {
        let held = target
            .nodes
            .fetch_ids(source, target.index, &[shard], chunk, Some(&[pk]))
            .await
            .map_err(|e| format!("reading shard {} from {source}: {e}", shard.0))?;
        let held: std::collections::BTreeSet<String> = held
            .iter()
            .filter_map(|d| d.get(pk).and_then(id_key))
            .collect();
        let missing: Vec<Value> = chunk
            .iter()
            .filter(|id| id_key(id).is_some_and(|k| !held.contains(&k)))
            .cloned()
            .collect();
        if missing.is_empty() {
            continue;
        }
        gone += missing.len() as u64;
        target
            .nodes
            .apply(
                target.base,
                target.index,
                &IndexChange::DeleteBatch(Value::Array(missing)),
            )
            .await
            .map_err(|e| format!("deleting from {}: {e}", target.base))?;
    }
    Ok(gone)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fp(v: u64, hash: u64) -> Fingerprint {
        Fingerprint {
            version: Version(v),
            hash,
        }
    }

    /// Missing and older copies are written; newer ones never; a tie with other content only
    /// when the source's content is the truth.
    #[test]
    fn only_what_is_missing_or_older_is_written() {
        assert!(needs_write(fp(2, 1), None, true));
        assert!(needs_write(fp(2, 1), Some(fp(1, 1)), false));
        assert!(!needs_write(fp(2, 1), Some(fp(3, 9)), true));
        assert!(!needs_write(fp(2, 1), Some(fp(2, 1)), true));
        assert!(needs_write(fp(2, 1), Some(fp(2, 5)), true));
        assert!(!needs_write(fp(2, 1), Some(fp(2, 5)), false));
    }

    #[test]
    fn ids_and_written_documents() {
        assert_eq!(id_key(&json!("a")), Some("a".into()));
        assert_eq!(id_key(&json!(12)), Some("12".into()));
        assert_eq!(id_key(&json!(1.5)), None);
        assert_eq!(writable(json!({"id": 1, "_vectors": {}})), json!({"id": 1}));
        let own = json!({"id": 1, "_vectors": {"e": [0.5]}});
        assert_eq!(writable(own.clone()), own);
    }
}
