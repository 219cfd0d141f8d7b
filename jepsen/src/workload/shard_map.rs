//! The shard-map workload: while the documents clients write, an operator
//! client keeps moving the cluster's epoch (creating and deleting a scratch
//! index), and an observer watches every coordinator to note when each
//! epoch was first committed. The routers report the epoch each write was
//! routed by; [`crate::check::shard_map`] compares the two.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use miroir::pb::v1::admin_client::AdminClient;
use miroir::pb::v1::router_client::RouterClient;
use miroir::pb::v1::{CreateIndexRequest, IndexRef, WatchShardMapsRequest};
use serde_json::json;
use tonic::transport::Channel;

use crate::history::{Op, OpType, Recorder};

/// Epoch -> when the harness first saw it committed (ns since start).
pub type Seen = Arc<Mutex<BTreeMap<u64, u64>>>;

const SCRATCH: &str = "jepsen-scratch";
/// The operator client's process number in the history.
pub const MOVER_PROCESS: u64 = 2000;

/// Follows one coordinator's shard-map stream until `until`, reconnecting
/// when it breaks, and notes each new epoch.
pub async fn observe(channel: Channel, seen: Seen, clock: Recorder, until: Instant) {
    while Instant::now() < until {
        let mut c = RouterClient::new(channel.clone());
        let req = WatchShardMapsRequest {
            router_id: "jepsen-observer".into(),
        };
        let stream = tokio::time::timeout(Duration::from_secs(3), c.watch_shard_maps(req)).await;
        let mut stream = match stream {
            Ok(Ok(s)) => s.into_inner(),
            _ => {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, stream.message()).await {
                Ok(Ok(Some(ev))) => {
                    let now = clock.now();
                    seen.lock().expect("seen").entry(ev.epoch).or_insert(now);
                }
                Ok(_) => break,
                Err(_) => return,
            }
        }
    }
}

/// A request that gives up after two seconds, so that a coordinator cut off
/// from the others does not hold the epoch still for long: the next try
/// goes to the next coordinator.
fn briefly<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.set_timeout(Duration::from_secs(2));
    r
}

/// Creates and deletes the scratch index over and over, through any
/// coordinator that answers; each step moves the epoch.
pub async fn mover(coordinators: Vec<(String, Channel)>, history: Recorder, until: Instant) {
    let mut turn = 0usize;
    let mut process = MOVER_PROCESS;
    let mut create = true;
    while Instant::now() < until {
        let (name, channel) = &coordinators[turn % coordinators.len()];
        turn += 1;
        let mut a = AdminClient::new(channel.clone());
        let f = if create {
            "scratch-create"
        } else {
            "scratch-delete"
        };
        let invoke = Op::invoke(process, f, Some(SCRATCH.into()), json!(null)).on(name.clone());
        history.record(invoke.clone());
        let r = if create {
            let req = CreateIndexRequest {
                uid: SCRATCH.into(),
                primary_key: Some("id".into()),
                shards: 4,
                replication_factor: 0,
            };
            a.create_index(briefly(req)).await.map(|_| ())
        } else {
            a.delete_index(briefly(IndexRef {
                uid: SCRATCH.into(),
            }))
            .await
            .map(|_| ())
        };
        let done = match r {
            Ok(()) => {
                create = !create;
                invoke.complete(OpType::Ok, json!(null))
            }
            Err(s) if matches!(s.code(), tonic::Code::AlreadyExists | tonic::Code::NotFound) => {
                // An earlier attempt that looked failed went through.
                create = !create;
                invoke
                    .complete(OpType::Fail, json!(null))
                    .with_error(s.message())
            }
            Err(s) => {
                process += 1;
                invoke
                    .complete(OpType::Info, json!(null))
                    .with_error(s.message())
            }
        };
        history.record(done);
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

/// Process numbers of the readers start here.
pub const READER_PROCESS: u64 = 3000;

/// Searches the documents index through the routers, one at a time, and
/// records the epoch each answer was routed by: reads must not go back in
/// epoch either.
pub async fn reader(
    index: usize,
    seed: u64,
    routers: Vec<(String, String)>,
    history: Recorder,
    until: Instant,
) {
    use rand::{Rng, SeedableRng};
    let http = super::documents::http();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0x5EA7C4 ^ (index as u64) << 40);
    let process = READER_PROCESS + index as u64;
    let body = json!({"q": "", "limit": 1});
    while Instant::now() < until {
        let (name, base) = &routers[rng.random_range(0..routers.len())];
        let invoke = Op::invoke(process, "search", None, json!(null)).on(name.clone());
        history.record(invoke.clone());
        let url = format!("{base}/indexes/{}/search", super::documents::INDEX);
        let r = super::documents::call(
            &http,
            reqwest::Method::POST,
            &url,
            Some(&body),
            Duration::from_secs(10),
        )
        .await;
        let done = match r {
            Ok(r) if r.status.is_success() => {
                invoke.complete(OpType::Ok, json!({"epoch": r.epoch}))
            }
            Ok(r) => invoke
                .complete(OpType::Fail, json!(null))
                .with_error(format!("{} {}", r.status, r.body)),
            Err(e) => invoke
                .complete(OpType::Fail, json!(null))
                .with_error(e.to_string()),
        };
        history.record(done);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
