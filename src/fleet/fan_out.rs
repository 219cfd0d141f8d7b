//! One request to many nodes. Reads go to all at once; a change every node must carry out goes to
//! one node first, so that a request Meilisearch refuses is refused before any other node changed.

use std::future::Future;

use futures::future::join_all;
use serde_json::Value;

use crate::fleet::NodeError;

/// Calls every target at once; the answers come back in the targets' order.
pub async fn fan_out<K, T, F, Fut>(targets: &[K], call: F) -> Vec<(K, T)>
where
    K: Clone,
    F: Fn(K) -> Fut,
    Fut: Future<Output = T>,
{
    let answers = join_all(targets.iter().cloned().map(&call)).await;
    targets.iter().cloned().zip(answers).collect()
}

/// The refusal that stopped a change before it reached more than one node: Meilisearch's status
/// and error object, for the client.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    pub status: u16,
    pub body: Value,
}

/// Calls the targets one at a time until one answers; if that answer is a refusal `stops`
/// accepts (the request itself is wrong), nothing else is sent. Otherwise the remaining targets
/// are called at once. Every target's answer comes back, in the targets' order.
pub async fn probe_then_rest<K, T, F, Fut>(
    targets: &[K],
    stops: impl Fn(u16) -> bool,
    call: F,
) -> Result<Vec<(K, Result<T, NodeError>)>, Refused>
where
    K: Clone,
    F: Fn(K) -> Fut,
    Fut: Future<Output = Result<T, NodeError>>,
{
    let mut answers = Vec::with_capacity(targets.len());
    let mut next = 0;
    while next < targets.len() {
        let target = targets[next].clone();
        next += 1;
        let answer = call(target.clone()).await;
        match &answer {
            Err(NodeError::Refused { status, body }) if stops(*status) => {
                return Err(Refused {
                    status: *status,
                    body: body.clone(),
                })
            }
            Err(NodeError::Unreachable { .. }) => answers.push((target, answer)),
            _ => {
                answers.push((target, answer));
                break;
            }
        }
    }
    answers.extend(fan_out(&targets[next..], call).await);
    Ok(answers)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;

    use super::*;

    fn down(n: u32) -> NodeError {
        NodeError::Unreachable {
            node: n.to_string(),
            reason: "refused".into(),
        }
    }

    /// A refusal from the first node that answers stops the change: the nodes after it are
    /// never called. Nodes that did not answer before it are passed over.
    #[tokio::test]
    async fn a_refusal_stops_before_other_nodes_change() {
        let called = Mutex::new(vec![]);
        let r = probe_then_rest(
            &[1, 2, 3],
            |s| s < 500,
            |n| {
                called.lock().unwrap().push(n);
                async move {
                    match n {
                        1 => Err(down(1)),
                        _ => Err::<(), _>(NodeError::Refused {
                            status: 400,
                            body: json!({"code": "invalid_settings"}),
                        }),
                    }
                }
            },
        )
        .await;
        assert_eq!(r.unwrap_err().body["code"], "invalid_settings");
        assert_eq!(*called.lock().unwrap(), vec![1, 2]);
    }

    /// Once a node accepted, every other node is called, and every answer is returned in order.
    #[tokio::test]
    async fn an_accepted_change_reaches_every_node() {
        let r = probe_then_rest(
            &[1, 2, 3, 4],
            |s| s < 500,
            |n| async move {
                if n == 3 {
                    Err(down(3))
                } else {
                    Ok(n * 10)
                }
            },
        )
        .await
        .unwrap();
        let got: Vec<_> = r.iter().map(|(n, a)| (*n, a.clone().ok())).collect();
        assert_eq!(
            got,
            vec![(1, Some(10)), (2, Some(20)), (3, None), (4, Some(40))]
        );
        // A refusal `stops` does not accept is an answer like any other.
        let r = probe_then_rest(
            &[1, 2],
            |_| false,
            |n| async move {
                Err::<(), _>(NodeError::Refused {
                    status: 401,
                    body: json!({}),
                })
                .map(|_: ()| n)
            },
        )
        .await
        .unwrap();
        assert_eq!(r.len(), 2);
    }
}
