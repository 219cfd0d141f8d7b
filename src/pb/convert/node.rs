use crate::pb::v1;
use crate::state::Node;

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
