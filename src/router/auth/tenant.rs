//! Tenant tokens at the router: the token is verified against its parent key (looked up on the
//! nodes by uid, as API keys are), its search rules and the key's rights are checked for every
//! index the request names, and the rules go with the request so that each search adds their
//! filter before it is scattered. Nodes never see the token: they are asked with the router's
//! key, and the filter travels in the search itself.

use std::sync::Arc;

use axum::extract::Request;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde_json::{Map, Value};

use crate::meili::keys::grants_index;
use crate::meili::stamp;
use crate::meili::tenant_token::{key_cannot_reach, Claimed, SearchRules};
use crate::meili::MeiliError;
use crate::router::context::Shared;

use super::access::{body_indexes, Need, Target};

/// The verified rules of the tenant token a search came with.
#[derive(Debug, Clone)]
pub struct TenantRules(pub Arc<SearchRules>);

/// What search handlers take: the request's tenant rules, if it came with a token.
pub type Tenant = Option<Extension<TenantRules>>;

/// Adds the token's filter for `index` to a search body (nothing without a token).
pub fn restrict(tenant: &Tenant, index: &str, body: &mut Map<String, Value>) {
    if let Some(Extension(rules)) = tenant {
        rules.0.apply(index, body);
    }
}

/// Admits a search carrying a tenant token, or answers Meilisearch's refusal.
pub(super) async fn admit(
    s: &Shared,
    claimed: Claimed,
    need: &Need,
    req: Request,
    max_body: usize,
) -> Result<Request, Response> {
    let refuse = |e: MeiliError| e.into_response();
    let key = match super::lookup_uid(s, &claimed.api_key_uid).await {
        Ok(Some(k)) => k,
        Ok(None) => return Err(refuse(MeiliError::invalid_key())),
        Err(e) => return Err(refuse(e)),
    };
    let now = (stamp::now_nanos() / 1_000_000_000) as i64;
    let rules = claimed.verify(&key.key, now).map_err(refuse)?;
    let (req, indexes) = match &need.target {
        Target::Path(uid) => (req, vec![uid.clone()]),
        Target::Global => (req, vec![]),
        target => {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, max_body)
                .await
                .map_err(|_| refuse(MeiliError::payload_too_large(max_body)))?;
            let named = serde_json::from_slice(&bytes)
                .ok()
                .and_then(|v| body_indexes(target, &v))
                .unwrap_or_default();
            (
                Request::from_parts(parts, axum::body::Body::from(bytes)),
                named,
            )
        }
    };
    for index in &indexes {
        rules.check(index).map_err(refuse)?;
        if !grants_index(&key.indexes, index) {
            return Err(refuse(key_cannot_reach(index)));
        }
    }
    if !key.allows(need.action, &indexes, now) {
        return Err(refuse(MeiliError::invalid_key()));
    }
    let mut req = req;
    if !s.unsafe_switches.ignore_tenant_rules {
        req.extensions_mut().insert(TenantRules(Arc::new(rules)));
    }
    Ok(req)
}
