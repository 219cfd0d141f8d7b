//! Document versions (DESIGN section 6): every document a router writes
//! carries `_miroir_version`, which only goes up for a router, across its
//! restart, and across routers for writes more than twice the skew bound
//! apart; a router whose clock is too far from the leader's refuses to write.
//! Clocks are shifted with the routers' test-only `--test-clock-offset-ms`.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{create_index, finished};
use crate::util::*;

/// One node, a short lease (so a restarted router gets its id back soon)
/// and the skew bound `skew_ms`.
async fn fleet(nodes: Nodes, skew_ms: u64) -> Fleet {
    let f = Fleet::start_on(nodes, 1, 1).await;
    f.set_config("lease_ms", "1000").await;
    f.set_config("max_clock_skew_ms", &skew_ms.to_string())
        .await;
    f
}

/// Writes `{id, by}` through `router` and waits for its task; returns the
/// version the node holds for the document afterwards.
async fn write(f: &Fleet, router: &str, uid: &str, id: &str, by: &str) -> u64 {
    let url = format!("{router}/indexes/{uid}/documents");
    let doc = json!([{"id": id, "by": by}]);
    let t = eventually("the router to take a write", || async {
        let (status, t) = f.call(Method::POST, &url, Some(&doc)).await;
        (status == 202).then_some(t)
    })
    .await;
    assert_eq!(finished(f, router, &t).await["status"], "succeeded");
    node_doc(f, uid, id).await["_miroir_version"]
        .as_u64()
        .expect("a version on the node")
}

