//! The admin key: when configured, every gRPC call must carry it as
//! `authorization: Bearer KEY` (peers and routers included).

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::{Request, Status};

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

/// Refuses calls without the key (UNAUTHENTICATED).
#[derive(Clone)]
pub struct RequireKey(Option<Vec<u8>>);

impl RequireKey {
    pub fn new(key: Option<&str>) -> Self {
        RequireKey(key.map(|k| format!("Bearer {k}").into_bytes()))
    }
}

impl Interceptor for RequireKey {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.0 else {
            return Ok(req);
        };
        let given = req
            .metadata()
            .get("authorization")
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        if constant_time_eq(given, expected) {
            Ok(req)
        } else {
            Err(Status::unauthenticated(
                "missing or wrong admin key: send `authorization: Bearer <MIROIR_ADMIN_KEY>`",
            ))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only the exact key passes; no key configured lets everything through.
    #[test]
    fn key_check() {
        let mut open = RequireKey::new(None);
        assert!(open.call(Request::new(())).is_ok());
        let mut locked = RequireKey::new(Some("s3cret"));
        assert!(locked.call(Request::new(())).is_err());
        let mut req = Request::new(());
        ClientAuth::new(Some("s3cret")).unwrap().apply(&mut req);
        assert!(locked.call(req).is_ok());
        let mut wrong = Request::new(());
        ClientAuth::new(Some("s3creT")).unwrap().apply(&mut wrong);
        assert_eq!(
            locked.call(wrong).unwrap_err().code(),
            tonic::Code::Unauthenticated
        );
    }
}
