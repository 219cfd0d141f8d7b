//! A shard's documents on one node in `_miroir_version` order, from a version cursor (DESIGN
//! section 9): the read every copy, catch-up, repair and anti-entropy pass shares.
//!
//! The cursor is a version, not an offset, so the read stays correct while clients write: a write
//! gives its document a newer version, which sorts after everything already read. Pages end only
//! on a version boundary; a run of documents that share one version (one batch's documents in one
//! shard) is read whole in one request, because an offset inside a run would skip a document when
//! another one of the run is rewritten meanwhile. Unversioned documents (written straight to a
//! node) count as version 0 and come first, as one run.

use serde_json::{json, Map, Value};

use crate::fleet::shard_filter::shard_filter;
use crate::fleet::{NodeClient, NodeError};
use crate::meili::reserved::VERSION_FIELD;
use crate::state::{ShardId, Version};

/// Where a versioned read stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cursor {
    /// Unversioned documents are still to come (only when starting from version 0).
    Unversioned,
    /// Documents of this version and newer are still to come.
    From(Version),
    Done,
}

/// A document read by version: the document as the node returns it and the version it carries.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionedDoc {
    pub version: Version,
    pub doc: Value,
}

/// The version a node's document carries (0 when it has none).
pub fn version_of(doc: &Value) -> Version {
    Version(doc.get(VERSION_FIELD).and_then(Value::as_u64).unwrap_or(0))
}

/// Reads some shards of one node from a version on, a page at a time.
pub struct VersionedPages<'a> {
    nodes: &'a NodeClient,
    base: String,
    index: String,
    shards: String,
    page_size: usize,
    fields: Option<Vec<String>>,
    cursor: Cursor,
}

impl<'a> VersionedPages<'a> {
    /// Documents of `shards` with a version of at least `from` (from 0: every document).
    pub fn new(
        nodes: &'a NodeClient,
        base: &str,
        index: &str,
        shards: &[ShardId],
        from: Version,
        page_size: usize,
    ) -> Self {
        VersionedPages {
            nodes,
            base: base.to_string(),
            index: index.to_string(),
            shards: shard_filter(shards),
            page_size: page_size.max(1),
            fields: None,
            cursor: match from {
                Version::ZERO => Cursor::Unversioned,
                v => Cursor::From(v),
            },
        }
    }

    /// Reads only these attributes (the version is always read).
    pub fn fields(mut self, fields: &[&str]) -> Self {
        let mut f: Vec<String> = fields.iter().map(|f| f.to_string()).collect();
        if !f.iter().any(|x| x == VERSION_FIELD) {
            f.push(VERSION_FIELD.to_string());
        }
        self.fields = Some(f);
        self
    }

    pub fn cursor(&self) -> Cursor {
        self.cursor
    }

    /// The next page (never empty), or `None` once every document was read. A failed read can
    /// be retried: the cursor moves only past pages that arrived.
    pub async fn next_page(&mut self) -> Result<Option<Vec<VersionedDoc>>, NodeError> {
        loop {
            let docs = match self.cursor {
                Cursor::Done => return Ok(None),
                Cursor::Unversioned => {
                    let docs = self.run(&format!("{VERSION_FIELD} NOT EXISTS")).await?;
                    self.cursor = Cursor::From(Version(1));
                    docs
                }
                Cursor::From(from) => self.from(from).await?,
            };
            if !docs.is_empty() {
                return Ok(Some(docs));
            }
        }
    }

    /// One page from version `from`, ending on a version boundary.
    async fn from(&mut self, from: Version) -> Result<Vec<VersionedDoc>, NodeError> {
        let filter = format!("{VERSION_FIELD} >= {}", from.0);
        let (docs, _) = self.fetch(&filter, self.page_size, true).await?;
        let full = docs.len() >= self.page_size;
        let Some(last) = docs.last().map(|d| d.version) else {
            self.cursor = Cursor::Done;
            return Ok(vec![]);
        };
        if !full {
            self.cursor = Cursor::Done;
            return Ok(docs);
        }
        if docs[0].version == last {
            // The whole page is one run: read the run alone, whole.
            self.cursor = next_after(last);
            return self.run(&format!("{VERSION_FIELD} = {}", last.0)).await;
        }
        // The last run may go on past the page: it is read from its start next time.
        self.cursor = Cursor::From(last);
        Ok(docs.into_iter().filter(|d| d.version < last).collect())
    }

    /// Every document matching `filter` in one request.
    async fn run(&self, filter: &str) -> Result<Vec<VersionedDoc>, NodeError> {
        let (_, total) = self.fetch(filter, 0, false).await?;
        if total == 0 {
            return Ok(vec![]);
        }
        // More than counted, in case the run grew in between (it can: two routers may issue the
        // same version); asked again, larger, until a read comes back short of its limit.
        let mut limit = total as usize + 1_000;
        loop {
            let (docs, _) = self.fetch(filter, limit, false).await?;
            if docs.len() < limit {
                return Ok(docs);
            }
            limit *= 2;
        }
    }

    async fn fetch(
        &self,
        filter: &str,
        limit: usize,
        sorted: bool,
    ) -> Result<(Vec<VersionedDoc>, u64), NodeError> {
        let mut body = Map::new();
        body.insert("filter".into(), json!([self.shards, filter]));
        body.insert("limit".into(), json!(limit));
        body.insert("retrieveVectors".into(), json!(true));
        if sorted {
            body.insert("sort".into(), json!([format!("{VERSION_FIELD}:asc")]));
        }
        if let Some(f) = &self.fields {
            body.insert("fields".into(), json!(f));
        }
        let page = self
            .nodes
            .fetch_documents(&self.base, &self.index, body)
            .await?;
        let docs = page
            .docs
            .into_iter()
            .map(|doc| VersionedDoc {
                version: version_of(&doc),
                doc,
            })
            .collect();
        Ok((docs, page.total))
    }
}

fn next_after(v: Version) -> Cursor {
    match v.0.checked_add(1) {
        Some(n) => Cursor::From(Version(n)),
        None => Cursor::Done,
    }
}

impl NodeClient {
    /// The documents of `ids` a node holds in `shards` (those it lacks are simply absent), with
    /// their vectors, in batches small enough for one request each.
    pub async fn fetch_ids(
        &self,
        base: &str,
        index: &str,
        shards: &[ShardId],
        ids: &[Value],
        fields: Option<&[&str]>,
    ) -> Result<Vec<Value>, NodeError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(1_000) {
            let mut body = Map::new();
            body.insert("ids".into(), json!(chunk));
            body.insert("filter".into(), json!([shard_filter(shards)]));
            body.insert("limit".into(), json!(chunk.len()));
            body.insert("retrieveVectors".into(), json!(true));
            if let Some(f) = fields {
                body.insert("fields".into(), json!(f));
            }
            out.extend(self.fetch_documents(base, index, body).await?.docs);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_documents() {
        assert_eq!(
            version_of(&json!({"id": 1, "_miroir_version": 42})),
            Version(42)
        );
        assert_eq!(version_of(&json!({"id": 1})), Version::ZERO);
        assert_eq!(next_after(Version(u64::MAX)), Cursor::Done);
    }
}
