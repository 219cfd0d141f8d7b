//! A documents-per-second pace for reads that must not crowd out clients (anti-entropy passes,
//! repairs): after each page the reader waits until the documents it has read fit the rate.

use std::time::{Duration, Instant};

pub struct Throttle {
    per_s: u64,
    started: Instant,
    done: u64,
}

impl Throttle {
    /// `per_s` documents a second; 0 sets no limit.
    pub fn new(per_s: u64) -> Self {
        Throttle {
            per_s,
            started: Instant::now(),
            done: 0,
        }
    }

    /// How long to wait after `n` more documents, at `now`.
    fn wait_after(&mut self, n: u64, now: Instant) -> Duration {
        self.done += n;
        if self.per_s == 0 {
            return Duration::ZERO;
        }
        let due = Duration::from_secs_f64(self.done as f64 / self.per_s as f64);
        due.saturating_sub(now - self.started)
    }

    /// Waits as long as `n` more documents need to keep to the rate.
    pub async fn pace(&mut self, n: u64) {
        let wait = self.wait_after(n, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At 100 a second, 50 documents read at once are due half a second after the start.
    #[test]
    fn reads_keep_to_the_rate() {
        let mut t = Throttle::new(100);
        let start = t.started;
        assert_eq!(t.wait_after(50, start), Duration::from_millis(500));
        assert_eq!(
            t.wait_after(50, start + Duration::from_secs(2)),
            Duration::ZERO
        );
        let mut free = Throttle::new(0);
        assert_eq!(free.wait_after(1_000_000, start), Duration::ZERO);
    }
}
