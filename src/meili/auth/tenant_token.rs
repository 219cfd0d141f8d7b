//! Tenant tokens as Meilisearch reads them: a JWT signed (HS256, HS384 or HS512) with the value
//! of the API key whose uid it names, carrying search rules (which indexes, with which filter)
//! and an optional expiry. Only searches take them. Every refusal is `invalid_api_key`, worded
//! as Meilisearch words it.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::meili::keys::grants_index;
use crate::meili::MeiliError;

/// A token whose signature has not been checked yet: what it claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    pub api_key_uid: String,
    pub rules: SearchRules,
    pub exp: Option<i64>,
    algorithm: &'static ring::hmac::Algorithm,
    signed: String,
    signature: Vec<u8>,
}

/// `searchRules`: index patterns, each with an optional filter.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchRules(Vec<(String, Option<Value>)>);

fn refused(message: String) -> MeiliError {
    let mut e = MeiliError::invalid_key();
    e.message = message;
    e
}

/// Whether a bearer token has a JWT's shape (else it is an API key).
pub fn looks_like_token(token: &str) -> bool {
    token.split('.').count() == 3
}

impl Claimed {
    /// Reads a token without trusting it; `None` if it is no tenant token (it is then tried as
    /// an API key, as Meilisearch does).
    pub fn read(token: &str) -> Option<Claimed> {
        let mut parts = token.split('.');
        let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
        let json = |part: &str| -> Option<Value> {
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()
        };
        let header = json(h)?;
        let algorithm = match header["alg"].as_str()? {
            "HS256" => &ring::hmac::HMAC_SHA256,
            "HS384" => &ring::hmac::HMAC_SHA384,
            "HS512" => &ring::hmac::HMAC_SHA512,
            _ => return None,
        };
        let claims = json(p)?;
        Some(Claimed {
            api_key_uid: claims["apiKeyUid"].as_str()?.to_string(),
            rules: SearchRules::read(&claims["searchRules"])?,
            exp: claims.get("exp").and_then(Value::as_i64),
            algorithm,
            signed: format!("{h}.{p}"),
            signature: URL_SAFE_NO_PAD.decode(s).ok()?,
        })
    }

    /// The rules, once the signature is the key's and the token has not expired.
    pub fn verify(self, key_value: &str, now: i64) -> Result<SearchRules, MeiliError> {
        let key = ring::hmac::Key::new(*self.algorithm, key_value.as_bytes());
        if ring::hmac::verify(&key, self.signed.as_bytes(), &self.signature).is_err() {
            return Err(refused(
                "Could not decode tenant token, InvalidSignature.".into(),
            ));
        }
        if let Some(exp) = self.exp {
            if now > exp {
                return Err(refused(format!(
                    "Tenant token expired. Was valid up to `{exp}` and we're now `{now}`."
                )));
            }
        }
        Ok(self.rules)
    }
}

impl SearchRules {
    fn read(v: &Value) -> Option<SearchRules> {
        match v {
            Value::Array(a) => a
                .iter()
                .map(|p| Some((p.as_str()?.to_string(), None)))
                .collect::<Option<_>>()
                .map(SearchRules),
            Value::Object(m) => m
                .iter()
                .map(|(p, rule)| {
                    let filter = match rule {
                        Value::Null => None,
                        Value::Object(r) => r.get("filter").filter(|f| !f.is_null()).cloned(),
                        _ => return None,
                    };
                    Some((p.clone(), filter))
                })
                .collect::<Option<_>>()
                .map(SearchRules),
            _ => None,
        }
    }

    pub fn authorizes(&self, index: &str) -> bool {
        self.0
            .iter()
            .any(|(p, _)| grants_index(std::slice::from_ref(p), index))
    }

    /// Refuses an index the rules do not name, listing those they do.
    pub fn check(&self, index: &str) -> Result<(), MeiliError> {
        if self.authorizes(index) {
            return Ok(());
        }
        let mut allowed: Vec<&str> = self.0.iter().map(|(p, _)| p.as_str()).collect();
        allowed.sort_unstable();
        Err(refused(format!(
            "The provided tenant token cannot acces the index `{index}`, allowed indexes are {allowed:?}."
        )))
    }

