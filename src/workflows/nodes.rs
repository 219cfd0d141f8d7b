//! What repairs and anti-entropy passes share about the nodes they change: waiting until a node
//! has processed what it was sent, and bringing one node's index settings in line with others'.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::fleet::NodeClient;
use crate::state::NodeId;

/// How long a node may take to process what was sent to it before a step gives up (and is
/// retried on the next tick).
pub const QUEUE_WAIT: Duration = Duration::from_secs(120);

/// Settings a node masks, which are not compared or copied: embedders carry API keys that every
/// node shows masked, so copying them would break them.
const NOT_COMPARED: &[&str] = &["embedders"];

/// Waits until a node has processed every task it had accepted when asked.
pub async fn wait_queue(nodes: &NodeClient, base: &str) -> Result<(), String> {
    let latest = nodes
        .latest_task(base)
        .await
        .map_err(|e| format!("asking {base} for its tasks: {e}"))?;
    if let Some(uid) = latest {
        nodes
            .wait_for_task(base, uid, QUEUE_WAIT)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Settings as compared: without the ones not compared.
pub fn compared(mut s: Value) -> Value {
    if let Value::Object(m) = &mut s {
        for k in NOT_COMPARED {
            m.remove(*k);
        }
    }
    s
}

/// The settings most nodes hold (ties: the first node's, in id order).
pub fn majority(all: &BTreeMap<NodeId, Value>) -> Option<Value> {
    let mut votes: Vec<(&Value, usize)> = vec![];
    for s in all.values() {
        match votes.iter_mut().find(|(v, _)| *v == s) {
            Some(e) => e.1 += 1,
            None => votes.push((s, 1)),
        }
    }
    let best = votes.iter().map(|(_, n)| *n).max()?;
    votes
        .into_iter()
        .find(|(_, n)| *n == best)
        .map(|(v, _)| v.clone())
}

/// The top-level settings where `mine` differs from `right`, with `right`'s values.
pub fn differing(mine: &Value, right: &Value) -> Map<String, Value> {
    let Value::Object(right) = right else {
        return Map::new();
    };
    right
        .iter()
        .filter(|(k, v)| mine.get(k.as_str()) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Sends `target` the settings of `index` that differ from `source`'s, and waits for the node;
/// the keys sent.
pub async fn align_settings(
    nodes: &NodeClient,
    index: &str,
    source: &str,
    target: &str,
) -> Result<Vec<String>, String> {
    let read = |base: &str| {
        let base = base.to_string();
        async move {
            nodes
                .settings(&base, index)
                .await
                .map(compared)
                .map_err(|e| format!("reading the settings of {base}: {e}"))
        }
    };
    let (right, mine) = (read(source).await?, read(target).await?);
    let wrong = differing(&mine, &right);
    if wrong.is_empty() {
        return Ok(vec![]);
    }
    let keys = wrong.keys().cloned().collect();
    let t = nodes
        .update_settings(target, index, &Value::Object(wrong))
        .await
        .map_err(|e| format!("sending settings to {target}: {e}"))?;
    nodes
        .wait_for_task(target, t.task_uid, QUEUE_WAIT)
        .await
        .map_err(|e| e.to_string())?;
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The settings most nodes hold are right; a node is sent only what differs.
    #[test]
    fn settings_follow_the_majority() {
        let n = |s: &str| NodeId(s.into());
        let good = json!({"searchableAttributes": ["*"], "synonyms": {"a": ["b"]}});
        let odd = json!({"searchableAttributes": ["*"], "synonyms": {}});
        let all: BTreeMap<NodeId, Value> = [
            (n("a"), odd.clone()),
            (n("b"), good.clone()),
            (n("c"), good.clone()),
        ]
        .into();
        assert_eq!(majority(&all), Some(good.clone()));
        let fix = differing(&odd, &good);
        assert_eq!(Value::Object(fix), json!({"synonyms": {"a": ["b"]}}));
        assert_eq!(compared(json!({"embedders": {}, "x": 1})), json!({"x": 1}));
    }
}
