use serde::{Deserialize, Serialize};

use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::webhooks::{Webhook, MAX_WEBHOOKS};
use crate::state::{ClusterState, TaskUid};

/// Creates or replaces the webhook `uuid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PutWebhook {
    pub uuid: String,
    pub webhook: Webhook,
}

impl PutWebhook {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.uuid.is_empty() {
            return Err(CommandError::invalid("a webhook needs a uuid"));
        }
        self.webhook.validate()
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        if !state.webhooks.contains_key(&self.uuid) && state.webhooks.len() >= MAX_WEBHOOKS {
            return Err(CommandError::precondition(format!(
                "there are already {MAX_WEBHOOKS} webhooks, the most allowed: delete one first"
            )));
        }
        state.webhooks.insert(self.uuid, self.webhook);
        Ok(CommandResponse::Done)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteWebhook {
    pub uuid: String,
}

impl DeleteWebhook {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        state
            .webhooks
            .remove(&self.uuid)
            .map(|_| CommandResponse::Done)
            .ok_or_else(|| CommandError::NotFound(format!("webhook `{}`", self.uuid)))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn put(uuid: &str) -> PutWebhook {
        PutWebhook {
            uuid: uuid.into(),
            webhook: Webhook {
                url: "http://example.test/hook".into(),
                headers: BTreeMap::new(),
            },
        }
    }

    /// Up to the limit, replacing is always allowed, and deleting twice fails.
    #[test]
    fn limit_replace_and_delete() {
        let mut s = ClusterState::default();
        for i in 0..MAX_WEBHOOKS {
            put(&i.to_string()).apply(&mut s).unwrap();
        }
        assert!(put("one-more").apply(&mut s).is_err());
        put("0").apply(&mut s).unwrap();
        DeleteWebhook { uuid: "0".into() }.apply(&mut s).unwrap();
        assert!(DeleteWebhook { uuid: "0".into() }.apply(&mut s).is_err());
        let mut bad = put("x");
        bad.webhook.url = "ftp://nope".into();
        assert!(bad.validate().is_err());
    }
}

/// Hands a router the tasks workflows finished, for their webhooks, and
/// forgets them: each is taken once, by one router.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TakeWorkflowFinished {
    pub max: u32,
}

impl TakeWorkflowFinished {
    pub fn validate(&self) -> Result<(), CommandError> {
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let taken: Vec<TaskUid> = state
            .webhook_outbox
            .iter()
            .take(self.max.max(1) as usize)
            .copied()
            .collect();
        let mut records = vec![];
        for t in taken {
            state.webhook_outbox.remove(&t);
            records.extend(state.tasks.records.get(&t).cloned());
        }
        Ok(CommandResponse::Tasks(records))
    }
}
