//! API keys and authorization: the master key, Meilisearch's four default keys, and keys with
//! actions and index patterns that are created, listed, updated and deleted through `/keys`.
//!
//! Without a master key every route is open, as in Meilisearch, except `/keys` itself.

use serde_json::{json, Map, Value};

use crate::meili::error::{wrong_type, MeiliError};
use crate::meili::keys::{grants_action, grants_index, is_live, ACTIONS};
use crate::meili::stamp;

struct ApiKey {
    name: Option<String>,
    description: Option<String>,
    key: String,
    uid: String,
    actions: Vec<String>,
    indexes: Vec<String>,
    expires_at: Option<String>,
    /// `expires_at` in seconds since the epoch, checked on every request.
    expires_secs: Option<i64>,
    created_at: u128,
    updated_at: u128,
}

impl ApiKey {
    fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "description": self.description,
            "key": self.key,
            "uid": self.uid,
            "actions": self.actions,
            "indexes": self.indexes,
            "expiresAt": self.expires_at,
            "createdAt": stamp::rfc3339(self.created_at),
            "updatedAt": stamp::rfc3339(self.updated_at),
        })
    }

    fn allows(&self, action: &str, index: Option<&str>) -> bool {
        let now = (stamp::now_nanos() / 1_000_000_000) as i64;
        grants_action(&self.actions, action)
            && index.is_none_or(|i| grants_index(&self.indexes, i))
            && is_live(self.expires_secs, now)
    }
}

pub struct Keys {
    master: Option<String>,
    /// Oldest first; listings show newest first.
    keys: Vec<ApiKey>,
}

impl Keys {
    /// With a master key, Meilisearch starts with four default keys.
    pub fn new(master: Option<String>) -> Self {
        let mut keys = Keys {
            master,
            keys: Vec::new(),
        };
        if keys.master.is_some() {
            let defaults: [(&str, &str, &[&str]); 4] = [
                ("Default Chat API Key", "Use it to chat and search from the frontend", &["chatCompletions", "search"]),
                ("Default Read-Only Admin API Key", "Use it to read information across the whole database. Caution! Do not expose this key on a public frontend", &["*.get", "keys.get"]),
                ("Default Admin API Key", "Use it for anything that is not a search operation. Caution! Do not expose it on a public frontend", &["*"]),
                ("Default Search API Key", "Use it to search from the frontend", &["search"]),
            ];
            for (name, description, actions) in defaults {
                keys.insert(
                    Some(name.into()),
                    Some(description.into()),
                    actions.iter().map(|a| a.to_string()).collect(),
                    vec!["*".into()],
                    None,
                    None,
                );
            }
        }
        keys
    }

    fn insert(
        &mut self,
        name: Option<String>,
        description: Option<String>,
        actions: Vec<String>,
        indexes: Vec<String>,
        expires_at: Option<String>,
        uid: Option<String>,
    ) -> &ApiKey {
        let now = stamp::now_nanos();
        let uid = uid.unwrap_or_else(stamp::uuid_v4);
        self.keys.push(ApiKey {
            name,
            description,
            key: derive_key(self.master.as_deref().unwrap_or_default(), &uid),
            uid,
            actions,
            indexes,
            expires_secs: expires_at.as_deref().and_then(stamp::parse_rfc3339),
            expires_at,
            created_at: now,
            updated_at: now,
        });
        &self.keys[self.keys.len() - 1]
    }

    /// Checks a request's `Authorization` header for `action` on `index`.
    pub fn authorize(
        &self,
        header: Option<&str>,
        action: &str,
        index: Option<&str>,
    ) -> Result<(), MeiliError> {
        let Some(master) = &self.master else {
            return Ok(());
        };
        let token = header
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(MeiliError::missing_auth)?;
        if token == master {
            return Ok(());
        }
        match self.keys.iter().find(|k| k.key == token) {
            Some(k) if k.allows(action, index) => Ok(()),
            _ => Err(MeiliError::invalid_key()),
        }
    }

    /// Routes under `/keys` exist only with a master key.
    pub fn require_master(&self) -> Result<(), MeiliError> {
        self.master
            .as_ref()
            .map(|_| ())
            .ok_or_else(MeiliError::missing_master_key)
    }

