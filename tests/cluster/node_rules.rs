//! Rules the devnode must follow as real Meilisearch does, asked of one node directly with the
//! same requests and the same expectations on both kinds: what a key's wildcards grant, and how
//! the task routes refuse bad parameters. Both come from `miroir::meili`, which the router uses
//! too.

use reqwest::Method;
use serde_json::json;

use crate::fleet::{Fleet, Nodes, KEY};

async fn key_wildcards_and_task_parameters_match_meilisearch(nodes: Nodes) {
    let mut fleet = Fleet::start_on(nodes, 1, 1).await;
    let node = fleet.nodes[0].2.addr.clone();
    let body = json!({"actions": ["*.get"], "indexes": ["*"], "expiresAt": null});
    let (status, key) = fleet
        .call(Method::POST, &format!("{node}/keys"), Some(&body))
        .await;
    assert_eq!(status, 201, "{key}");
    let token = key["key"].as_str().unwrap();
    // `*.get` reads everything but the keys themselves.
    let (status, _) = fleet
        .call_with(token, Method::GET, &format!("{node}/tasks"), None)
        .await;
    assert_eq!(status, 200);
    let (status, err) = fleet
        .call_with(token, Method::GET, &format!("{node}/keys"), None)
        .await;
    assert_eq!(
        (status, &err["code"]),
        (403, &json!("invalid_api_key")),
        "{err}"
    );

    let refused = |query: &'static str| {
        let url = format!("{node}/tasks?{query}");
        let fleet = &fleet;
        async move {
            let (status, err) = fleet.call_with(KEY, Method::GET, &url, None).await;
            assert_eq!(status, 400, "{query}: {err}");
            err
        }
    };
    let err = refused("foo=1").await;
    assert_eq!(
        err["message"],
        "Unknown parameter `foo`: expected one of `limit`, `from`, `reverse`, `batchUids`, `uids`, `canceledBy`, `types`, `statuses`, `indexUids`, `afterEnqueuedAt`, `beforeEnqueuedAt`, `afterStartedAt`, `beforeStartedAt`, `afterFinishedAt`, `beforeFinishedAt`"
    );
    assert_eq!(refused("reverse=x").await["code"], "invalid_task_reverse");
    assert_eq!(refused("batchUids=x").await["code"], "invalid_batch_uids");
    assert_eq!(refused("types=nope").await["code"], "invalid_task_types");
    let err = refused("statuses=done").await;
    assert_eq!(
        err["message"],
        "Invalid value in parameter `statuses`: `done` is not a valid task status. Available statuses are `enqueued`, `processing`, `succeeded`, `failed`, `canceled`."
    );
    // A task uid that is not a number, asked of the node and of a router over it: one answer.
    let router = fleet.start_router().await;
    for base in [&node, &router] {
        let (status, err) = fleet
            .call(Method::GET, &format!("{base}/tasks/x"), None)
            .await;
        assert_eq!(
            (status, &err["code"]),
            (400, &json!("invalid_task_uids")),
            "{base}: {err}"
        );
        assert_eq!(
            err["message"],
            "Task uid `x` is invalid. It should only contain numeric characters."
        );
    }
    // Key changes are not tasks, so no index creation is listed yet: an empty list, not an error.
    let url = format!("{node}/tasks?types=indexCreation&reverse=true");
    let (status, list) = fleet.call(Method::GET, &url, None).await;
    assert_eq!((status, &list["total"]), (200, &json!(0)), "{list}");
}

crate::on_both_nodes!(key_wildcards_and_task_parameters_match_meilisearch);
