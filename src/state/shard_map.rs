//! A shard map: for one index, which nodes serve each shard's reads and take
//! its writes, and whether its writes are fenced.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::error::CommandError;
use super::ids::{Epoch, IndexUid, NodeId, ShardId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fence {
    /// Writes flow.
    Open,
    /// A cutover holds writes back in the routers until the next epoch.
    Fenced,
}

impl Fence {
    pub fn as_str(self) -> &'static str {
        match self {
            Fence::Open => "open",
            Fence::Fenced => "fenced",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        match s {
            "open" => Ok(Fence::Open),
            "fenced" => Ok(Fence::Fenced),
            other => Err(CommandError::invalid(format!(
                "unknown fence state `{other}`"
            ))),
        }
    }
}

/// What one copy of a shard is for (DESIGN section 6, replica roles). A
/// node's state (active, draining, failed) is not a role: a draining node's
/// copies stay serving until they have moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read and written; counts toward its group's quorum.
    Serving,
    /// The target of a copy: written, never read, never counted.
    Filling,
    /// Missed writes during an outage: written, not read, not counted,
    /// until a repair brings it back.
    Behind,
    /// Being replaced: still read, written and counted (it is what readers
    /// see) while its replacement fills; leaves the map under a fence.
    Leaving,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Serving, Role::Filling, Role::Behind, Role::Leaving];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Serving => "serving",
            Role::Filling => "filling",
            Role::Behind => "behind",
            Role::Leaving => "leaving",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| {
                CommandError::invalid(format!(
                    "unknown replica role `{s}`: use serving, filling, behind or leaving"
                ))
            })
    }

    /// Whether reads are sent to a copy in this role.
    pub fn is_read(self) -> bool {
        matches!(self, Role::Serving | Role::Leaving)
    }

    /// Whether a copy's acknowledgement counts toward its group's quorum:
    /// exactly the copies that are read, so an acknowledged write is on
    /// what readers see.
    pub fn counts_for_quorum(self) -> bool {
        self.is_read()
    }

    /// The moves a workflow may make (the test-only role command may set
    /// any role): a filled copy starts serving, a serving one falls behind
    /// and is repaired back or rebuilt, a serving one is replaced.
    pub fn can_become(self, to: Role) -> bool {
        matches!(
            (self, to),
            (Role::Filling, Role::Serving)
                | (Role::Serving, Role::Behind)
                | (Role::Behind, Role::Serving)
                | (Role::Behind, Role::Filling)
                | (Role::Serving, Role::Leaving)
                | (Role::Leaving, Role::Serving)
        )
    }
}

/// One copy of a shard: the node that holds it and its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardCopy {
    pub node: NodeId,
    pub role: Role,
}

