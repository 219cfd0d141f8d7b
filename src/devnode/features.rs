//! The experimental features, runtime toggles that are each a boolean, changed with a PATCH
//! naming only the features to change.

use serde_json::{Map, Value};

use crate::meili::error::{wrong_type, MeiliError};

/// The runtime-togglable features Meilisearch 1.50 lists (`GET /experimental-features`), all off
/// at start.
const FEATURES: [&str; 15] = [
    "metrics",
    "logsRoute",
    "editDocumentsByFunction",
    "containsFilter",
    "dynamicSearchRules",
    "network",
    "getTaskDocumentsRoute",
    "taskQueueCompactionRoute",
    "compositeEmbedders",
    "chatCompletions",
    "multimodal",
    "foreignKeys",
    "disableDocumentsFetchQueue",
    "legacySearch",
    "renderRoute",
];

pub struct Features(pub(in crate::devnode) Map<String, Value>);

impl Default for Features {
    fn default() -> Self {
        Features(
            FEATURES
                .iter()
                .map(|f| (f.to_string(), Value::Bool(false)))
                .collect(),
        )
    }
}

impl Features {
    pub fn enabled(&self, name: &str) -> bool {
        self.0.get(name) == Some(&Value::Bool(true))
    }

    /// Applies a PATCH body; nothing changes unless all of it is valid.
    pub fn update(&mut self, body: &Value) -> Result<Value, MeiliError> {
        let Value::Object(obj) = body else {
            return Err(wrong_type("bad_request", "", "an object", body));
        };
        for (k, v) in obj {
            if !FEATURES.contains(&k.as_str()) {
                let list: Vec<String> = FEATURES.iter().map(|f| format!("`{f}`")).collect();
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{k}`: expected one of {}",
                    list.join(", ")
                )));
            }
            if !v.is_boolean() && !v.is_null() {
                return Err(wrong_type("bad_request", &format!(".{k}"), "a boolean", v));
            }
        }
        for (k, v) in obj {
            if v.is_boolean() {
                self.0.insert(k.clone(), v.clone());
            }
        }
        Ok(Value::Object(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A PATCH changes only what it names; an unknown field changes nothing.
    #[test]
    fn patch_changes_only_what_it_names() {
        let mut f = Features::default();
        let all = f
            .update(&json!({"metrics": true, "network": null}))
            .unwrap();
        assert_eq!(all["metrics"], true);
        assert_eq!(all["network"], false);
        let err = f
            .update(&json!({"logsRoute": true, "nope": true}))
            .unwrap_err();
        assert_eq!(err.code, "bad_request");
        assert_eq!(f.0["logsRoute"], false);
    }
}