/// A document as the (only) node holds it, Miroir's fields included.
async fn node_doc(f: &Fleet, uid: &str, id: &str) -> Value {
    let node = &f.nodes[0].2.addr;
    let (status, d) = f
        .call(
            Method::GET,
            &format!("{node}/indexes/{uid}/documents/{id}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{d}");
    d
}

/// Versions go up with every write of one router, and across a restart
/// under the same id with its clock stepped back by `step_ms`; returns the
/// versions before and after the restart.
async fn versions_around_a_restart(nodes: Nodes, step_ms: i64, extra: &[&str]) -> (u64, u64) {
    let mut f = fleet(nodes, 5000).await;
    let ahead = (step_ms / 2).to_string();
    let behind = (-step_ms / 2).to_string();
    let args = [&["--test-clock-offset-ms", ahead.as_str()][..], extra].concat();
    let router = f.start_router_named("steady", &args).await;
    create_index(&f, &router, "versioned", Some("id")).await;
    let mut last = 0;
    for i in 0..3 {
        let v = write(&f, &router, "versioned", "doc", &format!("first-{i}")).await;
        assert!(v > last, "versions go up: {v} after {last}");
        last = v;
    }
    f.routers.pop().unwrap().kill();
    let args = [&["--test-clock-offset-ms", behind.as_str()][..], extra].concat();
    let router = f.start_router_named("steady", &args).await;
    let after = write(&f, &router, "versioned", "doc", "restarted").await;
    (last, after)
}

async fn versions_never_go_back_for_a_router(nodes: Nodes) {
    let (before, after) = versions_around_a_restart(nodes, 8000, &[]).await;
    assert!(
        after > before,
        "a restarted router's clock stepped back 8 s, yet its versions go on rising: {after} after {before}"
    );
}

/// Without the floor and ceiling (the unsafe switch), the same restart
/// makes versions go back: the check above is what keeps them rising.
#[tokio::test(flavor = "multi_thread")]
async fn unchecked_versions_go_back_across_a_restart() {
    let (before, after) =
        versions_around_a_restart(Nodes::Devnode, 8000, &["--unsafe-unchecked-versions"]).await;
    assert!(
        after < before,
        "expected a step back: {after} after {before}"
    );
}

/// Two routers with clocks `offset_ms` apart: one writes, then, once twice
/// the skew bound has passed, the other overwrites; returns both versions.
async fn two_routers_in_turn(nodes: Nodes, offset_ms: i64, extra: &[&str]) -> (u64, u64) {
    let skew_ms = 500;
    let mut f = fleet(nodes, skew_ms).await;
    let ahead = (offset_ms / 2).to_string();
    let behind = (-offset_ms / 2).to_string();
    let fast = f
        .start_router_with(&[&["--test-clock-offset-ms", ahead.as_str()][..], extra].concat())
        .await;
    let slow = f
        .start_router_with(&[&["--test-clock-offset-ms", behind.as_str()][..], extra].concat())
        .await;
    create_index(&f, &fast, "turns", Some("id")).await;
    let first = write(&f, &fast, "turns", "doc", "fast").await;
    // The ordering promise is for writes more than twice the bound apart.
    tokio::time::sleep(std::time::Duration::from_millis(2 * skew_ms + 100)).await;
    let second = write(&f, &slow, "turns", "doc", "slow").await;
    (first, second)
}

/// Clocks 800 ms apart, within a 500 ms bound of the leader's each: the
/// later write has the higher version.
async fn versions_order_writes_across_routers(nodes: Nodes) {
    let (first, second) = two_routers_in_turn(nodes, 800, &[]).await;
    assert!(second > first, "{second} after {first}");
}

/// Clocks 6 s apart with the check switched off: the later write gets the
/// lower version (what the skew bound prevents).
#[tokio::test(flavor = "multi_thread")]
async fn unchecked_clocks_misorder_writes_across_routers() {
    let (first, second) =
        two_routers_in_turn(Nodes::Devnode, 6000, &["--unsafe-unchecked-versions"]).await;
    assert!(
        second < first,
        "expected misordered versions: {second} after {first}"
    );
}

/// A router 3 s ahead of the leader, with a 500 ms bound, refuses writes
/// with a reason and sends nothing; searches still answer.
async fn a_router_too_far_off_refuses_writes(nodes: Nodes) {
    let mut f = fleet(nodes, 500).await;
    let good = f.start_router().await;
    let off = f
        .start_router_with(&["--test-clock-offset-ms", "3000"])
        .await;
    create_index(&f, &good, "skewed", Some("id")).await;
    let url = format!("{off}/indexes/skewed/documents");
    let (status, body) = eventually("the skewed router to learn the leader's time", || async {
        let r = f
            .call(Method::POST, &url, Some(&json!([{"id": "x"}])))
            .await;
        (r.1["code"] != "miroir_no_lease").then_some(r)
    })
    .await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "miroir_clock_skew", "{body}");
    let msg = body["message"].as_str().unwrap_or_default();
    assert!(msg.contains("ahead of") && msg.contains("NTP"), "{msg}");
    let node = &f.nodes[0].2.addr;
    let (_, docs) = f
        .call(
            Method::GET,
            &format!("{node}/indexes/skewed/documents"),
            None,
        )
        .await;
    assert_eq!(docs["total"], 0, "nothing reached the node: {docs}");
    let (status, found) = f
        .call(
            Method::POST,
            &format!("{off}/indexes/skewed/search"),
            Some(&json!({"q": ""})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
}

/// `_miroir_version` is filterable and sortable on the nodes from the
/// index's creation, and never shown to clients.
async fn versions_are_kept_on_nodes_and_hidden_from_clients(nodes: Nodes) {
    let mut f = fleet(nodes, 500).await;
    let router = f.start_router().await;
    create_index(&f, &router, "hidden", Some("id")).await;
    write(&f, &router, "hidden", "a", "me").await;
    let node = &f.nodes[0].2.addr;
    let (_, s) = f
        .call(
            Method::GET,
            &format!("{node}/indexes/hidden/settings"),
            None,
        )
        .await;
    let has = |list: &Value| {
        list.as_array()
            .is_some_and(|l| l.iter().any(|v| v == "_miroir_version"))
    };
    assert!(
        has(&s["filterableAttributes"]) && has(&s["sortableAttributes"]),
        "{s}"
    );
    let (_, s) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/hidden/settings"),
            None,
        )
        .await;
    assert!(
        !has(&s["filterableAttributes"]) && !has(&s["sortableAttributes"]),
        "{s}"
    );
    let (_, d) = f
        .call(
            Method::GET,
            &format!("{router}/indexes/hidden/documents/a"),
            None,
        )
        .await;
    assert_eq!(d, json!({"id": "a", "by": "me"}));
    let (status, e) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/hidden/documents"),
            Some(&json!([{"id": "b", "_miroir_version": 1}])),
        )
        .await;
    assert_eq!((status, &e["code"]), (202, &json!(null)), "{e}");
    let t = finished(&f, &router, &e).await;
    assert_eq!(t["status"], "failed", "{t}");
    assert_eq!(t["error"]["code"], "miroir_reserved_field", "{t}");
}

crate::on_both_nodes!(
    versions_never_go_back_for_a_router,
    versions_order_writes_across_routers,
    a_router_too_far_off_refuses_writes,
    versions_are_kept_on_nodes_and_hidden_from_clients,
);
