//! Webhooks, kept by the coordinators, fired once per
//! Miroir task: by whichever router's commit made the task final (the
//! coordinators tell exactly one commit so), with the task as Meilisearch
//! shows it, one NDJSON line per task.

use crate::control::{ControlClient, ControlError, Webhook};
use crate::router::tasks::view::view;
use crate::state::TaskRecord;

/// All webhooks, from the coordinators.
pub async fn all(control: &ControlClient) -> Result<Vec<Webhook>, ControlError> {
    control.list_webhooks().await
}

/// Sends the finished tasks to every webhook, in the background. A webhook
/// that fails is logged and counted, not retried (as in Meilisearch).
pub fn fire(control: ControlClient, http: reqwest::Client, finished: Vec<TaskRecord>) {
    if finished.is_empty() {
        return;
    }
    tokio::spawn(async move {
        let hooks = match all(&control).await {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!(error = %e, "webhooks not fired: coordinators unreachable");
                return;
            }
        };
        let body: String = finished.iter().map(|t| format!("{}\n", view(t))).collect();
        for w in hooks {
            let mut req = http
                .post(&w.url)
                .header("content-type", "application/x-ndjson")
                .body(body.clone());
            for (k, v) in &w.headers {
                req = req.header(k.as_str(), v.as_str());
            }
            let ok = req.send().await.is_ok_and(|r| r.status().is_success());
            let outcome = if ok { "delivered" } else { "failed" };
            metrics::counter!("miroir_router_webhooks_total", "outcome" => outcome).increment(1);
            if !ok {
                tracing::warn!(url = %w.url, "webhook delivery failed");
            }
        }
    });
}
