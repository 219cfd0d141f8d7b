//! The register workload: a few keys kept as `user.` cluster settings on the
//! coordinators, read, written and compared-and-set by concurrent clients
//! that each talk to a random coordinator. Compare-and-set is the operator's
//! own optimistic concurrency: read the setting and its version, then
//! `SetConfig` with `expect_version`. Every written value is unique, so an
//! unchanged version means an unchanged value, and the history can be judged
//! as a plain register per key.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use miroir::pb::v1::admin_client::AdminClient;
use miroir::pb::v1::{GetConfigRequest, SetConfigRequest};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{json, Value};
use tonic::transport::Channel;
use tonic::Code;

use crate::history::{Op, OpType, Recorder};

/// Knobs of the register workload.
#[derive(Debug, Clone)]
pub struct Options {
    pub keys: usize,
    pub clients: usize,
    /// Pause between one client's operations.
    pub think: Duration,
    /// A reply slower than this makes the operation indeterminate.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            keys: 4,
            clients: 6,
            think: Duration::from_millis(20),
            timeout: Duration::from_secs(2),
        }
    }
}

/// Every register key starts with this.
pub const KEY_PREFIX: &str = "user.jepsen-register-";

pub fn key_name(k: usize) -> String {
    format!("{KEY_PREFIX}{k}")
}

/// How a failed call is recorded: `Fail` only when it certainly did nothing.
fn classify(code: Code) -> OpType {
    match code {
        // Refused before anything was proposed.
        Code::InvalidArgument | Code::NotFound | Code::PermissionDenied | Code::Unauthenticated => {
            OpType::Fail
        }
        // Unavailable, deadline, internal: it may have been committed.
        _ => OpType::Info,
    }
}

/// Reads a register: its value (null when never written) and version.
async fn read(client: &mut AdminClient<Channel>, key: &str) -> Result<(Value, u64), tonic::Status> {
    let r = client
        .get_config(GetConfigRequest { key: key.into() })
        .await?
        .into_inner();
    let e = r.entries.into_iter().next();
    Ok(match e {
        Some(e) if !e.value.is_empty() => (
            e.value
                .parse::<u64>()
                .map(Value::from)
                .unwrap_or(Value::String(e.value)),
            e.version,
        ),
        Some(e) => (Value::Null, e.version),
        None => (Value::Null, 0),
    })
}

/// One client: runs until `until`, one operation at a time. After an
/// indeterminate operation it continues as a new process, as the checker's
/// model requires (an open operation never completes).
pub async fn client(
    index: usize,
    seed: u64,
    coordinators: Vec<(String, Channel)>,
    opts: Options,
    next_value: Arc<AtomicU64>,
    history: Recorder,
    until: Instant,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (index as u64).wrapping_mul(0x9E37_79B9));
    let mut process = index as u64;
    // The last value this client saw per key: the `from` of its next cas.
    let mut seen: Vec<Value> = vec![Value::Null; opts.keys];
    while Instant::now() < until {
        let k = rng.random_range(0..opts.keys);
        let key = key_name(k);
        let (node, channel) = &coordinators[rng.random_range(0..coordinators.len())];
        let mut c = AdminClient::new(channel.clone());
        let roll: f64 = rng.random();
        let (f, value) = if roll < 0.5 {
            ("read", Value::Null)
        } else if roll < 0.75 {
            ("write", json!(next_value.fetch_add(1, Ordering::Relaxed)))
        } else {
            let to = next_value.fetch_add(1, Ordering::Relaxed);
            ("cas", json!([seen[k].clone(), to]))
        };
        let invoke = Op::invoke(process, f, Some(key.clone()), value.clone()).on(node.clone());
        history.record(invoke.clone());
        let done = tokio::time::timeout(opts.timeout, perform(&mut c, f, &key, &value)).await;
        let done = match done {
            Ok(d) => d,
            Err(_) => Done::Error(OpType::Info, "timed out".into()),
        };
        let completion = match done {
            Done::Ok(v) => {
                seen[k] = match f {
                    "read" => v.clone(),
                    "write" => value.clone(),
                    _ => value[1].clone(),
                };
                invoke.complete(OpType::Ok, v)
            }
            Done::Mismatch(actual) => {
                seen[k] = actual;
                invoke.complete(OpType::Fail, value.clone())
            }
            // A read that failed observed nothing, whatever the reason.
            Done::Error(_, e) if f == "read" => {
                invoke.complete(OpType::Fail, Value::Null).with_error(e)
            }
            Done::Error(kind, e) => invoke.complete(kind, value.clone()).with_error(e),
        };
        let indeterminate = completion.kind == OpType::Info;
        history.record(completion);
        if indeterminate {
            process += opts.clients as u64;
        }
        tokio::time::sleep(opts.think).await;
    }
}

enum Done {
    /// Took effect; the value observed (read) or written.
    Ok(Value),
    /// A cas whose comparison failed; the value that was there instead.
    Mismatch(Value),
    Error(OpType, String),
}

async fn perform(c: &mut AdminClient<Channel>, f: &str, key: &str, value: &Value) -> Done {
    let err = |s: tonic::Status| {
        Done::Error(
            classify(s.code()),
            format!("{:?}: {}", s.code(), s.message()),
        )
    };
    match f {
        "read" => match read(c, key).await {
            Ok((v, _)) => Done::Ok(v),
            Err(s) => err(s),
        },
        "write" => {
            let req = SetConfigRequest {
                key: key.into(),
                value: value.to_string(),
                expect_version: None,
            };
            match c.set_config(req).await {
                Ok(_) => Done::Ok(value.clone()),
                Err(s) => err(s),
            }
        }
        _ => {
            let (from, to) = (&value[0], &value[1]);
            let (current, version) = match read(c, key).await {
                Ok(x) => x,
                // Nothing was proposed: certainly no effect.
                Err(s) => {
                    return Done::Error(OpType::Fail, format!("{:?}: {}", s.code(), s.message()))
                }
            };
            if &current != from {
                return Done::Mismatch(current);
            }
            let req = SetConfigRequest {
                key: key.into(),
                value: to.to_string(),
                expect_version: Some(version),
            };
            match c.set_config(req).await {
                Ok(_) => Done::Ok(value.clone()),
                // Applied and refused: the version moved, so (values being
                // unique) the value is no longer `from`.
                Err(s) if s.code() == Code::FailedPrecondition => Done::Mismatch(Value::Null),
                Err(s) => err(s),
            }
        }
    }
}
