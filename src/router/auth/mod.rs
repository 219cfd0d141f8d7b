//! Authentication, as Meilisearch does it, for every route but `/health`:
//! open without a master key; otherwise the master key, or an API key whose
//! actions, indexes and expiry allow the request. API keys live on the nodes
//! (created on every one by the keys routes, `api/keys.rs`); the router asks a node
//! about a key it does not know and remembers the answer for a few seconds.
//!
//! - [`access`]: the action and index each route needs, and what a key grants.
//! - [`key_cache`]: the keys looked up recently, trusted for a few seconds.
//! - [`key_nodes`]: the nodes that hold keys, in the order to ask them.
//! - [`tenant`]: tenant tokens: verified, checked, and their filters added to searches.

pub mod access;
pub mod key_cache;
pub mod key_nodes;
pub mod tenant;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use reqwest::Method;

use crate::fleet::NodeError;
use crate::meili::{stamp, MeiliError};
use crate::router::context::Shared;
use access::{ApiKey, Need, Target};
use key_nodes::key_nodes;

/// The middleware: answers Meilisearch's auth errors, or runs the handler.
pub async fn check(State(s): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    if req.uri().path() == "/health" {
        return next.run(req).await;
    }
    let need = access::need(req.method(), req.uri().path());
    let Some(master) = &s.master_key else {
        // Meilisearch serves no key routes without a master key.
        if need.as_ref().is_some_and(|n| n.action.starts_with("keys.")) {
            return MeiliError::missing_master_key().into_response();
        }
        return next.run(req).await;
    };
    let token = match bearer(req.headers()) {
        Ok(t) => t.to_string(),
        Err(e) => return e.into_response(),
    };
    if token == *master {
        return next.run(req).await;
    }
    let Some(need) = need else {
        return MeiliError::invalid_key().into_response();
    };
    // Only searches take tenant tokens; a token that is none is tried as a key.
    if need.action == "search" && crate::meili::tenant_token::looks_like_token(&token) {
        if let Some(claimed) = crate::meili::tenant_token::Claimed::read(&token) {
            return match tenant::admit(&s, claimed, &need, req, s.max_payload_bytes).await {
                Ok(req) => next.run(req).await,
                Err(resp) => resp,
            };
        }
    }
    let key = match lookup(&s, &token).await {
        Ok(Some(k)) => k,
        Ok(None) => return MeiliError::invalid_key().into_response(),
        Err(e) => return e.into_response(),
    };
    match allowed(&key, &need, req, s.max_payload_bytes).await {
        Ok(req) => next.run(req).await,
        Err(resp) => resp,
    }
}

/// The token of `Authorization: Bearer <token>`, with Meilisearch's errors:
/// no header (or another scheme) is 401, a bearer without a token 403.
fn bearer(headers: &HeaderMap) -> Result<&str, MeiliError> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(MeiliError::missing_auth)?;
    let mut parts = value.splitn(2, ' ');
    if parts.next() != Some("Bearer") {
        return Err(MeiliError::missing_auth());
    }
    match parts.next().map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(MeiliError::invalid_key()),
    }
}

/// Checks the key against the request; hands back the request (its body
/// read and put back when the indexes are named in it).
async fn allowed(
    key: &ApiKey,
    need: &Need,
    req: Request,
    max_body: usize,
) -> Result<Request, Response> {
    let now = (stamp::now_nanos() / 1_000_000_000) as i64;
    let refuse = || MeiliError::invalid_key().into_response();
    let indexes = match &need.target {
        Target::Global => vec![],
        Target::Path(uid) => vec![uid.clone()],
        // A key for every index needs no look at the body.
        _ if key.indexes.iter().any(|p| p == "*") => vec![],
        target => {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, max_body)
                .await
                .map_err(|_| MeiliError::payload_too_large(max_body).into_response())?;
            let named = serde_json::from_slice(&bytes)
                .ok()
                .and_then(|v| access::body_indexes(target, &v));
            let req = Request::from_parts(parts, Body::from(bytes));
            // A body without the expected shape is refused by the handler.
            let named = named.unwrap_or_default();
            return match key.allows(need.action, &named, now) {
                true => Ok(req),
                false => Err(refuse()),
            };
        }
    };
    match key.allows(need.action, &indexes, now) {
        true => Ok(req),
        false => Err(refuse()),
    }
}

