//! Documents on one node: writing a batch to one copy, and reading documents back a page at a
//! time, restricted to the shards asked for (a node holds several shards, and with RF > 1 copies
//! of shards it is not asked about).

use crate::meili::document_params::DocumentsWrite;
use reqwest::Method;
use serde_json::{json, Map, Value};

use crate::fleet::node_tasks::Enqueued;
use crate::fleet::shard_filter::with_shards;
use crate::fleet::{NodeClient, NodeError};
use crate::state::ShardId;

/// How a batch meets documents already there, as Meilisearch's two document routes do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// `POST`: a document replaces the one with its id.
    Replace,
    /// `PUT`: a document's fields are merged into the one with its id.
    Update,
}

/// One page of a node's documents, and how many match in all on that node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub docs: Vec<Value>,
    pub total: u64,
}

impl NodeClient {
    /// Sends a batch (already tagged with its shards) to one copy; the node applies it later.
    pub async fn write_batch(
        &self,
        base: &str,
        index: &str,
        primary_key: &str,
        docs: Vec<Value>,
        mode: WriteMode,
    ) -> Result<Enqueued, NodeError> {
        let query = DocumentsWrite::default();
        self.write_batch_as(base, index, &query.node_query(primary_key), docs, mode)
            .await
    }

    /// [`Self::write_batch`] with the node's query string given (`primaryKey`, `skipCreation`),
    /// as [`DocumentsWrite::node_query`] makes it.
    pub async fn write_batch_as(
        &self,
        base: &str,
        index: &str,
        node_query: &str,
        docs: Vec<Value>,
        mode: WriteMode,
    ) -> Result<Enqueued, NodeError> {
        let method = match mode {
            WriteMode::Replace => Method::POST,
            WriteMode::Update => Method::PUT,
        };
        let path = format!("/indexes/{index}/documents?{node_query}");
        let reply = self
            .call(base, method, &path, Some(&Value::Array(docs)))
            .await?;
        Enqueued::from_reply(base, &reply)
    }

    /// `POST /indexes/{index}/documents/fetch` with `body` as it is (filter, fields, sort,
    /// offset, limit), for callers that shape the request themselves.
    pub async fn fetch_documents(
        &self,
        base: &str,
        index: &str,
        body: Map<String, Value>,
    ) -> Result<Page, NodeError> {
        let path = format!("/indexes/{index}/documents/fetch");
        let mut v = self
            .call(base, Method::POST, &path, Some(&Value::Object(body)))
            .await?;
        Ok(Page {
            total: v["total"].as_u64().unwrap_or(0),
            docs: match v.get_mut("results").map(Value::take) {
                Some(Value::Array(d)) => d,
                _ => vec![],
            },
        })
    }
}

/// Reads the documents of some shards from one node, page by page, in the node's own order.
/// Used to copy or compare a shard: each document of those shards comes exactly once, provided
/// nothing is written to them meanwhile (a copy under live writes relies on dual writes for what
/// changes behind the cursor).
pub struct ShardPages<'a> {
    nodes: &'a NodeClient,
    base: String,
    index: String,
    filter: Value,
    fields: Option<Vec<String>>,
    page_size: usize,
    offset: usize,
    done: bool,
}

impl<'a> ShardPages<'a> {
    pub fn new(
        nodes: &'a NodeClient,
        base: &str,
        index: &str,
        shards: &[ShardId],
        page_size: usize,
    ) -> Self {
        ShardPages {
            nodes,
            base: base.to_string(),
            index: index.to_string(),
            filter: with_shards(None, shards),
            fields: None,
            page_size: page_size.max(1),
            offset: 0,
            done: false,
        }
    }

    /// Reads only these attributes (Meilisearch's `fields`).
    pub fn fields(mut self, fields: &[&str]) -> Self {
        self.fields = Some(fields.iter().map(|f| f.to_string()).collect());
        self
    }

    /// The next page, or `None` once every document was read. A failed read can be retried by
    /// calling again: the cursor moves only past pages that arrived.
    pub async fn next_page(&mut self) -> Result<Option<Vec<Value>>, NodeError> {
        if self.done {
            return Ok(None);
        }
        let mut body = Map::new();
        body.insert("filter".into(), self.filter.clone());
        body.insert("offset".into(), json!(self.offset));
        body.insert("limit".into(), json!(self.page_size));
        if let Some(f) = &self.fields {
            body.insert("fields".into(), json!(f));
        }
        let page = self
            .nodes
            .fetch_documents(&self.base, &self.index, body)
            .await?;
        self.offset += page.docs.len();
        if page.docs.is_empty() || self.offset as u64 >= page.total {
            self.done = true;
        }
        Ok((!page.docs.is_empty()).then_some(page.docs))
    }
}
