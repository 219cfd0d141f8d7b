//! Where API keys live: on every node but failed ones (each node checks the keys it is sent).

use axum::http::StatusCode;

use crate::meili::MeiliError;
use crate::router::context::Shared;
use crate::state::NodeState;

/// The nodes that hold keys, as (id, URL): every node but failed ones,
/// active ones first so reads and key checks go to the same node.
pub async fn key_nodes(s: &Shared) -> Result<Vec<(String, String)>, MeiliError> {
    if !s.cache.wait_synced(std::time::Duration::from_secs(5)).await {
        return Err(MeiliError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "miroir_topology_unavailable",
            "system",
            "This router has not yet received the node list from the coordinators; retry shortly."
                .into(),
        ));
    }
    let t = s.cache.snapshot();
    let mut nodes: Vec<_> = t
        .nodes
        .values()
        .filter(|n| n.state != NodeState::Failed)
        .collect();
    nodes.sort_by_key(|n| (n.state != NodeState::Active, n.id.0.clone()));
    Ok(nodes
        .into_iter()
        .map(|n| (n.id.0.clone(), n.address.clone()))
        .collect())
}
