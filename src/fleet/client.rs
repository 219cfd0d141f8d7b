//! Talking to Meilisearch nodes over their ordinary HTTP API. Nothing here
//! knows whether a node is a real Meilisearch or a devnode.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::fleet::suspects::{Suspects, Suspicion};

/// Why a node did not give a usable answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum NodeError {
    /// No answer at all (connection refused, reset, timed out): try a replica.
    #[error("node {node} did not answer: {reason}")]
    Unreachable { node: String, reason: String },
    /// The node answered with an error; `body` is Meilisearch's error object,
    /// passed on to the client as it is.
    #[error("node answered {status}")]
    Refused { status: u16, body: Value },
    /// Not sent: the lease the request was planned under had ended (I2).
    #[error("not sent to node {node}: the lease it was planned under had ended")]
    NotSent { node: String },
}

/// The key Miroir presents to every node (today the nodes' master key). Given by flag or
/// environment only, never stored in the Raft log; its `Debug` form hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct NodeKey(String);

impl NodeKey {
    /// `None` for an empty key, which no node accepts.
    pub fn new(key: impl Into<String>) -> Option<Self> {
        let key = key.into();
        (!key.is_empty()).then_some(NodeKey(key))
    }
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeKey(hidden)")
    }
}

#[derive(Clone)]
pub struct NodeClient {
    http: reqwest::Client,
    /// The key Miroir uses on every node.
    key: Option<NodeKey>,
    /// When set, no request is sent at or after this instant, and each is
    /// given only the time left until it (see [`NodeClient::sending_until`]).
    send_by: Option<Instant>,
    /// The cap on one call (a lease can only shorten it).
    timeout: Duration,
    /// Nodes that just failed several times in a row, shared by every clone.
    suspects: Arc<Suspects>,
}

impl NodeClient {
    pub fn new(key: Option<NodeKey>, timeout: Duration) -> Result<Self, reqwest::Error> {
        Self::with_suspicion(key, timeout, Suspicion::default())
    }

    /// A client that fails calls to a suspect node fast (see [`crate::fleet::suspects`]).
    pub fn with_suspicion(
        key: Option<NodeKey>,
        timeout: Duration,
        suspicion: Suspicion,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(Duration::from_secs(1))
            // A request given up on must not reach the node later: without this, TCP goes on
            // retransmitting it after the call timed out, and once a partition heals it lands
            // (over a newer version a repair wrote, say). Unacknowledged data is dropped, and
            // the connection with it, after the node timeout.
            .tcp_user_timeout(timeout)
            .tcp_nodelay(true)
            .pool_max_idle_per_host(32)
            .build()?;
        Ok(NodeClient {
            http,
            key,
            send_by: None,
            timeout,
            suspects: Arc::new(Suspects::new(suspicion)),
        })
    }

    /// The cap on one call.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// The same client, bound to a lease ending at `until`: a request is sent
    /// only while the lease lasts, checked at the moment of sending (not by a
    /// timeout around the call, which would still poll the send once after a
    /// pause), and must be answered by then.
    pub fn sending_until(&self, until: Instant) -> NodeClient {
        NodeClient {
            send_by: Some(until),
            ..self.clone()
        }
    }

    /// The HTTP client itself (connection pool and timeouts), for other calls.
    pub fn http(&self) -> reqwest::Client {
        self.http.clone()
    }

    /// Sends one JSON request to `base` (the node's URL) + `path`.
    pub async fn call(
        &self,
        base: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, NodeError> {
        let url = format!("{}{path}", base.trim_end_matches('/'));
        let mut req = self.http.request(method, &url);
        if let Some(NodeKey(k)) = &self.key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(left) = self.suspects.held(base, Instant::now()) {
            return Err(NodeError::Unreachable {
                node: base.to_string(),
                reason: format!(
                    "suspect: failed several times in a row, not called for another {} ms",
                    left.as_millis()
                ),
            });
        }
        let unreachable = |e: reqwest::Error| {
            self.suspects.failed(base, Instant::now());
            NodeError::Unreachable {
                node: base.to_string(),
                reason: e.to_string(),
            }
        };
        if let Some(until) = self.send_by {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(NodeError::NotSent {
                    node: base.to_string(),
                });
            }
            req = req.timeout(left.min(self.timeout));
        }
        // Nothing may await between the check above and this first poll.
        let resp = req.send().await.map_err(unreachable)?;
        self.suspects.answered(base);
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(unreachable)?;
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).map_err(|e| NodeError::Unreachable {
                node: base.to_string(),
                reason: format!("answered something that is not JSON: {e}"),
            })?
        };
        if status.is_success() {
            Ok(body)
        } else {
            Err(NodeError::Refused {
                status: status.as_u16(),
                body,
            })
        }
    }

    /// `GET /health`: whether the node answers at all.
    pub async fn health(&self, base: &str) -> Result<(), NodeError> {
        self.call(base, reqwest::Method::GET, "/health", None)
            .await
            .map(|_| ())
    }

    pub async fn search(&self, base: &str, index: &str, body: &Value) -> Result<Value, NodeError> {
        self.call(
            base,
            reqwest::Method::POST,
            &format!("/indexes/{index}/search"),
            Some(body),
        )
        .await
    }
}
