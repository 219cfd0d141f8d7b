//! The router's administrative API: API keys (created on every node and
//! checked by the router), experimental features, batches, task cancelation
//! filters, and the features Miroir refuses with `miroir_unsupported_feature`.

use reqwest::Method;
use serde_json::json;

use crate::fleet::*;
use crate::router_writes::{create_index, finished};

/// A search key made through the router exists on every node with one value,
/// searches its index, is refused elsewhere with Meilisearch's 403, and stops
/// working once deleted.
async fn api_keys_live_on_every_node_and_are_enforced(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 1).await;
    let router = f.start_router().await;
    create_index(&f, &router, "movies", Some("id")).await;
    create_index(&f, &router, "books", Some("id")).await;

    let (status, _) = f
        .http
        .get(format!("{router}/indexes"))
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 401);

    let (status, key) = f
        .call(
            Method::POST,
            &format!("{router}/keys"),
            Some(&json!({"description": "search movies", "actions": ["search"], "indexes": ["movies"], "expiresAt": null})),
        )
        .await;
    assert_eq!(status, 201, "{key}");
    let value = key["key"].as_str().unwrap().to_string();
    let uid = key["uid"].as_str().unwrap().to_string();
    for (_, _, p) in &f.nodes {
        let (status, on_node) = f
            .call(Method::GET, &format!("{}/keys/{value}", p.addr), None)
            .await;
        assert_eq!(status, 200, "{on_node}");
        assert_eq!(on_node["uid"], uid.as_str());
    }
    let (status, listed) = f
        .call(Method::GET, &format!("{router}/keys?limit=50"), None)
        .await;
    assert_eq!(status, 200, "{listed}");
    assert!(listed["results"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["uid"] == uid.as_str()));

    let search = json!({"q": ""});
    let (status, body) = f
        .call_with(
            &value,
            Method::POST,
            &format!("{router}/indexes/movies/search"),
            Some(&search),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let multi = |index: &str| json!({"queries": [{"indexUid": index, "q": ""}]});
    let (status, body) = f
        .call_with(
            &value,
            Method::POST,
            &format!("{router}/multi-search"),
            Some(&multi("movies")),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let refused = [
        (Method::POST, "/multi-search", Some(multi("books"))),
        (Method::POST, "/indexes/books/search", Some(search.clone())),
        (
            Method::POST,
            "/indexes/movies/documents",
            Some(json!([{"id": 1}])),
        ),
        (Method::GET, "/keys", None),
        (Method::GET, "/indexes/movies/settings", None),
    ];
    for (m, path, body) in refused {
        let (status, err) = f
            .call_with(&value, m.clone(), &format!("{router}{path}"), body.as_ref())
            .await;
        assert_eq!(status, 403, "{m} {path}: {err}");
        assert_eq!(err["code"], "invalid_api_key");
        assert_eq!(err["message"], "The provided API key is invalid.");
    }
    // Its uid is not a key.
    let (status, _) = f
        .call_with(
            &uid,
            Method::POST,
            &format!("{router}/indexes/movies/search"),
            Some(&search),
        )
        .await;
    assert_eq!(status, 403);

    let (status, body) = f
        .call(Method::DELETE, &format!("{router}/keys/{uid}"), None)
        .await;
    assert_eq!(status, 204, "{body}");
    for (_, _, p) in &f.nodes {
        let (status, _) = f
            .call(Method::GET, &format!("{}/keys/{value}", p.addr), None)
            .await;
        assert_eq!(status, 404);
    }
    let (status, err) = f
        .call_with(
            &value,
            Method::POST,
            &format!("{router}/indexes/movies/search"),
            Some(&search),
        )
        .await;
    assert_eq!(status, 403, "{err}");
    assert_eq!(err["code"], "invalid_api_key");
}

/// Experimental features change on every node; batches, cancel filters and
/// unsupported routes answer in Meilisearch's shapes.
async fn features_batches_and_task_routes(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 2, 1).await;
    let router = f.start_router().await;

    let (status, features) = f
        .call(
            Method::PATCH,
            &format!("{router}/experimental-features"),
            Some(&json!({"containsFilter": true})),
        )
        .await;
    assert_eq!(status, 200, "{features}");
    assert_eq!(features["containsFilter"], true);
    for (_, _, p) in &f.nodes {
        let (_, on_node) = f
            .call(
                Method::GET,
                &format!("{}/experimental-features", p.addr),
                None,
            )
            .await;
        assert_eq!(on_node["containsFilter"], true, "{on_node}");
    }
    let (status, err) = f
        .call(
            Method::PATCH,
            &format!("{router}/experimental-features"),
            Some(&json!({"nope": true})),
        )
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "bad_request");

    let t = create_index(&f, &router, "movies", Some("id")).await;
    let uid = t["taskUid"].as_u64().unwrap();
    let (status, b) = f
        .call(Method::GET, &format!("{router}/batches/{uid}"), None)
        .await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["uid"], uid);
    assert_eq!(b["stats"]["types"], json!({"indexCreation": 1}));
    assert_eq!(b["stats"]["status"], json!({"succeeded": 1}));
    let (status, list) = f
        .call(
            Method::GET,
            &format!("{router}/batches?types=indexCreation&limit=5"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["results"][0]["uid"], uid);
    let (status, _) = f
        .call(Method::GET, &format!("{router}/batches/999999"), None)
        .await;
    assert_eq!(status, 404);

    let (status, err) = f
        .call(Method::POST, &format!("{router}/tasks/cancel"), None)
        .await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["code"], "missing_task_filters");
    // A finished task matches but cannot be canceled.
    let (status, c) = f
        .call(
            Method::POST,
            &format!("{router}/tasks/cancel?uids={uid}"),
            None,
        )
        .await;
    assert_eq!(status, 202, "{c}");
    assert_eq!(c["type"], "taskCancelation");
    let done = finished(&f, &router, &c).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(
        done["details"],
        json!({"matchedTasks": 1, "canceledTasks": 0, "originalFilter": format!("?uids={uid}")})
    );
    assert!(done["indexUid"].is_null());
    // Deleting: the finished task is forgotten by every router, and the
    // deletion is a task of its own.
    let (status, err) = f
        .call(Method::DELETE, &format!("{router}/tasks"), None)
        .await;
    assert_eq!(
        (status, err["code"].as_str()),
        (400, Some("missing_task_filters"))
    );
    let (status, d) = f
        .call(Method::DELETE, &format!("{router}/tasks?uids={uid}"), None)
        .await;
    assert_eq!(status, 202, "{d}");
    assert_eq!(d["type"], "taskDeletion");
    let done = finished(&f, &router, &d).await;
    assert_eq!(
        done["details"],
        json!({"matchedTasks": 1, "deletedTasks": 1, "originalFilter": format!("?uids={uid}")})
    );
    let (status, gone) = f
        .call(Method::GET, &format!("{router}/tasks/{uid}"), None)
        .await;
    assert_eq!(
        (status, gone["code"].as_str()),
        (404, Some("task_not_found")),
        "{gone}"
    );

    // A swap naming an index that does not exist fails its task, as in Meilisearch.
    let (status, t) = f
        .call(
            Method::POST,
            &format!("{router}/swap-indexes"),
            Some(&json!([{"indexes": ["movies", "no-such-books"]}])),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(&f, &router, &t).await;
    assert_eq!(done["error"]["code"], "index_not_found", "{done}");
}

