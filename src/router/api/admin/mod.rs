//! Routes about the cluster rather than one index's data: API keys and experimental features on
//! every node, webhooks, task cancelation and deletion, batches.

pub mod all_nodes;
pub mod batches;
pub mod features;
pub mod keys;
pub mod tasks;
pub mod webhooks;
