//! The router's copy of the shard maps and the node list, fed by the
//! coordinators' watch stream. Readers take a cheap snapshot; the copy keeps
//! serving when no coordinator answers, so searches survive the control plane.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::control::ShardMapUpdate;
use crate::state::{IndexUid, Node, NodeId, ShardMap};

/// One consistent view: every map and the nodes they name.
#[derive(Debug, Clone, Default)]
pub struct Topology {
    pub maps: BTreeMap<IndexUid, ShardMap>,
    pub nodes: BTreeMap<NodeId, Node>,
    /// The coordinator's applied index of the last event taken in.
    pub applied_index: u64,
    /// Whether a full state has been received at least once.
    pub synced: bool,
    /// The cluster's newest epoch this copy reflects (what a lease acknowledges).
    pub epoch: u64,
}

impl Topology {
    /// Takes in one watch event. A map never goes back in epoch: an older map
    /// (from a coordinator that lags behind) is ignored.
    pub fn apply(&mut self, ev: ShardMapUpdate) {
        let ShardMapUpdate { changed, nodes, .. } = ev;
        if ev.full {
            // Whatever the full state does not name was deleted while we were away.
            let named: Vec<&IndexUid> = changed.iter().map(|m| &m.index).collect();
            self.maps.retain(|uid, _| named.contains(&uid));
        }
        for m in changed {
            match self.maps.get(&m.index) {
                Some(old) if old.epoch >= m.epoch => {}
                _ => {
                    self.maps.insert(m.index.clone(), m);
                }
            }
        }
        for uid in &ev.deleted {
            self.maps.remove(uid);
        }
        if ev.full || !nodes.is_empty() {
            self.nodes = nodes.into_iter().map(|n| (n.id.clone(), n)).collect();
        }
        self.applied_index = self.applied_index.max(ev.applied_index);
        self.epoch = self.epoch.max(ev.epoch.0);
        self.synced |= ev.full;
    }
}

/// Shared handle: one writer (the watch loop), many readers.
#[derive(Clone)]
pub struct TopologyCache {
    tx: Arc<watch::Sender<Arc<Topology>>>,
    /// Primary keys by index and map epoch. A key never changes once fixed,
    /// and an index deleted and created again has a new epoch.
    pks: Arc<Mutex<HashMap<(String, u64), String>>>,
}

impl Default for TopologyCache {
    fn default() -> Self {
        TopologyCache {
            tx: Arc::new(watch::Sender::new(Arc::new(Topology::default()))),
            pks: Default::default(),
        }
    }
}

impl TopologyCache {
    pub fn known_pk(&self, uid: &str, epoch: u64) -> Option<String> {
        let pks = self.pks.lock().expect("pk cache lock");
        pks.get(&(uid.to_string(), epoch)).cloned()
    }

    pub fn remember_pk(&self, uid: &str, epoch: u64, pk: &str) {
        let mut pks = self.pks.lock().expect("pk cache lock");
        // Entries of deleted indexes are few and small; drop them now and then.
        if pks.len() > 10_000 {
            pks.clear();
        }
        pks.insert((uid.to_string(), epoch), pk.to_string());
    }

    pub fn snapshot(&self) -> Arc<Topology> {
        self.tx.borrow().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<Arc<Topology>> {
        self.tx.subscribe()
    }

    /// Waits up to `timeout` for the first full state; false if it did not come.
    pub async fn wait_synced(&self, timeout: std::time::Duration) -> bool {
        // Every request asks; once synced, no timer or subscription is needed.
        if self.tx.borrow().synced {
            return true;
        }
        let mut rx = self.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|t| t.synced))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    pub fn apply(&self, ev: ShardMapUpdate) {
        let mut next = (*self.snapshot()).clone();
        next.apply(ev);
        self.tx.send_replace(Arc::new(next));
    }
}

/// The watch in `control` feeds the cache.
impl crate::control::ShardMapSink for TopologyCache {
    fn apply(&self, ev: ShardMapUpdate) {
        TopologyCache::apply(self, ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{Epoch, GroupId, NodeState, ShardAssignment, ShardId};

    fn map(uid: &str, epoch: u64) -> ShardMap {
        ShardMap {
            index: IndexUid(uid.into()),
            epoch: Epoch(epoch),
            shards: vec![ShardAssignment::serving(
                ShardId(0),
                vec![NodeId("n".into())],
            )],
            physical: String::new(),
        }
    }

    fn node(id: &str) -> Node {
        Node {
            id: NodeId(id.into()),
            address: format!("http://{id}:7700"),
            group: GroupId(0),
            state: NodeState::Active,
        }
    }

    /// Full events replace, partial events patch, and a map never goes back in epoch.
    #[test]
    fn events_apply_in_order_and_epochs_never_regress() {
        let mut t = Topology::default();
        t.apply(ShardMapUpdate {
            full: true,
            changed: vec![map("a", 5), map("b", 6)],
            nodes: vec![node("n")],
            applied_index: 10,
            ..Default::default()
        });
        assert!(t.synced);
        assert_eq!(t.maps.len(), 2);
        t.apply(ShardMapUpdate {
            changed: vec![map("a", 3)],
            applied_index: 11,
            ..Default::default()
        });
        assert_eq!(
            t.maps[&IndexUid("a".into())].epoch.0,
            5,
            "went back in epoch"
        );
        t.apply(ShardMapUpdate {
            changed: vec![map("a", 7)],
            deleted: vec![IndexUid("b".into())],
            ..Default::default()
        });
        assert_eq!(t.maps[&IndexUid("a".into())].epoch.0, 7);
        assert!(!t.maps.contains_key(&IndexUid("b".into())));
        assert_eq!(
            t.nodes.len(),
            1,
            "nodes dropped by an event that did not name them"
        );
        // A reconnect's full state drops indexes deleted meanwhile.
        t.apply(ShardMapUpdate {
            full: true,
            changed: vec![map("c", 9)],
            nodes: vec![],
            applied_index: 20,
            ..Default::default()
        });
        assert_eq!(
            t.maps.keys().map(|k| k.0.as_str()).collect::<Vec<_>>(),
            vec!["c"]
        );
        assert!(t.nodes.is_empty());
        assert_eq!(t.applied_index, 20);
    }
}
