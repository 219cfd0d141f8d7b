//! Hinted repair (DESIGN section 9): a node away for longer than the node timeout while clients
//! add, partially update and delete documents has its copies marked behind (written, not read);
//! once it is back the leader repairs them from the serving copies and they serve again, holding
//! every acknowledged write and no deleted document. Each test-only switch that removes part of
//! this leaves copies that disagree, which the same check finds.

use std::collections::BTreeMap;

use miroir::pb::v1::{IndexRef, ListWorkflowsRequest, ShardMap};
use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished, set_settings, total};
use crate::util::*;

const INDEX: &str = "repaired";

fn docs(range: std::ops::Range<u64>) -> Vec<Value> {
    range
        .map(|i| json!({"id": i, "n": i, "title": format!("doc {i}")}))
        .collect()
}

async fn shard_map(f: &Fleet) -> ShardMap {
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let req = f.cluster.req(IndexRef { uid: INDEX.into() });
    admin.get_shard_map(req).await.unwrap().into_inner()
}

/// The roles of `node`'s copies, by role name.
async fn roles_of(f: &Fleet, node: &str) -> BTreeMap<String, usize> {
    let mut roles = BTreeMap::new();
    for a in shard_map(f).await.shards {
        for c in a.copies.iter().filter(|c| c.node == node) {
            *roles.entry(c.role.clone()).or_default() += 1;
        }
    }
    roles
}

/// Each copy's documents of one shard, by id, as the node holds them.
async fn copy_of(f: &Fleet, addr: &str, physical: &str, shard: u32) -> BTreeMap<String, Value> {
    let body = json!({"filter": format!("_miroir_shard = {shard}"), "limit": 100_000});
    let url = format!("{addr}/indexes/{physical}/documents/fetch");
    let (status, page) = f.call(Method::POST, &url, Some(&body)).await;
    assert_eq!(status, 200, "{page}");
    page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["id"].to_string(), d.clone()))
        .collect()
}

/// Where the copies of any shard disagree (once every node's queue is idle): `None` when every
/// copy of every shard holds the same documents at the same versions and content.
async fn disagreement(f: &Fleet) -> Option<String> {
    let map = shard_map(f).await;
    let addr = |id: &str| {
        let (_, _, p) = f.nodes.iter().find(|(n, _, _)| n == id).unwrap();
        p.addr.clone()
    };
    for (_, _, p) in &f.nodes {
        f.idle(&p.addr).await;
    }
    for a in &map.shards {
        let mut copies = vec![];
        for c in &a.copies {
            copies.push((
                c.node.clone(),
                copy_of(f, &addr(&c.node), &map.physical_index, a.shard).await,
            ));
        }
        let (first, rest) = copies.split_first().unwrap();
        for (node, docs) in rest {
            if docs != &first.1 {
                let missing = first.1.keys().filter(|k| !docs.contains_key(*k)).count();
                let extra = docs.keys().filter(|k| !first.1.contains_key(*k)).count();
                return Some(format!(
                    "shard {}: {node} differs from {} ({missing} missing, {extra} extra, {} documents against {})",
                    a.shard, first.0, docs.len(), first.1.len()
                ));
            }
        }
    }
    None
}

