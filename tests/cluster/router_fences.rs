//! Leases and write fences (DESIGN section 6): writes need a live lease on
//! the router's epoch, reads do not; a fence waits for every router to
//! acknowledge its epoch or lose its lease; an index deleted under
//! concurrent writes is never left behind on a node.

use reqwest::Method;
use serde_json::{json, Value};

use crate::fleet::*;
use crate::router_writes::{create_index, finished};
use crate::util::*;
use miroir::pb::v1::{AwaitRoutersRequest, FenceIndexRequest, IndexRef, SetConfigRequest};

/// A short lease, so that tests see it run out.
async fn short_lease(f: &Fleet) {
    f.set_config("lease_ms", "1000").await;
}

async fn add(f: &Fleet, router: &str, uid: &str, ids: std::ops::Range<u64>) -> (u16, Value) {
    let text = if ids.start == 0 {
        "acknowledged"
    } else {
        "probe"
    };
    let docs: Vec<Value> = ids.map(|i| json!({"id": i, "text": text})).collect();
    f.call(
        Method::POST,
        &format!("{router}/indexes/{uid}/documents"),
        Some(&Value::from(docs)),
    )
    .await
}

/// With every coordinator paused, the lease runs out: writes are refused
/// with `miroir_no_lease` while searches keep answering from the cached
/// maps; once the coordinators are back, writes go through again.
async fn writes_need_a_lease_and_reads_do_not(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    short_lease(&f).await;
    let metrics = format!("127.0.0.1:{}", free_port());
    let router = f.start_router_with(&["--metrics-listen", &metrics]).await;
    create_index(&f, &router, "leased", Some("id")).await;
    let (status, t) = add(&f, &router, "leased", 0..10).await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");

    for id in 1..=3 {
        f.cluster.pause(id);
    }
    let refused = eventually("writes to be refused without a lease", || async {
        // A write inside the lease's last moments may instead fail to record
        // its task (also a 503); once the lease is gone, none is sent at all.
        let (status, body) = add(&f, &router, "leased", 10..11).await;
        (status == 503 && body["code"] == "miroir_no_lease").then_some(body)
    })
    .await;
    assert_eq!(refused["code"], "miroir_no_lease", "{refused}");
    // The router's own metrics show the renewals made before.
    let text = f
        .http
        .get(format!("http://{metrics}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("miroir_router_lease_renewals_total"),
        "{text}"
    );
    let (status, found) = f
        .call(
            Method::POST,
            &format!("{router}/indexes/leased/search"),
            Some(&json!({"q": "acknowledged"})),
        )
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["estimatedTotalHits"], 10);

    for id in 1..=3 {
        f.cluster.resume(id);
    }
    let t = eventually("writes to resume", || async {
        let (status, t) = add(&f, &router, "leased", 10..20).await;
        (status == 202).then_some(t)
    })
    .await;
    assert_eq!(finished(&f, &router, &t).await["status"], "succeeded");
}

/// A fence's epoch is acknowledged by a live router, but a paused one holds
/// the fence back until its lease has run out, and is never listed.
async fn fences_wait_for_paused_routers(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 1).await;
    short_lease(&f).await;
    let a = f.start_router().await;
    let _b = f.start_router().await;
    create_index(&f, &a, "held", Some("id")).await;
    let leader = f.cluster.leader().await;
    let mut routers = f.cluster.router(leader).await;
    // Both routers hold leases before one of them stops.
    eventually("both routers to hold a lease", || async {
        let probe = AwaitRoutersRequest {
            epoch: 0,
            timeout_ms: 1,
        };
        let r = f
            .cluster
            .router(leader)
            .await
            .await_routers(f.cluster.req(probe))
            .await;
        r.ok()
            .filter(|r| r.get_ref().acknowledged.len() == 2)
            .map(|_| ())
    })
    .await;
    f.routers[1].pause();
    let map = routers
        .fence_index(f.cluster.req(FenceIndexRequest { uid: "held".into() }))
        .await
        .unwrap()
        .into_inner();
    assert!(map.shards.iter().all(|s| s.fence == "fenced"));
    let req = AwaitRoutersRequest {
        epoch: map.epoch,
        timeout_ms: 5000,
    };
    let acked = routers
        .await_routers(f.cluster.req(req))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(acked.acknowledged, vec!["router-0".to_string()]);
    // Writes to the fenced index wait in the router; the fence never lifts
    // here, so the client is told after the wait.
    let (status, body) = add(&f, &a, "held", 0..1).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("miroir_write_fenced")),
        "{body}"
    );
    f.routers[1].resume();
}

