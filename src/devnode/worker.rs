//! The worker: runs the node's enqueued tasks in order, each no earlier than the configured delay
//! after it was enqueued (so tests see the gap between enqueued and applied).

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::devnode::node::Node;
use crate::meili::stamp;

/// Runs enqueued tasks in order until shutdown, each no earlier than `delay` after it was
/// enqueued.
pub async fn work(node: Arc<Node>, delay: Duration, shutdown: CancellationToken) {
    loop {
        loop {
            if !delay.is_zero() {
                let Some(wait) = wait_for_oldest(&node, delay) else {
                    break;
                };
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(wait) => {}
                }
            }
            if !run_next(&node) {
                break;
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = node.wake.notified() => {}
        }
    }
}

/// How long the oldest enqueued task has yet to wait, or `None` when the queue is empty.
fn wait_for_oldest(node: &Node, delay: Duration) -> Option<Duration> {
    let due = node.lock().tasks.oldest_enqueued_at()? + delay.as_nanos();
    Some(Duration::from_nanos(
        due.saturating_sub(stamp::now_nanos()) as u64
    ))
}

/// Runs the oldest enqueued task, if any; returns whether there was one.
fn run_next(node: &Node) -> bool {
    let mut state = node.lock();
    let state = &mut *state;
    let Some(next) = state.tasks.start_next(stamp::now_nanos()) else {
        return false;
    };
    let outcome = match next.op {
        Some(op) => state
            .store
            .apply(&next.index_uid, op, next.details, next.started),
        None => Ok(next.details),
    };
    state.tasks.finish(next.uid, outcome, stamp::now_nanos());
    true
}
