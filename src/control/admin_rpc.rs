//! The Admin service calls the router makes, one typed method per RPC.

use crate::control::client::ControlClient;
use crate::control::error::ControlError;
use crate::control::types::IndexDescription;
use crate::pb::v1::admin_client::AdminClient;
use crate::pb::v1::{self as pb, ShardMap};

fn index_ref(uid: &str) -> pb::IndexRef {
    pb::IndexRef {
        uid: uid.to_string(),
    }
}

impl ControlClient {
    /// Registers an index with the cluster's default shards and copies;
    /// [`ControlError::AlreadyExists`] or [`ControlError::InvalidArgument`]
    /// (a bad uid) otherwise.
    pub async fn create_index(&self, uid: &str, pk: Option<String>) -> Result<(), ControlError> {
        let req = pb::CreateIndexRequest {
            uid: uid.to_string(),
            primary_key: pk,
            shards: 0,
            replication_factor: 0,
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { AdminClient::new(ch).create_index(r).await }
        })
        .await
        .map(|_| ())
    }

    /// Fixes the primary key once; [`ControlError::FailedPrecondition`] if
    /// another one is set already.
    pub async fn set_primary_key(&self, uid: &str, pk: &str) -> Result<(), ControlError> {
        let req = pb::SetPrimaryKeyRequest {
            uid: uid.to_string(),
            primary_key: pk.to_string(),
        };
        self.call(|ch| {
            let r = self.request(req.clone());
            async move { AdminClient::new(ch).set_primary_key(r).await }
        })
        .await
        .map(|_| ())
    }

    pub async fn describe_index(&self, uid: &str) -> Result<IndexDescription, ControlError> {
        self.call(|ch| {
            let r = self.request(index_ref(uid));
            async move { AdminClient::new(ch).describe_index(r).await }
        })
        .await
        .map(|d| IndexDescription {
            primary_key: d.index.and_then(|i| i.primary_key),
        })
    }

    pub async fn delete_index(&self, uid: &str) -> Result<(), ControlError> {
        self.call(|ch| {
            let r = self.request(index_ref(uid));
            async move { AdminClient::new(ch).delete_index(r).await }
        })
        .await
        .map(|_| ())
    }

    /// The index's shard map; [`ControlError::NotFound`] if there is no such index.
    pub async fn get_shard_map(&self, uid: &str) -> Result<ShardMap, ControlError> {
        self.call(|ch| {
            let r = self.request(index_ref(uid));
            async move { AdminClient::new(ch).get_shard_map(r).await }
        })
        .await
    }
}
