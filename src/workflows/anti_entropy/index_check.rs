//! The index-wide half of a pass: every node that holds copies of the index has it, with the
//! same settings as the others (the settings most nodes hold are taken as right), and holds no
//! document of a shard it does not own (a stray: left by an interrupted move, or written straight
//! to the node). In repair mode a missing index is created, differing settings are sent again,
//! and strays are deleted (a destructive step: the leader confirms its leadership first).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::fleet::shard_filter::shard_filter;
use crate::fleet::{IndexChange, NodeClient, NodeError};
use crate::state::repair::pass::{Finding, FindingKind, PassCounts, PassMode};
use crate::state::{NodeId, ShardId};
use crate::workflows::nodes::{compared, differing, majority};

/// One node of the index, and the shards it owns.
#[derive(Debug, Clone)]
pub struct NodeRef {
    pub node: NodeId,
    pub base: String,
    pub owns: Vec<ShardId>,
    /// Every copy it holds serves: its settings may vote (a node with a behind copy may have
    /// missed an acknowledged settings change).
    pub serving: bool,
}

pub struct IndexCheck<'a> {
    pub nodes: &'a NodeClient,
    pub index: &'a str,
    pub primary_key: Option<&'a str>,
    pub on: Vec<NodeRef>,
    pub mode: PassMode,
}

/// The filter that finds a node's strays: documents of shards it does not own, or of none.
pub fn stray_filter(owns: &[ShardId]) -> String {
    match owns.is_empty() {
        true => "_miroir_shard EXISTS OR _miroir_shard NOT EXISTS".into(),
        false => format!("NOT ({})", shard_filter(owns)),
    }
}

impl IndexCheck<'_> {
    /// Checks (and in repair mode fixes) presence, settings and strays on every node; `confirm`
    /// is awaited before anything is deleted.
    pub async fn run<F, Fut>(&self, confirm: F) -> Result<(PassCounts, Vec<Finding>), String>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let repair = self.mode == PassMode::Repair;
        let mut counts = PassCounts::default();
        let mut findings = vec![];
        let mut found =
            |kind, node: &NodeId, what: String, fixed: bool, counts: &mut PassCounts| {
                counts.index_fixes += u64::from(kind != FindingKind::Stray && fixed);
                findings.push(Finding {
                    kind,
                    node: node.clone(),
                    shard: None,
                    what,
                    repaired: fixed,
                });
            };
        let mut settings: BTreeMap<NodeId, Value> = BTreeMap::new();
        for n in &self.on {
            match self.nodes.settings(&n.base, self.index).await {
                Ok(s) => {
                    settings.insert(n.node.clone(), compared(s));
                }
                Err(NodeError::Refused { status: 404, .. }) => {
                    if repair {
                        let t = self
                            .nodes
                            .prepare_index(&n.base, self.index, self.primary_key)
                            .await
                            .map_err(|e| format!("creating the index on {}: {e}", n.base))?;
                        self.wait(&n.base, t.task_uid).await?;
                    }
                    found(
                        FindingKind::MissingIndex,
                        &n.node,
                        self.index.to_string(),
                        repair,
                        &mut counts,
                    );
                }
                Err(e) => return Err(format!("reading the settings of {}: {e}", n.base)),
            }
        }
        let voters: BTreeMap<NodeId, Value> = settings
            .iter()
            .filter(|(n, _)| self.on.iter().any(|r| &r.node == *n && r.serving))
            .map(|(n, v)| (n.clone(), v.clone()))
            .collect();
        if let Some(right) = majority(&voters) {
            for n in &self.on {
                let wrong = match settings.get(&n.node) {
                    Some(s) => differing(s, &right),
                    // Just created: everything the others set.
                    None if repair => differing(&json!({}), &right),
                    None => Map::new(),
                };
                if wrong.is_empty() {
                    continue;
                }
                let keys: Vec<String> = wrong.keys().cloned().collect();
                if repair {
                    let t = self
                        .nodes
                        .update_settings(&n.base, self.index, &Value::Object(wrong))
                        .await
                        .map_err(|e| format!("sending settings to {}: {e}", n.base))?;
                    self.wait(&n.base, t.task_uid).await?;
                }
                if settings.contains_key(&n.node) {
                    found(
                        FindingKind::Settings,
                        &n.node,
                        keys.join(","),
                        repair,
                        &mut counts,
                    );
                }
            }
        }
        for n in &self.on {
            let filter = stray_filter(&n.owns);
            let strays = self.count(&n.base, &filter).await?;
            if strays == 0 {
                continue;
            }
            if repair {
                confirm().await?;
                let change = IndexChange::DeleteByFilter(json!({"filter": filter}));
                let t = self
                    .nodes
                    .apply(&n.base, self.index, &change)
                    .await
                    .map_err(|e| format!("removing strays from {}: {e}", n.base))?;
                self.wait(&n.base, t.task_uid).await?;
                counts.strays_removed += strays;
            }
            counts.mismatches += strays;
            found(
                FindingKind::Stray,
                &n.node,
                format!("{strays} documents"),
                repair,
                &mut counts,
            );
        }
        Ok((counts, findings))
    }

    async fn count(&self, base: &str, filter: &str) -> Result<u64, String> {
        let mut body = Map::new();
        body.insert("filter".into(), json!(filter));
        body.insert("limit".into(), json!(0));
        match self.nodes.fetch_documents(base, self.index, body).await {
            Ok(page) => Ok(page.total),
            Err(NodeError::Refused { status: 404, .. }) => Ok(0),
            Err(e) => Err(format!("counting strays on {base}: {e}")),
        }
    }

    async fn wait(&self, base: &str, task: u64) -> Result<(), String> {
        self.nodes
            .wait_for_task(base, task, std::time::Duration::from_secs(120))
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strays_are_documents_of_shards_not_owned() {
        assert_eq!(
            stray_filter(&[ShardId(1), ShardId(2), ShardId(3)]),
            "NOT (_miroir_shard 1 TO 3)"
        );
        assert!(stray_filter(&[]).contains("NOT EXISTS"));
    }
}
