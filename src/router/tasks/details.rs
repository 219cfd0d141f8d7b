//! A finished Miroir task's `details`, in Meilisearch's shape, from the
//! details its node tasks report. Counts of deleted documents come from one
//! replica group and are divided by the copies each shard has in it, so RF > 1
//! never counts a document twice.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::state::{GroupId, TaskKind, TaskStatus};

/// Internal key of a record's details: copies of a shard per replica group
/// when the task was sent. Never shown to clients.
pub const COPIES_KEY: &str = "_miroir_copies";

/// What one node task finished with.
pub struct NodeOutcome {
    pub group: GroupId,
    pub details: Value,
}

/// The details to show once the task is `status` (succeeded or failed).
pub fn finish(
    kind: TaskKind,
    status: TaskStatus,
    recorded: &Value,
    nodes: &[NodeOutcome],
) -> Value {
    let mut out: Map<String, Value> = match nodes.first().map(|n| &n.details) {
        // Settings and index changes: every node reports the same normalized
        // details (sorted sets, wrapped sub-settings); take the first.
        Some(Value::Object(d)) if kind != TaskKind::DocumentAdditionOrUpdate => d.clone(),
        _ => recorded.as_object().cloned().unwrap_or_default(),
    };
    out.remove(COPIES_KEY);
    if kind == TaskKind::DocumentAdditionOrUpdate {
        let received = recorded.get("receivedDocuments").cloned();
        let indexed = match status {
            TaskStatus::Succeeded => received.clone().unwrap_or(json!(0)),
            _ => json!(0),
        };
        out.insert("receivedDocuments".into(), received.unwrap_or(json!(0)));
        out.insert("indexedDocuments".into(), indexed);
    }
    if out.contains_key("deletedDocuments") {
        let deleted = match status {
            TaskStatus::Succeeded => deleted_once(recorded, nodes),
            _ => 0,
        };
        out.insert("deletedDocuments".into(), json!(deleted));
    }
    let mut out = Value::Object(out);
    if kind == TaskKind::SettingsUpdate {
        crate::meili::reserved::hide_in_settings(&mut out, recorded);
    }
    out
}

/// Details as recorded, without Miroir's internal keys (for unfinished tasks).
pub fn pending(recorded: &Value) -> Value {
    let mut out = recorded.as_object().cloned().unwrap_or_default();
    out.remove(COPIES_KEY);
    Value::Object(out)
}

/// Documents deleted, counted once: the largest per-group total over the
/// copies each shard has in that group.
fn deleted_once(recorded: &Value, nodes: &[NodeOutcome]) -> u64 {
    let mut per_group: BTreeMap<GroupId, u64> = BTreeMap::new();
    for n in nodes {
        *per_group.entry(n.group).or_default() +=
            n.details["deletedDocuments"].as_u64().unwrap_or(0);
    }
    crate::state::tasks::count_once(per_group.into_iter().map(|(g, total)| {
        let copies = recorded[COPIES_KEY][g.0.to_string()].as_u64();
        (total, copies.unwrap_or(1))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meili::reserved::SHARD_FIELD;

    fn node(group: u32, details: Value) -> NodeOutcome {
        NodeOutcome {
            group: GroupId(group),
            details,
        }
    }

    /// Two copies per shard in group 0, one in group 1: each deletion counted once.
    #[test]
    fn deletions_count_each_document_once() {
        let recorded = json!({"deletedDocuments": null, COPIES_KEY: {"0": 2, "1": 1}});
        let nodes = [
            node(0, json!({"deletedDocuments": 3})),
            node(0, json!({"deletedDocuments": 3})),
            node(1, json!({"deletedDocuments": 2})),
            node(1, json!({"deletedDocuments": 1})),
        ];
        let d = finish(
            TaskKind::DocumentDeletion,
            TaskStatus::Succeeded,
            &recorded,
            &nodes,
        );
        assert_eq!(d, json!({"deletedDocuments": 3}));
        let failed = finish(
            TaskKind::DocumentDeletion,
            TaskStatus::Failed,
            &recorded,
            &nodes,
        );
        assert_eq!(failed["deletedDocuments"], 0);
    }

    /// Additions report what was received, indexed only on success.
    #[test]
    fn additions_report_received_and_indexed() {
        let recorded = json!({"receivedDocuments": 5, "indexedDocuments": null});
        let nodes = [node(
            0,
            json!({"receivedDocuments": 2, "indexedDocuments": 2}),
        )];
        let ok = finish(
            TaskKind::DocumentAdditionOrUpdate,
            TaskStatus::Succeeded,
            &recorded,
            &nodes,
        );
        assert_eq!(ok, json!({"receivedDocuments": 5, "indexedDocuments": 5}));
        let failed = finish(
            TaskKind::DocumentAdditionOrUpdate,
            TaskStatus::Failed,
            &recorded,
            &[],
        );
        assert_eq!(
            failed,
            json!({"receivedDocuments": 5, "indexedDocuments": 0})
        );
    }

    /// Settings details are the node's normalized ones, without Miroir's field
    /// unless the client listed it.
    #[test]
    fn settings_details_come_from_the_node() {
        let node_details = json!({"filterableAttributes": ["genre", SHARD_FIELD], "sortableAttributes": ["a", "b"]});
        let recorded = json!({"filterableAttributes": ["genre"], "sortableAttributes": ["b", "a"]});
        let d = finish(
            TaskKind::SettingsUpdate,
            TaskStatus::Succeeded,
            &recorded,
            &[node(0, node_details.clone())],
        );
        assert_eq!(
            d,
            json!({"filterableAttributes": ["genre"], "sortableAttributes": ["a", "b"]})
        );
        let listed = json!({"filterableAttributes": ["genre", SHARD_FIELD]});
        let d = finish(
            TaskKind::SettingsUpdate,
            TaskStatus::Succeeded,
            &listed,
            &[node(0, node_details)],
        );
        assert_eq!(d["filterableAttributes"], json!(["genre", SHARD_FIELD]));
    }
}
