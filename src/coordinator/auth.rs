//! The admin key: when configured, every gRPC call must carry it as
//! `authorization: Bearer KEY` (peers and routers included). The client
//! side is `control::ClientAuth`.

use tonic::service::Interceptor;
use tonic::{Request, Status};

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
    use crate::control::ClientAuth;

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