impl ShardCopy {
    /// Copies from read and write lists, as maps were kept before roles: a
    /// copy read is serving, one only written is filling.
    pub fn from_lists(read: &[NodeId], write: Vec<NodeId>) -> Vec<ShardCopy> {
        write
            .into_iter()
            .map(|node| {
                let role = match read.contains(&node) {
                    true => Role::Serving,
                    false => Role::Filling,
                };
                ShardCopy { node, role }
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "StoredAssignment")]
pub struct ShardAssignment {
    pub shard: ShardId,
    /// Every copy, across all replica groups; every copy takes writes.
    pub copies: Vec<ShardCopy>,
    pub fence: Fence,
}

/// A stored assignment, also as written before roles existed (`read` and
/// `write` lists, every copy serving).
#[derive(Deserialize)]
struct StoredAssignment {
    shard: ShardId,
    #[serde(default)]
    copies: Option<Vec<ShardCopy>>,
    #[serde(default)]
    read: Vec<NodeId>,
    #[serde(default)]
    write: Vec<NodeId>,
    fence: Fence,
}

impl From<StoredAssignment> for ShardAssignment {
    fn from(s: StoredAssignment) -> Self {
        let copies = s
            .copies
            .unwrap_or_else(|| ShardCopy::from_lists(&s.read, s.write));
        ShardAssignment {
            shard: s.shard,
            copies,
            fence: s.fence,
        }
    }
}

impl ShardAssignment {
    /// A shard whose `owners` all serve, unfenced.
    pub fn serving(shard: ShardId, owners: Vec<NodeId>) -> Self {
        let copies = owners
            .into_iter()
            .map(|node| ShardCopy {
                node,
                role: Role::Serving,
            })
            .collect();
        ShardAssignment {
            shard,
            copies,
            fence: Fence::Open,
        }
    }

    /// The nodes reads may go to.
    pub fn readers(&self) -> impl Iterator<Item = &NodeId> {
        self.copies
            .iter()
            .filter(|c| c.role.is_read())
            .map(|c| &c.node)
    }

    /// The nodes every write goes to.
    pub fn writers(&self) -> impl Iterator<Item = &NodeId> {
        self.copies.iter().map(|c| &c.node)
    }

    pub fn role_of(&self, node: &NodeId) -> Option<Role> {
        self.copies.iter().find(|c| &c.node == node).map(|c| c.role)
    }

    pub fn holds(&self, node: &NodeId) -> bool {
        self.role_of(node).is_some()
    }

    /// The quorum rule: some replica group acknowledged this shard with a
    /// majority of its counted copies (serving and leaving; filling and
    /// behind copies are written but never counted, and a group with no
    /// counted copy cannot acknowledge). `count_every_copy` is the unsafe
    /// test switch that counts them all.
    pub fn acknowledged<G: Ord>(
        &self,
        group_of: impl Fn(&NodeId) -> G,
        acked: &BTreeSet<NodeId>,
        count_every_copy: bool,
    ) -> bool {
        let mut by_group: BTreeMap<G, (usize, usize)> = BTreeMap::new();
        for c in &self.copies {
            if !(c.role.counts_for_quorum() || count_every_copy) {
                continue;
            }
            let e = by_group.entry(group_of(&c.node)).or_default();
            e.0 += 1;
            e.1 += usize::from(acked.contains(&c.node));
        }
        by_group.values().any(|(copies, ok)| *ok * 2 > *copies)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardMap {
    pub index: IndexUid,
    pub epoch: Epoch,
    pub shards: Vec<ShardAssignment>,
    /// The index's name on the nodes (DESIGN section 6, physical indexes);
    /// every node call uses it. Empty in maps stored before it existed,
    /// which name the first generation.
    #[serde(default)]
    pub physical: String,
}

impl ShardMap {
    /// The index's name on the nodes.
    pub fn physical(&self) -> &str {
        match self.physical.is_empty() {
            true => &self.index.0,
            false => &self.physical,
        }
    }

    /// Whether any shard has a copy on `node`.
    pub fn uses(&self, node: &NodeId) -> bool {
        self.shards.iter().any(|s| s.holds(node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(node: &str, role: Role) -> ShardCopy {
        ShardCopy {
            node: NodeId(node.into()),
            role,
        }
    }

    /// Serving and leaving copies are read; every copy is written.
    #[test]
    fn roles_decide_readers_and_writers() {
        let a = ShardAssignment {
            shard: ShardId(0),
            copies: vec![
                copy("s", Role::Serving),
                copy("f", Role::Filling),
                copy("b", Role::Behind),
                copy("l", Role::Leaving),
            ],
            fence: Fence::Open,
        };
        let names = |it: Vec<&NodeId>| it.into_iter().map(|n| n.0.clone()).collect::<Vec<_>>();
        assert_eq!(names(a.readers().collect()), ["s", "l"]);
        assert_eq!(names(a.writers().collect()), ["s", "f", "b", "l"]);
        assert!(Role::Filling.can_become(Role::Serving));
        assert!(!Role::Filling.can_become(Role::Leaving));
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("primary").is_err());
    }

    /// Quorum is a majority of the counted copies of one group.
    #[test]
    fn quorum_counts_serving_copies_only() {
        let a = ShardAssignment {
            shard: ShardId(0),
            copies: vec![
                copy("s1", Role::Serving),
                copy("s2", Role::Serving),
                copy("f", Role::Filling),
            ],
            fence: Fence::Open,
        };
        let acked = |ns: &[&str]| ns.iter().map(|n| NodeId(n.to_string())).collect();
        let one_group = |_: &NodeId| 0;
        assert!(a.acknowledged(one_group, &acked(&["s1", "s2"]), false));
        assert!(!a.acknowledged(one_group, &acked(&["s1", "f"]), false));
        assert!(
            a.acknowledged(one_group, &acked(&["s1", "f"]), true),
            "switch"
        );
        let all_filling = ShardAssignment {
            copies: vec![copy("f", Role::Filling)],
            ..a.clone()
        };
        assert!(!all_filling.acknowledged(one_group, &acked(&["f"]), false));
    }

    /// Maps stored before roles existed read back with every copy read
    /// serving, and one only written filling.
    #[test]
    fn old_assignments_read_back_serving() {
        let old = r#"{"shard":3,"read":["a"],"write":["a","b"],"fence":"open"}"#;
        let a: ShardAssignment = serde_json::from_str(old).unwrap();
        assert_eq!(
            a.copies,
            vec![copy("a", Role::Serving), copy("b", Role::Filling)]
        );
        let again: ShardAssignment =
            serde_json::from_str(&serde_json::to_string(&a).unwrap()).unwrap();
        assert_eq!(again, a);
    }
}
