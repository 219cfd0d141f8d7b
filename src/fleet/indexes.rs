//! Indexes and their settings on one node. Every node that holds a shard of an index has the index
//! with Miroir's attributes filterable and sortable (`meili::reserved::node_index_settings`), so
//! that shard filters and version comparisons work on it from its first document.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::node_tasks::Enqueued;
use crate::fleet::{IndexChange, NodeClient, NodeError};
use crate::meili::reserved::node_index_settings;

impl NodeClient {
    /// Creates the index on a node with Miroir's attribute settings. Both are enqueued;
    /// the answer is the creation's task (the settings task follows it in the node's queue).
    pub async fn prepare_index(
        &self,
        base: &str,
        index: &str,
        primary_key: Option<&str>,
    ) -> Result<Enqueued, NodeError> {
        let body = json!({"uid": index, "primaryKey": primary_key});
        let created = self
            .call(base, Method::POST, "/indexes", Some(&body))
            .await?;
        self.update_settings(base, index, &node_index_settings())
            .await?;
        Enqueued::from_reply(base, &created)
    }

    pub async fn delete_index(&self, base: &str, index: &str) -> Result<Enqueued, NodeError> {
        self.apply(base, index, &IndexChange::DeleteIndex).await
    }

    /// The index's settings as the node holds them (`_miroir_shard` included).
    pub async fn settings(&self, base: &str, index: &str) -> Result<Value, NodeError> {
        self.call(
            base,
            Method::GET,
            &format!("/indexes/{index}/settings"),
            None,
        )
        .await
    }

    pub async fn update_settings(
        &self,
        base: &str,
        index: &str,
        settings: &Value,
    ) -> Result<Enqueued, NodeError> {
        let path = format!("/indexes/{index}/settings");
        let reply = self
            .call(base, Method::PATCH, &path, Some(settings))
            .await?;
        Enqueued::from_reply(base, &reply)
    }

    /// `GET /indexes/{index}/stats` of one node (its copies only).
    /// `GET /indexes/{index}/stats` of one node, sizes in bytes, each internal database's too.
    pub async fn index_stats(&self, base: &str, index: &str) -> Result<Value, NodeError> {
        let path = format!("/indexes/{index}/stats?showInternalDatabaseSizes=true");
        self.call(base, Method::GET, &path, None).await
    }

    /// `GET /stats` of one node.
    pub async fn node_stats(&self, base: &str) -> Result<Value, NodeError> {
        self.call(base, Method::GET, "/stats", None).await
    }
}
