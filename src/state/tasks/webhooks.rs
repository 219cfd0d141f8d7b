//! Webhooks Miroir fires once per Miroir task (not once per node task):
//! Meilisearch's `/webhooks` API, kept in the replicated state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;

/// As many as Meilisearch allows.
pub const MAX_WEBHOOKS: usize = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    pub headers: BTreeMap<String, String>,
}

impl Webhook {
    pub fn validate(&self) -> Result<(), CommandError> {
        let scheme_ok = self.url.starts_with("http://") || self.url.starts_with("https://");
        if !scheme_ok || self.url.len() < 10 {
            return Err(CommandError::invalid(format!(
                "webhook url `{}` is not an http(s) URL",
                self.url
            )));
        }
        if self.headers.keys().any(|k| k.is_empty()) {
            return Err(CommandError::invalid("a webhook header name is empty"));
        }
        Ok(())
    }
}