/// Kills the process it holds when dropped.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A node started with another master key refuses the router: the key is
/// created nowhere, and the error says the nodes must share the master key.
async fn key_creation_is_all_or_nothing(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    let port = crate::util::free_port();
    let _odd = Child(
        std::process::Command::new(env!("CARGO_BIN_EXE_miroir-devnode"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--master-key", "another-master-key"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start a devnode"),
    );
    let health = format!("http://127.0.0.1:{port}/health");
    crate::util::eventually("the odd devnode to answer", || async {
        f.http.get(&health).send().await.ok().map(|_| ())
    })
    .await;
    let leader = f.cluster.leader().await;
    let req = miroir::pb::v1::AddNodeRequest {
        id: "meili-9-odd".into(),
        address: format!("http://127.0.0.1:{port}"),
        group: 0,
    };
    f.cluster
        .admin(leader)
        .await
        .add_node(f.cluster.req(req))
        .await
        .unwrap();
    let router = f.start_router().await;
    let (status, err) = f
        .call(
            Method::POST,
            &format!("{router}/keys"),
            Some(&json!({"description": "odd", "actions": ["search"], "indexes": ["*"], "expiresAt": null})),
        )
        .await;
    assert_eq!(status, 503, "{err}");
    assert_eq!(err["code"], "miroir_key_not_replicated");
    let message = err["message"].as_str().unwrap();
    assert!(
        message.contains("meili-9-odd") && message.contains("master key"),
        "{message}"
    );
    for (_, _, p) in &f.nodes {
        let (_, keys) = f
            .call(Method::GET, &format!("{}/keys?limit=50", p.addr), None)
            .await;
        let left = keys["results"].as_array().unwrap();
        assert!(left.iter().all(|k| k["description"] != "odd"), "{keys}");
    }
}

crate::on_both_nodes!(features_batches_and_task_routes,);

crate::on_both_nodes!(
    api_keys_live_on_every_node_and_are_enforced,
    key_creation_is_all_or_nothing,
);
