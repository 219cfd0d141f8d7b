//! Brings unfinished Miroir tasks to their final status without waiting
//! for a client to ask: every router looks, now and then, at the tasks still
//! enqueued or processing, and asks their nodes. The coordinators let only
//! one commit finish a task, so its webhooks fire once however many routers
//! look.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::server::{writer, Shared};
use super::task_filter::list_page;
use super::tasks::lookup;
use crate::pb::v1::ListTasksRequest;

/// How often unfinished tasks are looked at.
const EVERY: Duration = Duration::from_millis(500);
/// Tasks looked at per round.
const PER_ROUND: u32 = 100;

pub async fn run(s: Arc<Shared>, shutdown: CancellationToken) {
    // Pages through the open tasks, newest first, one page a round, so that
    // old tasks stuck behind many newer ones are reached too.
    let mut from = 0;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(EVERY) => {}
            _ = shutdown.cancelled() => return,
        }
        let req = ListTasksRequest {
            from,
            limit: PER_ROUND,
            index_uids: vec![],
            statuses: vec!["enqueued".into(), "processing".into()],
        };
        let Ok(open) = list_page(&s.control, req).await else {
            continue;
        };
        from = open.next.unwrap_or(0);
        let w = writer(&s);
        for t in open.tasks {
            // A failed lookup is simply tried again next round.
            let _ = lookup(&w, t.uid).await;
        }
    }
}
