//! Workflows run by the coordinator leader (DESIGN section 9), with index
//! deletion as the first: it finishes whichever phase its leader dies in,
//! `miroir-ctl indexes delete` runs it like `DELETE /indexes/{uid}`, and a
//! node that was down during it is cleaned once it answers again.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{add_documents, create_index, finished, total};
use crate::util::*;
use miroir::pb::v1::{IndexRef, ListWorkflowsRequest, Workflow, WorkflowRef};

/// The newest workflow, as a live coordinator reports it.
async fn newest(f: &Fleet) -> Option<Workflow> {
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let req = f.cluster.req(ListWorkflowsRequest {
        running_only: false,
    });
    let list = admin.list_workflows(req).await.ok()?.into_inner();
    list.workflows.into_iter().next()
}

async fn workflow(f: &Fleet, id: u64) -> Option<Workflow> {
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let r = admin.get_workflow(f.cluster.req(WorkflowRef { id })).await;
    r.ok().map(|r| r.into_inner())
}

/// Whether node `addr` holds index `uid`, once its queue is idle.
async fn on_node(f: &Fleet, addr: &str, uid: &str) -> bool {
    eventually("the node's queue to be idle", || async {
        let (_, tasks) = f
            .call(
                Method::GET,
                &format!("{addr}/tasks?statuses=enqueued,processing"),
                None,
            )
            .await;
        (tasks["total"] == 0).then_some(())
    })
    .await;
    let (status, _) = f
        .call(Method::GET, &format!("{addr}/indexes/{uid}"), None)
        .await;
    status == 200
}

async fn known_to_coordinators(f: &Fleet, uid: &str) -> bool {
    let leader = f.cluster.leader().await;
    let mut admin = f.cluster.admin(leader).await;
    let req = f.cluster.req(IndexRef { uid: uid.into() });
    admin.describe_index(req).await.is_ok()
}

fn docs(n: u64) -> Vec<Value> {
    (0..n).map(|i| json!({"id": i, "text": "doomed"})).collect()
}