async fn ok(f: &Fleet, router: &str, method: Method, path: &str, body: Value) {
    let (status, t) = f
        .call(
            method,
            &format!("{router}/indexes/{INDEX}{path}"),
            Some(&body),
        )
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(f, router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
}

/// A document (20 to 59) whose shard has a copy on `node`.
async fn moved_id(f: &Fleet, node: &str) -> u64 {
    let map = shard_map(f).await;
    (20..60)
        .find(|id: &u64| {
            let key = miroir::placement::PrimaryKeyValue::Integer((*id).into());
            let s = miroir::placement::shard_for_key(&key, map.shards.len() as u32);
            map.shards[s.0 as usize]
                .copies
                .iter()
                .any(|c| c.node == node)
        })
        .expect("the node holds a shard of one of them")
}

/// Node 0 is away while clients add, update (`PUT`, partial) and delete (by id and by filter)
/// documents through the router; then it is brought back. Returns the fleet once the writes are
/// acknowledged and the node answers again, with the roles node 0's copies had while it was away.
async fn away_while_writing(
    nodes: Nodes,
    coordinators: &[&str],
    router_flags: &[&str],
) -> (Fleet, String, BTreeMap<String, usize>) {
    let mut f = Fleet::start_with_coordinators(nodes, 2, 2, coordinators).await;
    f.set_config("default_shards", "8").await;
    let flags = [&["--node-timeout-ms", "2000"][..], router_flags].concat();
    let router = f.start_router_with(&flags).await;
    create_index(&f, &router, INDEX, Some("id")).await;
    set_settings(&f, &router, INDEX, json!({"filterableAttributes": ["n"]})).await;
    add_documents(&f, &router, INDEX, docs(0..60)).await;
    let away = f.nodes[0].0.clone();

    f.take_away(0);
    add_documents(&f, &router, INDEX, docs(60..120)).await;
    set_settings(
        &f,
        &router,
        INDEX,
        json!({"synonyms": {"doc": ["document"]}}),
    )
    .await;
    let partial: Vec<Value> = (0..10)
        .map(|i| json!({"id": i, "extra": "updated"}))
        .collect();
    ok(&f, &router, Method::PUT, "/documents", Value::from(partial)).await;
    let ids: Vec<u64> = (10..20).collect();
    ok(
        &f,
        &router,
        Method::POST,
        "/documents/delete-batch",
        json!(ids),
    )
    .await;
    // A document of the away node is changed so that the delete by filter below matches it on
    // the serving copies, and not the older content the away node still holds.
    let moved = moved_id(&f, &away).await;
    let change = json!([{"id": moved, "n": 150}]);
    ok(&f, &router, Method::PUT, "/documents", change).await;
    let filter = json!({"filter": "(n >= 100 AND n < 110) OR n = 150"});
    ok(&f, &router, Method::POST, "/documents/delete", filter).await;
    let roles = roles_of(&f, &away).await;

    f.bring_back(0).await;
    (f, router, roles)
}

/// The node's copies are behind while it is away, and repaired back to serving with every
/// acknowledged write and none of the deleted documents once it is back.
async fn a_node_away_is_repaired_when_back(nodes: Nodes) {
    let (f, router, roles) = away_while_writing(nodes, &[], &[]).await;
    let away = f.nodes[0].0.clone();
    assert!(
        roles.contains_key("behind") && !roles.contains_key("serving"),
        "{roles:?}"
    );
    eventually("the node's copies to serve again", || async {
        let r = roles_of(&f, &away).await;
        (r.keys().collect::<Vec<_>>() == ["serving"]).then_some(())
    })
    .await;
    assert_eq!(disagreement(&f).await, None);
    assert_eq!(total(&f, &router, INDEX).await, 99);
    // The settings change it missed was brought to it with the documents.
    let physical = shard_map(&f).await.physical_index;
    let mut synonyms = vec![];
    for (_, _, p) in &f.nodes {
        let url = format!("{}/indexes/{physical}/settings/synonyms", p.addr);
        synonyms.push(f.call(Method::GET, &url, None).await.1);
    }
    assert!(
        synonyms.iter().all(|s| s == &json!({"doc": ["document"]})),
        "{synonyms:?}"
    );
    // The deletes made while the node was away are not undone by its return.
    let moved = moved_id(&f, &f.nodes[0].0).await;
    for (_, _, p) in &f.nodes {
        for id in (10..20).chain(100..110).chain([moved]) {
            let url = format!("{}/indexes/{physical}/documents/{id}", p.addr);
            let (status, d) = f.call(Method::GET, &url, None).await;
            assert_eq!(status, 404, "document {id} is back on {}: {d}", p.addr);
        }
    }
    let (_, hits) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/{INDEX}/search"),
            Some(&json!({"q": "", "filter": "n < 10", "limit": 20})),
        )
        .await;
    let hits = hits["hits"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 10);
    assert!(
        hits.iter()
            .all(|h| h["extra"] == "updated" && h["title"].is_string()),
        "{hits:?}"
    );
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let list = admin
        .list_workflows(f.cluster.req(ListWorkflowsRequest {
            running_only: false,
        }))
        .await
        .unwrap()
        .into_inner();
    let repair = list
        .workflows
        .iter()
        .find(|w| w.kind == "copy_repair" && w.phase == "done")
        .expect("a finished repair");
    let r = repair.repair.as_ref().unwrap();
    assert_eq!(r.node, away);
    assert!(r.written > 0 && !r.served.is_empty(), "{r:?}");
}

crate::on_both_nodes!(a_node_away_is_repaired_when_back);

/// With the router's misses unreported, the node's copies keep serving what they missed.
#[tokio::test(flavor = "multi_thread")]
async fn unreported_misses_leave_copies_wrong() {
    let (f, _, roles) = away_while_writing(Nodes::Devnode, &[], &["--unsafe-skip-misses"]).await;
    assert!(!roles.contains_key("behind"), "{roles:?}");
    let found = disagreement(&f).await;
    assert!(
        found.is_some(),
        "the switch must leave copies that disagree"
    );
}

/// With repairs that copy nothing, the copies serve again as they were.
#[tokio::test(flavor = "multi_thread")]
async fn repairs_that_copy_nothing_leave_copies_wrong() {
    let (f, _, _) = away_while_writing(Nodes::Devnode, &["--unsafe-serve-unrepaired"], &[]).await;
    let away = f.nodes[0].0.clone();
    eventually("the node's copies to serve again", || async {
        let r = roles_of(&f, &away).await;
        (r.keys().collect::<Vec<_>>() == ["serving"]).then_some(())
    })
    .await;
    assert!(
        disagreement(&f).await.is_some(),
        "the switch must leave copies that disagree"
    );
}

/// The leader is killed while a repair waits for the returned node's queue; the next leader
/// finishes the repair and the copies serve again, complete.
#[tokio::test(flavor = "multi_thread")]
async fn a_repair_finishes_when_its_leader_dies() {
    let pause = ["--test-pause-workflow-phase", "wait_node=2000"];
    let (mut f, router, _) = away_while_writing(Nodes::Devnode, &pause, &[]).await;
    let away = f.nodes[0].0.clone();
    eventually("the repair to wait for the node", || async {
        let leader = f.cluster.leader().await;
        let mut admin = f.cluster.admin(leader).await;
        let req = f.cluster.req(ListWorkflowsRequest { running_only: true });
        let list = admin.list_workflows(req).await.ok()?.into_inner();
        list.workflows
            .iter()
            .any(|w| w.kind == "copy_repair" && w.phase == "wait_node")
            .then_some(())
    })
    .await;
    let leader = f.cluster.leader().await;
    f.cluster.kill(leader);
    eventually("the node's copies to serve again", || async {
        let r = roles_of(&f, &away).await;
        (r.keys().collect::<Vec<_>>() == ["serving"]).then_some(())
    })
    .await;
    assert_eq!(disagreement(&f).await, None);
    assert_eq!(total(&f, &router, INDEX).await, 99);
}
