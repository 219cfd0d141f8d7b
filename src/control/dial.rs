//! Channels to coordinators, shared by routers, `miroir-ctl` and the
//! coordinators' own peer traffic.

use std::time::Duration;

use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::control::auth::ClientAuth;

/// Client TLS settings for talking to coordinators.
pub fn client_tls(ca_pem: &[u8]) -> ClientTlsConfig {
    ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca_pem))
}

/// Builds channels to coordinators.
#[derive(Clone, Default)]
pub struct Dialer {
    tls: Option<ClientTlsConfig>,
    pub auth: ClientAuth,
}

impl Dialer {
    pub fn new(tls: Option<ClientTlsConfig>, auth: ClientAuth) -> Self {
        Dialer { tls, auth }
    }

    /// A lazily connecting channel: it dials (and re-resolves the host name)
    /// on first use and after every broken connection.
    pub fn channel(&self, addr: &str) -> Result<Channel, tonic::transport::Error> {
        let has_scheme = addr.starts_with("http://") || addr.starts_with("https://");
        let url = match (has_scheme, &self.tls) {
            (true, _) => addr.to_string(),
            (false, Some(_)) => format!("https://{addr}"),
            (false, None) => format!("http://{addr}"),
        };
        let mut ep = Endpoint::from_shared(url)?
            .connect_timeout(Duration::from_secs(1))
            .tcp_nodelay(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .keep_alive_timeout(Duration::from_secs(5));
        if let Some(tls) = &self.tls {
            ep = ep.tls_config(tls.clone())?;
        }
        Ok(ep.connect_lazy())
    }
}