/// How a test deletes an index.
#[derive(Clone, Copy)]
enum Deleter {
    /// `DELETE /indexes/{uid}` through a second router.
    Router,
    /// `miroir-ctl indexes delete` (Admin `DeleteIndex`), which waits for it.
    Ctl,
}

/// An index deleted while another router keeps writing to it is gone from
/// every node: nothing in flight brings the old generation back. A write
/// after the deletion creates the index again, as Meilisearch does, as a new
/// generation under another name on the nodes, and that one starts empty:
/// it holds no document whose write had finished before the deletion began.
async fn deleted_under_writes(nodes: Nodes, via: Deleter) {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
    use std::sync::Arc;
    let mut f = Fleet::start_on(nodes, 2, 1).await;
    let writer = f.start_router().await;
    let deleter = f.start_router().await;
    create_index(&f, &writer, "gone", Some("id")).await;
    let stop = Arc::new(AtomicBool::new(false));
    let accepted = Arc::new(AtomicU64::new(0));
    // The first id of the batch being written.
    let next = Arc::new(AtomicU64::new(0));
    let load = {
        let (http, url) = (f.http.clone(), format!("{writer}/indexes/gone/documents"));
        let (stop, accepted, next) = (stop.clone(), accepted.clone(), next.clone());
        tokio::spawn(async move {
            while !stop.load(Relaxed) {
                let first = next.load(Relaxed);
                let docs: Vec<Value> = (first..first + 5).map(|i| json!({"id": i})).collect();
                let r = http.post(&url).bearer_auth(KEY).json(&docs).send().await;
                if r.is_ok_and(|r| r.status().as_u16() == 202) {
                    accepted.fetch_add(1, Relaxed);
                }
                next.store(first + 5, Relaxed);
            }
        })
    };
    eventually("the writer to get going", || async {
        (accepted.load(Relaxed) >= 3).then_some(())
    })
    .await;
    // Every batch below this one had finished before the deletion began.
    let finished_before = next.load(Relaxed);
    match via {
        Deleter::Router => {
            let (status, t) = f
                .call(Method::DELETE, &format!("{deleter}/indexes/gone"), None)
                .await;
            assert_eq!(status, 202, "{t}");
            assert_eq!(
                finished(&f, &deleter, &t).await["status"],
                "succeeded",
                "{t}"
            );
        }
        Deleter::Ctl => {
            let out = f.cluster.ctl(1, &["indexes", "delete", "gone"]);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    // Let the writer recreate the index and write to it for a while.
    let after = accepted.load(Relaxed);
    eventually("writes after the deletion", || async {
        (accepted.load(Relaxed) >= after + 3).then_some(())
    })
    .await;
    stop.store(true, Relaxed);
    load.await.unwrap();

    let leader = f.cluster.leader().await;
    let map = f
        .cluster
        .admin(leader)
        .await
        .describe_index(f.cluster.req(IndexRef { uid: "gone".into() }))
        .await
        .expect("the writes after the deletion created the index again")
        .into_inner()
        .shard_map
        .unwrap();
    assert_eq!(map.physical_index, "gone__miroir_g2", "a new generation");
    for (id, _, node) in &f.nodes {
        // A write the node took before the deletion finishes first; the
        // question is only where the index ends up.
        eventually("the node to settle", || async {
            let url = format!("{}/tasks?statuses=enqueued,processing", node.addr);
            let (_, tasks) = f.call(Method::GET, &url, None).await;
            (tasks["total"] == 0).then_some(())
        })
        .await;
        let (status, _) = f
            .call(Method::GET, &format!("{}/indexes/gone", node.addr), None)
            .await;
        assert_eq!(status, 404, "node {id} still has the deleted generation");
        let (status, _) = f
            .call(
                Method::GET,
                &format!("{}/indexes/gone__miroir_g2", node.addr),
                None,
            )
            .await;
        assert_eq!(status, 200, "node {id} lacks the new generation");
    }
    let (_, listed) = f
        .call(
            Method::POST,
            &format!("{writer}/indexes/gone/documents/fetch"),
            Some(&json!({"limit": 1000, "fields": ["id"]})),
        )
        .await;
    let ids: Vec<u64> = listed["results"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["id"].as_u64().unwrap())
        .collect();
    assert!(!ids.is_empty(), "{listed}");
    assert!(
        ids.iter().all(|&i| i >= finished_before),
        "the new generation holds documents written before the deletion: {ids:?} (< {finished_before})"
    );
}

async fn deleted_through_a_router_under_writes(nodes: Nodes) {
    deleted_under_writes(nodes, Deleter::Router).await
}

async fn deleted_through_ctl_under_writes(nodes: Nodes) {
    deleted_under_writes(nodes, Deleter::Ctl).await
}

crate::on_both_nodes!(
    deleted_through_a_router_under_writes,
    deleted_through_ctl_under_writes,
);

/// Write tasks of index `uid` a node has received, whatever became of them.
async fn write_tasks(f: &Fleet, node: &str, uid: &str) -> u64 {
    let url = format!("{node}/tasks?types=documentAdditionOrUpdate&indexUids={uid}");
    let (status, body) = f.call(Method::GET, &url, None).await;
    assert_eq!(status, 200, "{body}");
    body["total"].as_u64().unwrap()
}

/// A router held between its lease check and its sends for longer than the
/// lease sends nothing once it goes on (I2): no node receives a write task,
/// and the client is told the lease ended. The same router with the
/// send-time check switched off does reach the nodes, so the count notices.
async fn a_router_held_past_its_lease_sends_nothing(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    short_lease(&f).await;
    let normal = f.start_router().await;
    create_index(&f, &normal, "late", Some("id")).await;
    let pause = ["--test-pause-before-send-ms", "2500"];
    let held = f.start_router_with(&pause).await;
    let (status, body) = add(&f, &held, "late", 0..5).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["code"], "miroir_no_lease", "{body}");
    for (_, _, node) in &f.nodes {
        assert_eq!(write_tasks(&f, &node.addr, "late").await, 0, "sent late");
    }
    let unsafe_held = f
        .start_router_with(&[&pause[..], &["--unsafe-send-after-lease"]].concat())
        .await;
    let _ = add(&f, &unsafe_held, "late", 0..5).await;
    let mut received = 0;
    for (_, _, node) in &f.nodes {
        received += write_tasks(&f, &node.addr, "late").await;
    }
    assert!(received > 0, "without the check the late write should land");
}

async fn default_shards(f: &Fleet, n: u32) {
    let leader = f.cluster.leader().await;
    let req = SetConfigRequest {
        key: "default_shards".into(),
        value: n.to_string(),
        expect_version: None,
    };
    let mut admin = f.cluster.admin(leader).await;
    admin.set_config(f.cluster.req(req)).await.unwrap();
}

/// A batch placed by one map and cleared to go by another (the index was
/// deleted and made again with another shard count while the batch waited)
/// is placed again by the map it is sent under: every document is then
/// found by id, on the shard its id belongs to. (The pause covers a new
/// leader's wait for leases it cannot know, one lease after it took over.)
async fn a_batch_is_placed_by_the_map_it_is_sent_under(nodes: Nodes) {
    let mut f = Fleet::start_on(nodes, 1, 2).await;
    default_shards(&f, 2).await;
    let a = f.start_router().await;
    create_index(&f, &a, "moved", Some("id")).await;
    let held = f
        .start_router_with(&["--test-pause-before-gate-ms", "12000"])
        .await;
    let docs: Vec<Value> = (0..20).map(|i| json!({"id": i, "text": "moved"})).collect();
    let (http, url) = (f.http.clone(), format!("{held}/indexes/moved/documents"));
    let write = tokio::spawn(async move {
        let r = http
            .post(url)
            .bearer_auth(KEY)
            .json(&docs)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    });
    let (status, t) = f
        .call(Method::DELETE, &format!("{a}/indexes/moved"), None)
        .await;
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &a, &t).await["status"], "succeeded");
    default_shards(&f, 7).await;
    create_index(&f, &a, "moved", Some("id")).await;
    assert!(
        !write.is_finished(),
        "the held write went on before the index was made again: lengthen the pause"
    );
    let (status, t) = write.await.unwrap();
    assert_eq!(status, 202, "{t}");
    assert_eq!(finished(&f, &held, &t).await["status"], "succeeded");
    for i in 0..20 {
        let (status, doc) = f
            .call(
                Method::GET,
                &format!("{a}/indexes/moved/documents/{i}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "document {i}: {doc}");
    }
}

crate::on_both_nodes!(
    a_batch_is_placed_by_the_map_it_is_sent_under,
    writes_need_a_lease_and_reads_do_not,
    fences_wait_for_paused_routers,
    a_router_held_past_its_lease_sends_nothing,
);
