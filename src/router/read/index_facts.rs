//! What a search needs to know of an index's settings that the nodes apply on their own: its
//! `distinctAttribute` (the router must deduplicate across shards too), and, when every
//! attribute is searchable (`searchableAttributes: ["*"]`, the default), which ones are the
//! client's, so that searches name them (`attributesToSearchOn`) and Miroir's own fields are
//! never searched. A node's answer is trusted for [`TTL`]: a change made through another router,
//! or a field that first appears, is seen here at most that long after its task succeeded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::fleet::NodeClient;

pub const TTL: Duration = Duration::from_secs(2);
/// A search never waits longer than this for the settings (reads must outlive slow nodes).
const ASK_FOR_AT_MOST: Duration = Duration::from_millis(300);
/// More fields than an index can hold (field ids are 16 bits).
const EVERY_FIELD: u64 = 1 << 16;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct IndexFacts {
    /// The index's distinct attribute.
    pub distinct: Option<String>,
    /// The client's searchable attributes when every attribute is searchable; `None` when the
    /// index lists them itself (Miroir's fields are then never among them) or they are unknown.
    pub search_on: Option<Vec<String>>,
}

/// When a node answered, and what.
type Entry = (Instant, IndexFacts);

#[derive(Default)]
pub struct FactsCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl FactsCache {
    /// The facts of the index named `physical` on the nodes, asked of the node at `base`; the
    /// last known (or none) when it does not answer in time.
    pub async fn get(&self, nodes: &NodeClient, base: &str, physical: &str) -> IndexFacts {
        let known = {
            let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            map.get(physical).cloned()
        };
        let physical = physical.to_string();
        if let Some((at, facts)) = &known {
            if at.elapsed() < TTL {
                return facts.clone();
            }
        }
        let asked = tokio::time::timeout(ASK_FOR_AT_MOST, ask(nodes, base, &physical)).await;
        let Ok(Some(facts)) = asked else {
            return known.map(|(_, f)| f).unwrap_or_default();
        };
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        // One entry per physical index, so the map stays as small as the cluster's index list.
        map.insert(physical, (Instant::now(), facts.clone()));
        facts
    }
}

async fn ask(nodes: &NodeClient, base: &str, physical: &str) -> Option<IndexFacts> {
    let path = format!("/indexes/{physical}/settings");
    let settings = nodes
        .call(base, reqwest::Method::GET, &path, None)
        .await
        .ok()?;
    let distinct = settings["distinctAttribute"].as_str().map(String::from);
    let every = settings["searchableAttributes"]
        .as_array()
        .is_some_and(|a| a.iter().any(|v| v == "*"));
    let search_on = match every {
        false => None,
        true => {
            let body = json!({"offset": 0, "limit": EVERY_FIELD, "filter": {"searchable": true}});
            let path = format!("/indexes/{physical}/fields");
            // A node without the route (older, or the devnode) leaves searches as they are.
            match nodes
                .call(base, reqwest::Method::POST, &path, Some(&body))
                .await
            {
                // No field yet (an empty index): nothing to leave out.
                Ok(v) => Some(client_fields(&v)).filter(|f| !f.is_empty()),
                Err(_) => None,
            }
        }
    };
    Some(IndexFacts {
        distinct,
        search_on,
    })
}

fn client_fields(fields: &Value) -> Vec<String> {
    fields["results"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|f| f["name"].as_str())
        .filter(|n| !crate::meili::reserved::is_reserved(n))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn miroir_fields_are_never_searched_on() {
        let v = json!({"results": [{"name": "_miroir_shard"}, {"name": "title"}, {"name": "_miroir_version"}, {"name": "a.b"}]});
        assert_eq!(client_fields(&v), ["title", "a.b"]);
    }
}
