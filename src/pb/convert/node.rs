use crate::pb::v1;
use crate::state::{CommandError, GroupId, Node, NodeId, NodeState};

impl From<&Node> for v1::Node {
    fn from(n: &Node) -> Self {
        v1::Node {
            id: n.id.0.clone(),
            address: n.address.clone(),
            group: n.group.0,
            state: n.state.as_str().to_string(),
        }
    }
}

impl TryFrom<v1::Node> for Node {
    type Error = CommandError;

    fn try_from(n: v1::Node) -> Result<Self, CommandError> {
        Ok(Node {
            id: NodeId::parse(&n.id)?,
            address: n.address,
            group: GroupId(n.group),
            state: NodeState::parse(&n.state)?,
        })
    }
}