    /// The filter of the most specific pattern matching `index` (an exact name first, then the
    /// longest pattern).
    pub fn filter_for(&self, index: &str) -> Option<&Value> {
        self.0
            .iter()
            .filter(|(p, _)| grants_index(std::slice::from_ref(p), index))
            .max_by_key(|(p, _)| (!p.ends_with('*'), p.len()))
            .and_then(|(_, f)| f.as_ref())
    }

    /// Adds the rules' filter for `index` to a search body, next to the client's own.
    pub fn apply(&self, index: &str, body: &mut Map<String, Value>) {
        let Some(rule) = self.filter_for(index) else {
            return;
        };
        let fused = match body.remove("filter").filter(|f| !f.is_null()) {
            None => rule.clone(),
            Some(mine) => {
                let list = |v: Value| match v {
                    Value::Array(a) => a,
                    v => vec![v],
                };
                Value::Array([list(mine), list(rule.clone())].concat())
            }
        };
        body.insert("filter".into(), fused);
    }
}

/// The error for an index the parent key does not reach (its list stays private).
pub fn key_cannot_reach(index: &str) -> MeiliError {
    refused(format!(
        "The API key used to generate this tenant token cannot acces the index `{index}`."
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn sign(claims: &Value, key: &str, alg: &str) -> String {
        let enc = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signed = format!(
            "{}.{}",
            enc(&json!({"alg": alg, "typ": "JWT"})),
            enc(claims)
        );
        let algorithm = match alg {
            "HS256" => ring::hmac::HMAC_SHA256,
            _ => ring::hmac::HMAC_SHA512,
        };
        let tag = ring::hmac::sign(
            &ring::hmac::Key::new(algorithm, key.as_bytes()),
            signed.as_bytes(),
        );
        format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    #[test]
    fn signed_tokens_give_their_rules() {
        let claims = json!({"apiKeyUid": "u1", "exp": 2000,
            "searchRules": {"movies": {"filter": "genre = action"}, "mov*": null, "books": null}});
        let token = sign(&claims, "secret", "HS256");
        assert!(looks_like_token(&token));
        let c = Claimed::read(&token).unwrap();
        assert_eq!(c.api_key_uid, "u1");
        let rules = c.clone().verify("secret", 1999).unwrap();
        assert!(rules.authorizes("movies2") && !rules.authorizes("songs"));
        // The exact rule wins over the pattern.
        assert_eq!(rules.filter_for("movies"), Some(&json!("genre = action")));
        assert_eq!(rules.filter_for("movies2"), None);
        let mut body = Map::new();
        body.insert("filter".into(), json!(["year > 2000"]));
        rules.apply("movies", &mut body);
        assert_eq!(body["filter"], json!(["year > 2000", "genre = action"]));
        let e = rules.check("songs").unwrap_err();
        assert_eq!(e.code, "invalid_api_key");
        assert_eq!(e.message, "The provided tenant token cannot acces the index `songs`, allowed indexes are [\"books\", \"mov*\", \"movies\"].");

        let e = c.clone().verify("other", 1999).unwrap_err();
        assert_eq!(
            e.message,
            "Could not decode tenant token, InvalidSignature."
        );
        let e = c.verify("secret", 2001).unwrap_err();
        assert_eq!(
            e.message,
            "Tenant token expired. Was valid up to `2000` and we're now `2001`."
        );

        let list = sign(
            &json!({"apiKeyUid": "u", "searchRules": ["*"]}),
            "k",
            "HS512",
        );
        let rules = Claimed::read(&list).unwrap().verify("k", 0).unwrap();
        assert!(rules.authorizes("anything"));
        assert!(Claimed::read("abc.def.ghi").is_none());
        assert!(Claimed::read(&sign(&json!({"searchRules": ["*"]}), "k", "HS256")).is_none());
    }
}
