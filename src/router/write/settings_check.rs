//! Settings are applied node by node; once every node reports its settings
//! task done, the router reads the settings back from each of them and
//! fails the Miroir task if any two disagree, naming the nodes.

use std::collections::BTreeSet;

use futures::future::join_all;
use serde_json::{json, Value};

use crate::router::write::writer::Writer;
use crate::state::{NodeId, NodeTask};

/// Ok when every node the task touched holds the same settings for `uid`;
/// otherwise the Meilisearch-shaped error to fail the task with.
pub async fn verify(w: &Writer<'_>, uid: &str, tasks: &[NodeTask]) -> Result<(), Value> {
    let nodes: BTreeSet<&NodeId> = tasks.iter().map(|t| &t.node).collect();
    let physical = &w.physical(uid);
    let reads = nodes.iter().map(|id| async move {
        let base = w.base(id);
        (*id, w.nodes.settings(&base, physical).await)
    });
    let answers = join_all(reads).await;
    let mut first: Option<(&NodeId, &Value)> = None;
    for (id, r) in &answers {
        // A node that cannot be read now is skipped: its settings task
        // succeeded, and it cannot be told apart from a slow one here.
        let Ok(settings) = r else { continue };
        match first {
            None => first = Some((id, settings)),
            Some((other, expected)) if expected != settings => {
                return Err(diverged(uid, other, id));
            }
            Some(_) => {}
        }
    }
    Ok(())
}

fn diverged(uid: &str, a: &NodeId, b: &NodeId) -> Value {
    let code = "miroir_settings_diverged";
    json!({
        "message": format!(
            "The settings of index `{uid}` differ between nodes `{a}` and `{b}` after this update; \
             apply the settings again to bring every node to the same state."
        ),
        "code": code,
        "type": "system",
        "link": format!("https://docs.meilisearch.com/errors#{code}"),
    })
}
