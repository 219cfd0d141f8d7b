//! Replica roles (DESIGN section 6): a write is acknowledged by a majority
//! of a group's serving copies, never by filling or behind ones, and reads
//! go to serving copies only. Roles are set with the coordinators' test-only
//! `SetCopyRole` (`--test-commands`); one group of three nodes holds three
//! copies of a one-shard index.

use reqwest::Method;
use serde_json::json;

use crate::fleet::*;
use crate::router_writes::create_index;
use crate::util::*;
use miroir::pb::v1::SetCopyRoleRequest;

async fn fleet(nodes: Nodes) -> Fleet {
    let f = Fleet::start_with_coordinators(nodes, 1, 3, &["--test-commands"]).await;
    f.set_config("default_shards", "1").await;
    f.set_config("default_replication_factor", "3").await;
    f
}

async fn set_role(f: &Fleet, node: usize, role: &str) {
    let leader = f.cluster.leader().await;
    let req = SetCopyRoleRequest {
        index: "roles".into(),
        shard: 0,
        node: f.nodes[node].0.clone(),
        role: role.into(),
    };
    f.cluster
        .admin(leader)
        .await
        .set_copy_role(f.cluster.req(req))
        .await
        .unwrap();
}

async fn write(f: &Fleet, router: &str, id: u32) -> (u16, serde_json::Value) {
    let url = format!("{router}/indexes/roles/documents");
    f.call(Method::POST, &url, Some(&json!([{"id": id}]))).await
}

/// Whether a search through `router` says a shard had no copy to read.
async fn degraded(f: &Fleet, router: &str) -> bool {
    let resp = f
        .http
        .post(format!("{router}/indexes/roles/search"))
        .bearer_auth(KEY)
        .json(&json!({"q": ""}))
        .send()
        .await
        .unwrap();
    resp.headers().get("x-miroir-degraded").is_some()
}

/// Two copies filling and the serving one down: the fillers are up but not
/// read (searches are degraded), and their acknowledgements do not make a
/// quorum (503). Returns the write's status once the router routes by the
/// new roles.
async fn fillers_up_server_down(nodes: Nodes, extra: &[&str]) -> (u16, serde_json::Value) {
    let mut f = fleet(nodes).await;
    let router = f.start_router_with(extra).await;
    create_index(&f, &router, "roles", Some("id")).await;
    set_role(&f, 1, "filling").await;
    set_role(&f, 2, "filling").await;
    f.nodes[0].2.kill();
    eventually("the router to read by the new roles", || async {
        degraded(&f, &router).await.then_some(())
    })
    .await;
    write(&f, &router, 1).await
}

async fn filling_copies_are_neither_read_nor_counted(nodes: Nodes) {
    let (status, body) = fillers_up_server_down(nodes, &[]).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "miroir_no_quorum", "{body}");
}

/// With filling copies counted (the unsafe switch), the same write is
/// acknowledged by copies no one reads: what the rule above prevents.
#[tokio::test(flavor = "multi_thread")]
async fn counting_every_copy_acknowledges_unread_writes() {
    let (status, body) =
        fillers_up_server_down(Nodes::Devnode, &["--unsafe-count-every-copy"]).await;
    assert_eq!(status, 202, "{body}");
}

/// Two copies behind and down, one serving and up: the serving copy alone
/// is the group's majority, so writes go through (with all three serving,
/// one acknowledgement of three is no quorum).
async fn the_serving_copies_alone_make_the_quorum(nodes: Nodes) {
    let mut f = fleet(nodes).await;
    let router = f.start_router().await;
    create_index(&f, &router, "roles", Some("id")).await;
    f.nodes[1].2.kill();
    f.nodes[2].2.kill();
    let (status, body) = write(&f, &router, 1).await;
    assert_eq!(status, 503, "one copy of three serving: {body}");
    set_role(&f, 1, "behind").await;
    set_role(&f, 2, "behind").await;
    eventually("the write to reach quorum on the serving copy", || async {
        let (status, _) = write(&f, &router, 2).await;
        (status == 202).then_some(())
    })
    .await;
    assert!(
        !degraded(&f, &router).await,
        "the serving copy answers reads"
    );
}

crate::on_both_nodes!(
    filling_copies_are_neither_read_nor_counted,
    the_serving_copies_alone_make_the_quorum,
);
