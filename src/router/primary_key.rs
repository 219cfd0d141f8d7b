//! An index's primary key as this router places and orders documents by it:
//! cached per shard-map epoch (a key never changes once fixed, and a
//! re-created index has a new epoch), else asked of the coordinators. Reads
//! and writes both use it, so it belongs to neither path.

use crate::control::{ControlClient, ControlError};
use crate::meili::MeiliError;
use crate::router::topology::TopologyCache;
use crate::state::IndexUid;

/// The one mapping of a control-plane failure the caller did not expect
/// into the client's error: a 503 that names what the coordinators said.
pub(crate) fn coordinators_down(e: ControlError) -> MeiliError {
    MeiliError::new(
        axum::http::StatusCode::SERVICE_UNAVAILABLE,
        "miroir_coordinators_unavailable",
        "system",
        format!("The coordinators could not be reached: {}", e.detail()),
    )
}

/// The key for the map this router routes by now.
pub async fn current(
    control: &ControlClient,
    cache: &TopologyCache,
    uid: &str,
) -> Result<Option<String>, MeiliError> {
    let epoch = cache
        .snapshot()
        .maps
        .get(&IndexUid(uid.to_string()))
        .map(|m| m.epoch.0);
    at(control, cache, uid, epoch).await
}

/// The key for the map of `epoch` (none: not cached, always asked).
pub async fn at(
    control: &ControlClient,
    cache: &TopologyCache,
    uid: &str,
    epoch: Option<u64>,
) -> Result<Option<String>, MeiliError> {
    if let Some(pk) = epoch.and_then(|e| cache.known_pk(uid, e)) {
        return Ok(Some(pk));
    }
    let pk = control
        .describe_index(uid)
        .await
        .map_err(coordinators_down)?
        .index
        .primary_key;
    if let (Some(e), Some(pk)) = (epoch, &pk) {
        cache.remember_pk(uid, e, pk);
    }
    Ok(pk)
}