    pub fn create(&mut self, body: &Value) -> Result<Value, MeiliError> {
        let Value::Object(obj) = body else {
            return Err(wrong_type("bad_request", "", "an object", body));
        };
        const FIELDS: [&str; 6] = [
            "name",
            "description",
            "actions",
            "indexes",
            "expiresAt",
            "uid",
        ];
        if let Some(k) = obj.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            let list: Vec<String> = FIELDS.iter().map(|f| format!("`{f}`")).collect();
            return Err(MeiliError::bad_request(format!(
                "Unknown field `{k}`: expected one of {}",
                list.join(", ")
            )));
        }
        let text = |f: &str, code: &'static str| -> Result<Option<String>, MeiliError> {
            match obj.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(v) => Err(wrong_type(code, &format!(".{f}"), "a string", v)),
            }
        };
        let name = text("name", "invalid_api_key_name")?;
        let description = text("description", "invalid_api_key_description")?;
        let uid = text("uid", "invalid_api_key_uid")?;
        let actions = strings(
            obj,
            "actions",
            "missing_api_key_actions",
            "invalid_api_key_actions",
        )?;
        for (i, a) in actions.iter().enumerate() {
            let wildcard = a
                .strip_suffix(".*")
                .is_some_and(|p| !p.is_empty() && !p.contains('*'));
            if !ACTIONS.contains(&a.as_str()) && !wildcard {
                let list: Vec<String> = ACTIONS.iter().map(|x| format!("`{x}`")).collect();
                return Err(MeiliError::invalid(
                    "invalid_api_key_actions",
                    format!(
                        "Unknown value `{a}` at `.actions[{i}]`: expected one of {}",
                        list.join(", ")
                    ),
                ));
            }
        }
        let indexes = strings(
            obj,
            "indexes",
            "missing_api_key_indexes",
            "invalid_api_key_indexes",
        )?;
        let expires_at = match obj.get("expiresAt") {
            None => {
                return Err(MeiliError::invalid(
                    "missing_api_key_expires_at",
                    "Missing field `expiresAt`",
                ))
            }
            Some(Value::Null) => None,
            Some(Value::String(s)) if stamp::parse_rfc3339(s).is_some() => Some(s.clone()),
            Some(v) => {
                return Err(MeiliError::invalid(
                    "invalid_api_key_expires_at",
                    format!("Invalid value at `.expiresAt`: `{}` is not a valid date. It should follow the RFC 3339 format to represents a date or datetime in the future or specified as a null value. e.g. 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'.", v.as_str().unwrap_or(&v.to_string())),
                ))
            }
        };
        if let Some(u) = &uid {
            if self.keys.iter().any(|k| k.uid == *u) {
                return Err(MeiliError::invalid(
                    "api_key_already_exists",
                    format!("`uid` field value `{u}` is already an existing API key."),
                ));
            }
        }
        Ok(self
            .insert(name, description, actions, indexes, expires_at, uid)
            .to_json())
    }

    pub fn list(&self, offset: usize, limit: usize) -> Value {
        let results: Vec<Value> = self
            .keys
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(ApiKey::to_json)
            .collect();
        json!({"results": results, "offset": offset, "limit": limit, "total": self.keys.len()})
    }

    fn position(&self, key_or_uid: &str) -> Result<usize, MeiliError> {
        self.keys
            .iter()
            .position(|k| k.key == key_or_uid || k.uid == key_or_uid)
            .ok_or_else(|| MeiliError::key_not_found(key_or_uid))
    }

    pub fn get(&self, key_or_uid: &str) -> Result<Value, MeiliError> {
        Ok(self.keys[self.position(key_or_uid)?].to_json())
    }

    /// Only `name` and `description` can change, as in Meilisearch.
    pub fn update(&mut self, key_or_uid: &str, body: &Value) -> Result<Value, MeiliError> {
        let i = self.position(key_or_uid)?;
        let Value::Object(obj) = body else {
            return Err(wrong_type("bad_request", "", "an object", body));
        };
        for (field, value) in obj {
            let slot = match field.as_str() {
                "name" => &mut self.keys[i].name,
                "description" => &mut self.keys[i].description,
                other => {
                    return Err(MeiliError::invalid(
                        "immutable_api_key_actions",
                        format!("The `{other}` field cannot be modified for the given resource."),
                    ))
                }
            };
            *slot = value.as_str().map(String::from);
        }
        self.keys[i].updated_at = stamp::now_nanos();
        Ok(self.keys[i].to_json())
    }

    pub fn delete(&mut self, key_or_uid: &str) -> Result<(), MeiliError> {
        let i = self.position(key_or_uid)?;
        self.keys.remove(i);
        Ok(())
    }
}

/// A key's value as Meilisearch derives it: HMAC-SHA256 of the uid under the
/// master key, in hex. Nodes sharing a master key thus agree on a key's value.
pub fn derive_key(master: &str, uid: &str) -> String {
    let mac = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, master.as_bytes());
    ring::hmac::sign(&mac, uid.as_bytes())
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn strings(
    obj: &Map<String, Value>,
    field: &str,
    missing: &'static str,
    invalid: &'static str,
) -> Result<Vec<String>, MeiliError> {
    let v = obj
        .get(field)
        .ok_or_else(|| MeiliError::invalid(missing, format!("Missing field `{field}`")))?;
    let Value::Array(items) = v else {
        return Err(wrong_type(invalid, &format!(".{field}"), "an array", v));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| {
            x.as_str()
                .map(String::from)
                .ok_or_else(|| wrong_type(invalid, &format!(".{field}[{i}]"), "a string", x))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The value Meilisearch gives uid `d7d30ffe-…` under master key `masterKey`.
    #[test]
    fn key_values_derive_from_uid_and_master_key() {
        assert_eq!(
            derive_key("masterKey", "d7d30ffe-ec60-484f-84f8-1c8b7d0ac352"),
            "623359df9ea4d4a6c676c329c793191601ce7dd15541c2394277eae26aeedf1e"
        );
    }
}
