use miroir::control::{ControlClient, Dialer};
use miroir::pb::v1::*;
use miroir::router::topology::TopologyCache;
use miroir::state::IndexUid;
use tokio_util::sync::CancellationToken;

use crate::util::*;

async fn create(c: &Cluster, via: u64, uid: &str) {
    let mut a = c.admin(via).await;
    let req = CreateIndexRequest {
        uid: uid.into(),
        primary_key: None,
        shards: 2,
        replication_factor: 1,
    };
    a.create_index(c.req(req)).await.unwrap();
}

async fn has(cache: &TopologyCache, uid: &str) {
    let uid = IndexUid(uid.into());
    eventually(&format!("the router to see {uid}"), || async {
        cache.snapshot().maps.contains_key(&uid).then_some(())
    })
    .await;
}

/// A router's watch follows the shard maps, moves to another coordinator
/// when its own dies, and keeps its last maps when no coordinator is left.
#[tokio::test(flavor = "multi_thread")]
async fn router_watch_survives_coordinator_loss() {
    let mut c = Cluster::start(3);
    let leader = c.leader().await;
    let mut a = c.admin(leader).await;
    a.add_node(c.req(AddNodeRequest {
        id: "n0".into(),
        address: "http://n0:7700".into(),
        group: 0,
    }))
    .await
    .unwrap();
    create(&c, leader, "a").await;

    let addrs: Vec<String> = (1..=3).map(|id| c.addr(id)).collect();
    let control = ControlClient::new(&addrs, Dialer::default(), "router-test".into()).unwrap();
    let cache = TopologyCache::default();
    let stop = CancellationToken::new();
    let task = tokio::spawn(control.clone().watch(cache.clone(), stop.clone()));
    has(&cache, "a").await;
    assert!(cache.snapshot().synced);
    assert_eq!(cache.snapshot().nodes.len(), 1);

    let followed = (1..=3).find(|id| c.addr(*id) == control.current()).unwrap();
    c.kill(followed);
    let survivor = c.running()[0];
    eventually("a write after the kill", || async {
        let mut a = c.admin(survivor).await;
        let req = CreateIndexRequest {
            uid: "b".into(),
            primary_key: None,
            shards: 2,
            replication_factor: 1,
        };
        a.create_index(c.req(req)).await.ok().map(|_| ())
    })
    .await;
    has(&cache, "b").await;
    assert_ne!(control.current(), c.addr(followed));

    let epoch_b = cache.snapshot().maps[&IndexUid("b".into())].epoch;
    for id in c.running() {
        c.kill(id);
    }
    // Once the watch has failed to reach every coordinator, the cached maps
    // are still the last ones it had.
    let breaks = control.breaks();
    eventually("the watch to try every coordinator", || async {
        (control.breaks() >= breaks + 3).then_some(())
    })
    .await;
    let snapshot = cache.snapshot();
    assert_eq!(snapshot.maps.len(), 2);
    assert_eq!(snapshot.maps[&IndexUid("b".into())].epoch, epoch_b);
    stop.cancel();
    task.await.unwrap();
}