/// `miroir-ctl indexes delete` started on a leader that is killed while the
/// deletion waits at `phase`: a new leader finishes it, the index is gone
/// from every node and from the coordinators, and a later write under the
/// same uid starts an empty index.
async fn deletion_survives_its_leader_dying_in(phase: &str) {
    let pause = format!("{phase}=2500");
    let extra = ["--test-pause-workflow-phase", pause.as_str()];
    let mut f = Fleet::start_with_coordinators(Nodes::Devnode, 1, 2, &extra).await;
    let router = f.start_router().await;
    create_index(&f, &router, "doomed", Some("id")).await;
    add_documents(&f, &router, "doomed", docs(20)).await;
    let leader = f.cluster.leader().await;
    let out = f.cluster.ctl(
        leader,
        &["--json", "indexes", "delete", "doomed", "--no-wait"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let started: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = started["workflow"].as_u64().unwrap();
    eventually("the deletion to reach its pause point", || async {
        let w = workflow(&f, id).await?;
        (w.phase == phase).then_some(())
    })
    .await;
    f.cluster.kill(leader);
    let done = eventually("a new leader to finish the deletion", || async {
        let w = workflow(&f, id).await?;
        (w.phase == "done").then_some(w)
    })
    .await;
    assert!(done.history.len() >= 5, "{done:?}");
    for (node, _, p) in &f.nodes {
        assert!(!on_node(&f, &p.addr, "doomed").await, "left on node {node}");
    }
    assert!(!known_to_coordinators(&f, "doomed").await);
    add_documents(&f, &router, "doomed", docs(1)).await;
    assert_eq!(
        total(&f, &router, "doomed").await,
        1,
        "old documents came back"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_finishes_when_its_leader_dies_while_fencing() {
    deletion_survives_its_leader_dying_in("fence").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_finishes_when_its_leader_dies_while_waiting_for_routers() {
    deletion_survives_its_leader_dying_in("wait_routers").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_finishes_when_its_leader_dies_while_deleting_on_nodes() {
    deletion_survives_its_leader_dying_in("delete_on_nodes").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deletion_finishes_when_its_leader_dies_while_forgetting() {
    deletion_survives_its_leader_dying_in("forget").await;
}

/// A node stopped during a deletion does not hold it: the client's task
/// succeeds and the node is put on the sweep list. The uid can be created
/// again at once: the new index lives under a new physical name, so it
/// starts empty even on the node that still holds the old documents, and
/// once that node answers the old generation is deleted there too.
async fn a_node_down_during_a_deletion_is_cleaned_when_back(nodes: Nodes) {
    let extra = ["--node-timeout-ms", "1000"];
    let mut f = Fleet::start_with_coordinators(nodes, 1, 2, &extra).await;
    let router = f.start_router().await;
    create_index(&f, &router, "away", Some("id")).await;
    add_documents(&f, &router, "away", docs(10)).await;
    f.nodes[0].2.pause();
    let (status, t) = f
        .call(Method::DELETE, &format!("{router}/indexes/away"), None)
        .await;
    assert_eq!(status, 202, "{t}");
    let done = finished(&f, &router, &t).await;
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["type"], "indexDeletion", "{done}");
    let w = newest(&f).await.unwrap();
    assert_eq!(w.phase, "done");
    assert_eq!(w.swept_later, vec![f.nodes[0].0.clone()], "{w:?}");
    f.nodes[0].2.resume();
    // Created again while the returning node may still hold generation 1.
    create_index(&f, &router, "away", Some("id")).await;
    let leader = f.cluster.leader().await;
    let map = f
        .cluster
        .admin(leader)
        .await
        .get_shard_map(f.cluster.req(IndexRef { uid: "away".into() }))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(map.physical_index, "away__miroir_g2");
    add_documents(
        &f,
        &router,
        "away",
        vec![json!({"id": "new", "title": "t"})],
    )
    .await;
    let (_, found) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/away/search"),
            Some(&json!({"q": ""})),
        )
        .await;
    assert_eq!(
        found["estimatedTotalHits"], 1,
        "the new index starts empty: {found}"
    );
    let addr = f.nodes[0].2.addr.clone();
    eventually("the returned node to be swept", || async {
        (!on_node(&f, &addr, "away").await).then_some(())
    })
    .await;
    assert!(!on_node(&f, &f.nodes[1].2.addr, "away").await);
    assert!(on_node(&f, &addr, "away__miroir_g2").await);
}

crate::on_both_nodes!(a_node_down_during_a_deletion_is_cleaned_when_back,);

/// A swap whose leader is killed while it waits to flip is flipped by the
/// next leader, exactly once: each uid then reaches the other's documents,
/// and `miroir-ctl workflows list` shows the pair.
#[tokio::test(flavor = "multi_thread")]
async fn a_swap_finishes_when_its_leader_dies_before_the_flip() {
    let extra = ["--test-pause-workflow-phase", "flip=2500"];
    let mut f = Fleet::start_with_coordinators(Nodes::Devnode, 1, 2, &extra).await;
    let router = f.start_router().await;
    create_index(&f, &router, "one", Some("id")).await;
    create_index(&f, &router, "two", Some("id")).await;
    add_documents(&f, &router, "one", docs(1)).await;
    add_documents(&f, &router, "two", docs(2)).await;
    let body = json!([{"indexes": ["one", "two"]}]);
    let (status, t) = f
        .call(Method::POST, &format!("{router}/swap-indexes"), Some(&body))
        .await;
    assert_eq!(status, 202, "{t}");
    let w = eventually("the swap to reach its flip", || async {
        let w = newest(&f).await?;
        (w.kind == "index_swap" && w.phase == "flip").then_some(w)
    })
    .await;
    let leader = f.cluster.leader().await;
    f.cluster.kill(leader);
    let done = eventually("a new leader to flip", || async {
        let w = workflow(&f, w.id).await?;
        (w.phase == "done").then_some(w)
    })
    .await;
    assert_eq!(done.swaps.len(), 1, "{done:?}");
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
    assert_eq!(
        (
            total(&f, &router, "one").await,
            total(&f, &router, "two").await
        ),
        (2, 1)
    );
    let alive = f.cluster.leader().await;
    let out = f.cluster.ctl(alive, &["workflows", "list"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("one<->two") && text.contains("index_swap"),
        "{text}"
    );
}