/// Whether `token` could be a key (or uid): anything else is never sent to
/// a node, since it would land in a URL path.
fn plausible(token: &str) -> bool {
    token.len() <= 128
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The key `token` is, from the cache or a node; `None` if no node knows it.
async fn lookup(s: &Shared, token: &str) -> Result<Option<Arc<ApiKey>>, MeiliError> {
    // A uid also finds its key: only the key's own value counts.
    fetch_key(s, token, token, |k| k.key == token).await
}

/// The key whose uid is `uid` (a tenant token's parent), from the cache or a node.
async fn lookup_uid(s: &Shared, uid: &str) -> Result<Option<Arc<ApiKey>>, MeiliError> {
    // Cached apart from key values: no key value contains a colon.
    fetch_key(s, &format!("uid:{uid}"), uid, |k| k.uid == uid).await
}

/// `GET /keys/{id}` on a node, kept under `cached_as` when `found` accepts the answer.
async fn fetch_key(
    s: &Shared,
    cached_as: &str,
    id: &str,
    found: impl Fn(&ApiKey) -> bool,
) -> Result<Option<Arc<ApiKey>>, MeiliError> {
    if let Some(hit) = s.api_keys.get(cached_as) {
        return Ok(hit);
    }
    if !plausible(id) {
        return Ok(None);
    }
    let (token, path) = (cached_as, format!("/keys/{id}"));
    let mut last = String::from("no node is registered");
    for (id, base) in key_nodes(s).await? {
        match s.nodes.call(&base, Method::GET, &path, None).await {
            Ok(v) => {
                let key = ApiKey::from_json(&v).filter(|k| found(k)).map(Arc::new);
                s.api_keys.put(token, key.clone());
                return Ok(key);
            }
            Err(NodeError::Refused { status: 404, .. }) => {
                s.api_keys.put(token, None);
                return Ok(None);
            }
            Err(NodeError::Refused { status, body }) => {
                last = format!("node `{id}` answered {status}: {body}");
            }
            Err(NodeError::Unreachable { reason, .. }) => {
                last = format!("node `{id}` did not answer: {reason}");
            }
            Err(e @ NodeError::NotSent { .. }) => last = e.to_string(),
        }
    }
    Err(MeiliError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "miroir_key_check_unavailable",
        "system",
        format!("The API key could not be checked: no node answered about it ({last})."),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("authorization", value.parse().unwrap());
        h
    }

    /// Meilisearch's header rules: a bearer token, or 401/403.
    #[test]
    fn bearer_tokens() {
        assert_eq!(bearer(&headers("Bearer abc")), Ok("abc"));
        assert_eq!(bearer(&HeaderMap::new()).unwrap_err().status, 401);
        assert_eq!(bearer(&headers("Basic abc")).unwrap_err().status, 401);
        assert_eq!(bearer(&headers("Bearer ")).unwrap_err().status, 403);
    }

    /// Only key-shaped tokens are ever put in a node's URL.
    #[test]
    fn only_key_shaped_tokens_reach_nodes() {
        assert!(plausible("e5752c24a774d792b2cc60eca3f8abd6"));
        assert!(plausible("a01a0727-6fd9-4fc1-b0e2-58ae2c900989"));
        assert!(!plausible("../indexes"));
        assert!(!plausible("a.b.c"));
        assert!(!plausible(&"a".repeat(200)));
    }

    /// Indexes named in a body are checked, and the body reaches the handler whole.
    #[tokio::test]
    async fn body_indexes_are_checked_and_kept() {
        let key = ApiKey {
            key: "k".into(),
            uid: "u".into(),
            actions: vec!["search".into()],
            indexes: vec!["mov*".into()],
            expires: None,
        };
        let need = Need {
            action: "search",
            target: Target::BodyQueries,
        };
        let req = |index: &str| {
            let body = format!(r#"{{"queries":[{{"indexUid":"{index}"}}]}}"#);
            Request::post("/multi-search")
                .body(Body::from(body))
                .unwrap()
        };
        let ok = allowed(&key, &need, req("movies"), 1 << 20).await.unwrap();
        let body = axum::body::to_bytes(ok.into_body(), 1 << 20).await.unwrap();
        assert_eq!(&body[..], br#"{"queries":[{"indexUid":"movies"}]}"#);
        let refused = allowed(&key, &need, req("books"), 1 << 20)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let path = Need {
            action: "documents.add",
            target: Target::Path("movies".into()),
        };
        assert!(allowed(&key, &path, req("movies"), 1 << 20).await.is_err());
    }
}
