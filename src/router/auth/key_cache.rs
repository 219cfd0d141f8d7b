//! The keys this router looked up recently, by token: a node's answer is trusted for a few
//! seconds, so a key deleted through another router keeps working here at most that long.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::access::ApiKey;

/// How long a node's answer about a key is trusted: a key deleted through
/// another router keeps working here at most this long.
const TTL: Duration = Duration::from_secs(5);
/// Entries kept before expired ones are swept (random tokens must not grow it).
const MAX_ENTRIES: usize = 10_000;

/// When a node answered, and its answer (`None`: no such key).
type Entry = (Instant, Option<Arc<ApiKey>>);

/// Keys looked up recently, by token.
#[derive(Default)]
pub struct KeyCache {
    entries: Mutex<HashMap<String, Entry>>,
}

impl KeyCache {
    pub(super) fn get(&self, token: &str) -> Option<Option<Arc<ApiKey>>> {
        let map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        map.get(token)
            .filter(|(at, _)| at.elapsed() < TTL)
            .map(|(_, k)| k.clone())
    }

    pub(super) fn put(&self, token: &str, key: Option<Arc<ApiKey>>) {
        let mut map = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (at, _)| at.elapsed() < TTL);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(token.to_string(), (Instant::now(), key));
    }

    /// Forgets every answer: called when this router creates, changes or
    /// deletes a key (a uid or a key value may name it, so drop them all).
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Answers are kept, then forgotten on `clear`.
    #[test]
    fn cache_remembers_until_cleared() {
        let c = KeyCache::default();
        assert_eq!(c.get("t"), None);
        c.put("t", None);
        assert_eq!(c.get("t"), Some(None));
        c.clear();
        assert_eq!(c.get("t"), None);
    }
}
