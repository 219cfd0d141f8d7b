//! The index's `distinctAttribute` setting, which every node applies to a search that names no
//! `distinct` of its own: the router must know it to show each value once across shards.
//! A node's answer is trusted for a moment, so a change made through another router is seen
//! here at most [`TTL`] after its task succeeded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::router::context::Shared;
use crate::router::read::one_node::some_node;

pub const TTL: Duration = Duration::from_secs(2);
/// A search never waits longer than this for the setting (reads must outlive slow nodes).
const ASK_FOR_AT_MOST: Duration = Duration::from_millis(300);

/// When a node answered, and the attribute (`None`: no distinct attribute).
type Entry = (Instant, Option<String>);

#[derive(Default)]
pub struct DistinctCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl DistinctCache {
    /// Index `uid`'s distinct attribute; the last known (or none) when no node answers in time.
    pub async fn setting(&self, s: &Shared, uid: &str) -> Option<String> {
        let Ok((base, physical)) = some_node(s, uid) else {
            return None;
        };
        let known = {
            let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            map.get(&physical).cloned()
        };
        if let Some((at, v)) = &known {
            if at.elapsed() < TTL {
                return v.clone();
            }
        }
        let path = format!("/indexes/{physical}/settings/distinct-attribute");
        let asked = s.nodes.call(&base, reqwest::Method::GET, &path, None);
        let answer = match tokio::time::timeout(ASK_FOR_AT_MOST, asked).await {
            Ok(Ok(v)) => v,
            _ => return known.and_then(|(_, v)| v),
        };
        let attr = answer.as_str().map(String::from);
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // One entry per physical index, so the map stays as small as the cluster's index list.
        map.insert(physical, (Instant::now(), attr.clone()));
        attr
    }
}
