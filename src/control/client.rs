//! One channel per coordinator, the one that answered last tried first, and
//! the single place that moves on to another coordinator.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tonic::transport::Channel;

use crate::control::dial::Dialer;
use crate::control::error::ControlError;

/// How long a request may take, as the router has always allowed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);

/// The typed client of the coordinators' services; cheap to clone.
#[derive(Clone)]
pub struct ControlClient {
    pub(crate) channels: Arc<Vec<(String, Channel)>>,
    /// The coordinator that answered last; requests start there.
    pub(crate) preferred: Arc<AtomicUsize>,
    /// How many times the watch stream broke (exported as a metric).
    pub(crate) breaks: Arc<AtomicUsize>,
    pub(crate) dialer: Dialer,
    pub(crate) router_id: String,
    /// This process's name under `router_id`, new at every start, so the
    /// coordinators can tell a second process under the same id.
    pub(crate) instance: String,
    timeout: Duration,
}

impl ControlClient {
    pub fn new(
        coordinators: &[String],
        dialer: Dialer,
        router_id: String,
    ) -> Result<Self, tonic::transport::Error> {
        let channels = coordinators
            .iter()
            .map(|a| dialer.channel(a).map(|c| (a.clone(), c)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ControlClient {
            channels: Arc::new(channels),
            preferred: Arc::default(),
            breaks: Arc::default(),
            dialer,
            router_id,
            instance: crate::meili::stamp::uuid_v4(),
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same client with another per-request timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The address of the coordinator that answered last.
    pub fn current(&self) -> String {
        self.channels[self.preferred.load(Ordering::Relaxed)]
            .0
            .clone()
    }

    /// How many times the shard-map stream broke or could not be opened.
    pub fn breaks(&self) -> usize {
        self.breaks.load(Ordering::Relaxed)
    }

    /// The coordinators in the order to try them: the preferred one first.
    pub(crate) fn order(&self) -> Vec<(usize, String, Channel)> {
        let n = self.channels.len();
        let start = self.preferred.load(Ordering::Relaxed);
        (0..n)
            .map(|i| {
                let (addr, ch) = &self.channels[(start + i) % n];
                ((start + i) % n, addr.clone(), ch.clone())
            })
            .collect()
    }

    /// A request with the admin key and the timeout.
    pub(crate) fn request<M>(&self, msg: M) -> tonic::Request<M> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(self.timeout);
        self.dialer.auth.apply(&mut r);
        r
    }

    /// Runs one unary call, the preferred coordinator first, moving on only
    /// when a coordinator could not be reached (a request that reached one
    /// is never sent twice).
    pub(crate) async fn call<T, F, Fut>(&self, f: F) -> Result<T, ControlError>
    where
        F: Fn(Channel) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        let mut last = ControlError::Unreachable("no coordinator configured".into());
        for (i, _, ch) in self.order() {
            match f(ch).await.map_err(ControlError::from) {
                Err(e @ ControlError::Unreachable(_)) => last = e,
                other => {
                    self.preferred.store(i, Ordering::Relaxed);
                    return other.map(tonic::Response::into_inner);
                }
            }
        }
        Err(last)
    }
}
