//! What every request handler shares: the cached topology, the node client, the coordinators,
//! the lease, the task-id blocks and the router's settings.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;

use crate::control::ControlClient;
use crate::fleet::NodeClient;
use crate::router::tasks::ids::TaskIds;
use crate::router::topology::TopologyCache;
use crate::router::write::writer::Writer;

pub struct Shared {
    pub cache: TopologyCache,
    pub nodes: NodeClient,
    pub control: ControlClient,
    pub ids: TaskIds,
    pub router_id: String,
    pub master_key: Option<String>,
    /// API keys recently looked up on the nodes.
    pub api_keys: crate::router::auth::key_cache::KeyCache,
    /// What searches must know of indexes' settings, recently read from their nodes.
    pub facts: crate::router::read::index_facts::FactsCache,
    /// The lease writes are sent under.
    pub lease: Arc<crate::router::write::lease::LeaseHolder>,
    /// Bodies larger than this are refused with `payload_too_large`.
    pub max_payload_bytes: usize,
    /// Round-robin position for choosing a replica group.
    pub turn: AtomicUsize,
    /// Test-only; all off in production.
    pub unsafe_switches: crate::router::unsafe_switches::UnsafeSwitches,
    /// Test-only; all zero in production.
    pub pause_points: crate::router::unsafe_switches::PausePoints,
}

pub(in crate::router) fn writer(s: &Shared) -> Writer<'_> {
    Writer {
        control: &s.control,
        nodes: &s.nodes,
        ids: &s.ids,
        router_id: &s.router_id,
        cache: &s.cache,
        lease: &s.lease,
        unsafe_switches: s.unsafe_switches,
        pause_points: s.pause_points,
        custom_metadata: None,
    }
}
