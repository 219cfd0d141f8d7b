//! Starts each workload's clients for the run's length.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use tokio::task::JoinSet;
use tonic::transport::Channel;

use super::Plan;
use crate::db::Db;
use crate::history::Recorder;
use crate::workload::{documents, register, shard_map, Workload};

/// The clients of a run, under way.
pub struct Load {
    tasks: JoinSet<()>,
    seen: shard_map::Seen,
}

impl Load {
    /// Waits for every client to reach the end of the run; returns when the
    /// harness saw each epoch committed.
    /// A client that panicked is a harness bug: the run fails rather than
    /// judging a history with a hole in it.
    pub async fn finish(mut self) -> Result<BTreeMap<u64, u64>> {
        while let Some(r) = self.tasks.join_next().await {
            r.map_err(|e| anyhow::anyhow!("a client task failed: {e}"))?;
        }
        let seen = self.seen.lock().expect("seen").clone();
        Ok(seen)
    }
}

fn coordinator_channels(db: &Db) -> Result<Vec<(String, Channel)>> {
    db.layout
        .coordinator_names()
        .into_iter()
        .map(|c| Ok((c.clone(), db.channel(&c)?)))
        .collect()
}

pub async fn start(plan: &Plan, db: &Db, history: &Recorder, until: Instant) -> Result<Load> {
    let mut tasks = JoinSet::new();
    let seen: shard_map::Seen = Default::default();
    let coordinators = coordinator_channels(db)?;
    // Every router, by host name and base URL.
    let routers: Vec<(String, String)> = db
        .layout
        .router_names()
        .into_iter()
        .map(|r| (r.clone(), db.http_url(&r)))
        .collect();
    let clients = plan.args.clients;
    if plan.workloads.contains(&Workload::Register) {
        let counter = Arc::new(AtomicU64::new(1));
        let opts = register::Options {
            clients,
            ..Default::default()
        };
        for i in 0..clients {
            tasks.spawn(register::client(
                i,
                plan.seed,
                coordinators.clone(),
                opts.clone(),
                counter.clone(),
                history.clone(),
                until,
            ));
        }
    }
    let documents = plan.workloads.contains(&Workload::Documents);
    let epochs = plan.workloads.contains(&Workload::ShardMap);
    if documents || epochs {
        let http = documents::http();
        let mut last = None;
        for attempt in 0..10 {
            let (_, url) = &routers[attempt % routers.len()];
            match documents::setup(&http, url).await {
                Ok(()) => {
                    last = None;
                    break;
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Some(e) = last {
            bail!("could not create the documents index: {e:#}");
        }
        let opts = documents::Options {
            clients,
            ..Default::default()
        };
        for i in 0..clients {
            tasks.spawn(documents::client(
                i,
                plan.seed,
                routers.clone(),
                opts.clone(),
                history.clone(),
                until,
            ));
        }
    }
    if epochs {
        for (_, channel) in &coordinators {
            tasks.spawn(shard_map::observe(
                channel.clone(),
                seen.clone(),
                history.clone(),
                until,
            ));
        }
        tasks.spawn(shard_map::mover(
            coordinators.clone(),
            history.clone(),
            until,
        ));
        for i in 0..2 {
            tasks.spawn(shard_map::reader(
                i,
                plan.seed,
                routers.clone(),
                history.clone(),
                until,
            ));
        }
    }
    Ok(Load { tasks, seen })
}
