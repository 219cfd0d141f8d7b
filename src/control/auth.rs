//! The admin key on outgoing calls: when the coordinators are configured with
//! one, every gRPC call must carry it as `authorization: Bearer KEY`.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::Request;

/// Attaches the key to outgoing requests.
#[derive(Clone, Default)]
pub struct ClientAuth(Option<MetadataValue<Ascii>>);

impl ClientAuth {
    pub fn new(key: Option<&str>) -> Result<Self, String> {
        match key {
            None => Ok(ClientAuth(None)),
            Some(k) => format!("Bearer {k}")
                .parse()
                .map(|v| ClientAuth(Some(v)))
                .map_err(|_| "the admin key must be printable ASCII".to_string()),
        }
    }

    pub fn apply<T>(&self, req: &mut Request<T>) {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
    }
}
