//! Brings unfinished Miroir tasks to their final status without waiting
//! for a client to ask: every router looks, now and then, at the tasks still
//! enqueued or processing, and asks their nodes. The coordinators let only
//! one commit finish a task, so its webhooks fire once however many routers
//! look; tasks a workflow finished are handed to one router for theirs.

use futures::StreamExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::control::TaskQuery;
use crate::router::context::{writer, Shared};
use crate::router::tasks::filter::list_page;
use crate::router::tasks::lookup::refreshed;
use crate::state::TaskStatus;

/// How often unfinished tasks are looked at.
const EVERY: Duration = Duration::from_millis(500);
/// Tasks looked at per round.
const PER_ROUND: u32 = 100;
/// Tasks looked up at once within a round.
const AT_ONCE: usize = 16;

pub async fn run(s: Arc<Shared>, shutdown: CancellationToken) {
    // Pages through the open tasks, newest first, one page a round, so that
    // old tasks stuck behind many newer ones are reached too.
    let mut from = 0;
    // After a full page there is likely more to do: go on without pausing.
    let mut busy = false;
    loop {
        if !busy {
            tokio::select! {
                _ = tokio::time::sleep(EVERY) => {}
                _ = shutdown.cancelled() => return,
            }
        } else if shutdown.is_cancelled() {
            return;
        }
        let req = TaskQuery {
            from,
            limit: PER_ROUND,
            index_uids: vec![],
            statuses: vec![TaskStatus::Enqueued, TaskStatus::Processing],
        };
        // Tasks the coordinator leader finished (index deletions) get their
        // webhooks here; other tasks get theirs from the commit finishing them.
        if let Ok(done) = s.control.take_workflow_finished().await {
            crate::router::tasks::webhooks::fire(s.control.clone(), s.nodes.http(), done);
        }
        let Ok(open) = list_page(&s.control, req).await else {
            busy = false;
            continue;
        };
        from = open.next.unwrap_or(0);
        let full = open.tasks.len() as u32 == PER_ROUND;
        let w = writer(&s);
        let finished = AtomicUsize::new(0);
        futures::stream::iter(open.tasks)
            .for_each_concurrent(AT_ONCE, |t| {
                let (w, finished) = (&w, &finished);
                async move {
                    // A failed lookup is simply tried again next round.
                    if let Ok(t) = refreshed(w, t.uid).await {
                        if t.status.is_final() {
                            finished.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
            .await;
        // Keep going only while rounds make progress, so that tasks stuck
        // on an unreachable node are not asked about in a tight loop.
        busy = full && finished.into_inner() > 0;
    }
}
