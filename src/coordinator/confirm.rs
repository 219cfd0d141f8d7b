//! Confirmation rounds for shard-map watches. Once a round, a member checks
//! with a read barrier that it is still current, and every open watch takes
//! the same answer: one barrier per member per round, however many routers
//! follow it. Rounds run only while some watch listens.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// How often a round runs. A member cut off from the leader ends its
/// watches within about two rounds (one, plus a check that times out).
pub const ROUND: Duration = Duration::from_secs(1);

/// The outcome of the latest round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Confirmation {
    /// Counts rounds since the member started (0: none yet).
    pub round: u64,
    /// Whether the member was in touch with a quorum and caught up.
    pub current: bool,
    /// The latest round that failed (0: none), so that a watch that was busy
    /// while a round failed still learns of it from a later, good one.
    pub last_failed: u64,
}

impl Confirmation {
    /// Whether a round failed after `seen` (the newest round a watch took).
    pub fn failed_since(&self, seen: u64) -> bool {
        self.last_failed > seen
    }
}

/// Where rounds are published; watches [`watch::Sender::subscribe`] to it.
pub type Rounds = watch::Sender<Confirmation>;

pub fn rounds() -> Rounds {
    watch::Sender::new(Confirmation::default())
}

/// Runs a round every `every` until `shutdown`, skipping rounds nobody
/// listens to. A check that takes longer than `every` counts as failed.
pub async fn run<F, Fut>(
    tx: std::sync::Arc<Rounds>,
    every: Duration,
    check: F,
    shutdown: CancellationToken,
) where
    F: Fn() -> Fut,
    Fut: Future<Output = bool>,
{
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut round, mut last_failed) = (0, 0);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        if tx.receiver_count() == 0 {
            continue;
        }
        let current = tokio::time::timeout(every, check()).await.unwrap_or(false);
        round += 1;
        if !current {
            last_failed = round;
        }
        tx.send_replace(Confirmation {
            round,
            current,
            last_failed,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::sync::Arc;

    struct Fake {
        calls: AtomicUsize,
        current: AtomicBool,
    }

    fn start(fake: &Arc<Fake>) -> (Arc<Rounds>, CancellationToken) {
        let tx = Arc::new(rounds());
        let stop = CancellationToken::new();
        let f = fake.clone();
        tokio::spawn(run(
            tx.clone(),
            Duration::from_secs(1),
            move || {
                let f = f.clone();
                async move {
                    f.calls.fetch_add(1, Ordering::SeqCst);
                    f.current.load(Ordering::SeqCst)
                }
            },
            stop.clone(),
        ));
        (tx, stop)
    }

    #[tokio::test(start_paused = true)]
    async fn rounds_run_only_while_someone_listens_and_report_the_check() {
        let fake = Arc::new(Fake {
            calls: AtomicUsize::new(0),
            current: AtomicBool::new(true),
        });
        let (tx, stop) = start(&fake);
        tokio::time::sleep(Duration::from_secs(10)).await;
        assert_eq!(fake.calls.load(Ordering::SeqCst), 0, "nobody listened");

        let mut rx = tx.subscribe();
        rx.changed().await.unwrap();
        let first = *rx.borrow_and_update();
        assert!(first.current && first.round == 1, "{first:?}");

        fake.current.store(false, Ordering::SeqCst);
        rx.changed().await.unwrap();
        let second = *rx.borrow_and_update();
        assert_eq!(
            second,
            Confirmation {
                round: 2,
                current: false,
                last_failed: 2
            }
        );

        // A watch that missed round 2 still sees it failed.
        fake.current.store(true, Ordering::SeqCst);
        rx.changed().await.unwrap();
        let third = *rx.borrow_and_update();
        assert!(
            third.current && third.failed_since(first.round),
            "{third:?}"
        );
        assert!(!third.failed_since(second.round));
        stop.cancel();
    }

    #[tokio::test(start_paused = true)]
    async fn a_check_that_hangs_counts_as_not_current() {
        let tx = Arc::new(rounds());
        let stop = CancellationToken::new();
        tokio::spawn(run(
            tx.clone(),
            Duration::from_secs(1),
            std::future::pending::<bool>,
            stop.clone(),
        ));
        let mut rx = tx.subscribe();
        rx.changed().await.unwrap();
        assert!(!rx.borrow().current);
        stop.cancel();
    }
}
