//! Whether the nodes hold the physical indexes the shard maps say they hold:
//! a read-only comparison (`miroir-ctl indexes check`), so that what a router
//! only logs and counts when it meets it (a node that lost an index) is shown
//! to operators, and physical indexes no map names (left behind) are found.

use std::collections::{BTreeMap, BTreeSet};

use futures::future::join_all;
use reqwest::Method;
use serde::Serialize;

use crate::fleet::{NodeClient, NodeError};
use crate::state::{ClusterState, IndexUid, NodeId};

/// Most indexes asked of a node per page.
const PAGE: usize = 1000;

/// What a node said of one copy the maps give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CopyState {
    Present,
    /// The node answered and has no such index.
    Missing,
    /// The node did not answer its index list.
    Unreachable,
}

impl CopyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CopyState::Present => "present",
            CopyState::Missing => "missing",
            CopyState::Unreachable => "unreachable",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CopyState::Present,
            CopyState::Missing,
            CopyState::Unreachable,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

/// One node's copy of one index, as the check found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CopyCheck {
    pub uid: IndexUid,
    pub physical: String,
    pub node: NodeId,
    pub state: CopyState,
    /// Why the node did not answer (empty otherwise).
    pub detail: String,
}

/// A physical index on a node that no shard map gives that node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StrayIndex {
    pub node: NodeId,
    pub physical: String,
    /// Already owed a deletion (the node was down when its index was deleted).
    pub on_sweep_list: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IndexCheck {
    pub copies: Vec<CopyCheck>,
    pub stray: Vec<StrayIndex>,
}

impl IndexCheck {
    /// Copies that are not where the maps say they are.
    pub fn disagreements(&self) -> usize {
        self.copies
            .iter()
            .filter(|c| c.state != CopyState::Present)
            .count()
    }
}

/// What the check compares against, read from the state in one go.
#[derive(Debug, Clone, Default)]
pub struct Expected {
    /// (uid, physical name, node holding a copy), every copy once.
    pub copies: Vec<(IndexUid, String, NodeId)>,
    /// The nodes to ask, with their addresses.
    pub nodes: BTreeMap<NodeId, String>,
    /// Physical indexes each node is owed a deletion of.
    pub sweeps: BTreeMap<NodeId, Vec<String>>,
    /// Strays are looked for only when every index is checked.
    pub every_index: bool,
}

impl Expected {
    /// The copies of `only` (every index if None) the maps name.
    pub fn from_state(s: &ClusterState, only: Option<&IndexUid>) -> Self {
        let mut copies = vec![];
        for m in s.shard_maps.values() {
            if only.is_some_and(|u| *u != m.index) {
                continue;
            }
            let holders: BTreeSet<&NodeId> = m.shards.iter().flat_map(|a| a.writers()).collect();
            for n in holders {
                copies.push((m.index.clone(), m.physical().to_string(), n.clone()));
            }
        }
        let nodes = s
            .nodes
            .values()
            .filter(|n| only.is_none() || copies.iter().any(|(_, _, c)| *c == n.id))
            .map(|n| (n.id.clone(), n.address.clone()))
            .collect();
        Expected {
            copies,
            nodes,
            sweeps: s.sweeps.deletes.clone(),
            every_index: only.is_none(),
        }
    }
}

/// Compares the expected copies with each node's index list (or why it gave none).
pub fn compare(
    expected: &Expected,
    found: &BTreeMap<NodeId, Result<BTreeSet<String>, String>>,
) -> IndexCheck {
    let mut check = IndexCheck::default();
    for (uid, physical, node) in &expected.copies {
        let (state, detail) = match found.get(node) {
            Some(Ok(list)) if list.contains(physical) => (CopyState::Present, String::new()),
            Some(Ok(_)) => (CopyState::Missing, String::new()),
            Some(Err(e)) => (CopyState::Unreachable, e.clone()),
            None => (
                CopyState::Unreachable,
                "not asked: the node is not registered".into(),
            ),
        };
        check.copies.push(CopyCheck {
            uid: uid.clone(),
            physical: physical.clone(),
            node: node.clone(),
            state,
            detail,
        });
    }
    if expected.every_index {
        for (node, list) in found {
            let Ok(list) = list else { continue };
            for physical in list {
                let named = expected
                    .copies
                    .iter()
                    .any(|(_, p, n)| n == node && p == physical);
                if !named {
                    let owed = expected
                        .sweeps
                        .get(node)
                        .is_some_and(|l| l.contains(physical));
                    check.stray.push(StrayIndex {
                        node: node.clone(),
                        physical: physical.clone(),
                        on_sweep_list: owed,
                    });
                }
            }
        }
    }
    check
}

impl NodeClient {
    /// Every index uid on a node (its physical names), page by page.
    pub async fn list_indexes(&self, base: &str) -> Result<BTreeSet<String>, NodeError> {
        let mut all = BTreeSet::new();
        loop {
            let path = format!("/indexes?offset={}&limit={PAGE}", all.len());
            let page = self.call(base, Method::GET, &path, None).await?;
            let results = page["results"].as_array().cloned().unwrap_or_default();
            let got = results.len();
            all.extend(
                results
                    .iter()
                    .filter_map(|i| i["uid"].as_str().map(String::from)),
            );
            let total = page["total"].as_u64().unwrap_or(0) as usize;
            if got == 0 || all.len() >= total {
                return Ok(all);
            }
        }
    }
}

/// Asks every node of `expected` for its indexes, all at once, and compares.
pub async fn check(nodes: &NodeClient, expected: &Expected) -> IndexCheck {
    let asks = expected.nodes.iter().map(|(id, base)| async move {
        let r = nodes.list_indexes(base).await.map_err(|e| e.to_string());
        (id.clone(), r)
    });
    let found: BTreeMap<_, _> = join_all(asks).await.into_iter().collect();
    compare(expected, &found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(n: &str) -> NodeId {
        NodeId(n.into())
    }

    /// A copy is present, missing or unreachable by what its node said; a
    /// physical index no map names is stray, and flagged when a sweep owes it.
    #[test]
    fn copies_and_strays() {
        let expected = Expected {
            copies: vec![
                (IndexUid("a".into()), "a".into(), node("n1")),
                (IndexUid("a".into()), "a".into(), node("n2")),
                (IndexUid("b".into()), "b__miroir_g2".into(), node("n1")),
                (IndexUid("b".into()), "b__miroir_g2".into(), node("n3")),
            ],
            nodes: BTreeMap::new(),
            sweeps: [(node("n1"), vec!["b".to_string()])].into(),
            every_index: true,
        };
        let list = |l: &[&str]| Ok(l.iter().map(|s| s.to_string()).collect());
        let found = [
            (node("n1"), list(&["a", "b", "b__miroir_g2", "old"])),
            (node("n2"), list(&[])),
            (node("n3"), Err("connection refused".to_string())),
        ]
        .into();
        let c = compare(&expected, &found);
        let states: Vec<CopyState> = c.copies.iter().map(|c| c.state).collect();
        use CopyState::*;
        assert_eq!(states, [Present, Missing, Present, Unreachable]);
        assert_eq!(c.disagreements(), 2);
        let stray: Vec<(&str, bool)> = c
            .stray
            .iter()
            .map(|s| (s.physical.as_str(), s.on_sweep_list))
            .collect();
        assert_eq!(stray, [("b", true), ("old", false)]);
        let one = Expected {
            every_index: false,
            ..expected
        };
        assert!(
            compare(&one, &found).stray.is_empty(),
            "strays only over every index"
        );
    }
}
