//! Meilisearch's `/webhooks`: listed, created, changed and removed through the coordinators,
//! which keep them; `tasks::webhooks` fires them.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::control::{ControlError, Webhook};
use crate::meili::{stamp, MeiliError};
use crate::router::context::Shared;
use crate::router::reply::json_object;
use crate::router::tasks::webhooks::all;
use crate::router::write::writer::coordinators_down;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route(
            "/webhooks/{uuid}",
            get(get_one).patch(update).delete(remove),
        )
}

/// Meilisearch hides header values that carry credentials.
fn shown(w: &Webhook) -> Value {
    let headers: Map<String, Value> = w
        .headers
        .iter()
        .map(|(k, v)| {
            let secret = k.eq_ignore_ascii_case("authorization");
            let v = if secret {
                "XXX...".to_string()
            } else {
                v.clone()
            };
            (k.clone(), Value::from(v))
        })
        .collect();
    json!({"uuid": w.uuid, "url": w.url, "headers": headers, "isEditable": true})
}

fn not_found(uuid: &str) -> MeiliError {
    let mut e = MeiliError::invalid("webhook_not_found", format!("Webhook `{uuid}` not found."));
    e.status = StatusCode::NOT_FOUND;
    e
}

async fn find(s: &Shared, uuid: &str) -> Result<Webhook, MeiliError> {
    let hooks = all(&s.control).await.map_err(coordinators_down)?;
    hooks
        .into_iter()
        .find(|w| w.uuid == uuid)
        .ok_or_else(|| not_found(uuid))
}

async fn put(s: &Shared, w: Webhook) -> Result<Webhook, MeiliError> {
    s.control.put_webhook(w).await.map_err(|e| match e {
        ControlError::InvalidArgument(m) => MeiliError::invalid("invalid_webhook_url", m),
        ControlError::FailedPrecondition(m) => MeiliError::invalid("too_many_webhooks", m),
        e => coordinators_down(e),
    })
}

/// Applies a create or update body (`url`, `headers`; a null header removes it).
fn apply_body(w: &mut Webhook, body: &Map<String, Value>) -> Result<(), MeiliError> {
    for (k, v) in body {
        match (k.as_str(), v) {
            ("url", Value::String(u)) => w.url = u.clone(),
            ("headers", Value::Object(h)) => {
                for (name, value) in h {
                    match value {
                        Value::Null => {
                            w.headers.remove(name);
                        }
                        Value::String(v) => {
                            w.headers.insert(name.clone(), v.clone());
                        }
                        other => {
                            return Err(MeiliError::invalid(
                                "invalid_webhook_headers",
                                format!("Invalid value type at `.headers.{name}`: expected a string, but found {other}"),
                            ))
                        }
                    }
                }
            }
            ("headers", Value::Null) => w.headers.clear(),
            ("url" | "headers", other) => {
                return Err(MeiliError::invalid(
                    if k == "url" {
                        "invalid_webhook_url"
                    } else {
                        "invalid_webhook_headers"
                    },
                    format!("Invalid value type at `.{k}`: found {other}"),
                ))
            }
            _ => {
                return Err(MeiliError::invalid(
                    "bad_request",
                    format!("Unknown field `{k}`: expected one of `url`, `headers`"),
                ))
            }
        }
    }
    Ok(())
}

async fn list(State(s): State<Arc<Shared>>) -> Result<Json<Value>, MeiliError> {
    let hooks = all(&s.control).await.map_err(coordinators_down)?;
    Ok(Json(
        json!({"results": hooks.iter().map(shown).collect::<Vec<_>>()}),
    ))
}

async fn get_one(
    State(s): State<Arc<Shared>>,
    Path(uuid): Path<String>,
) -> Result<Json<Value>, MeiliError> {
    Ok(Json(shown(&find(&s, &uuid).await?)))
}

async fn create(
    State(s): State<Arc<Shared>>,
    body: axum::body::Bytes,
) -> Result<Response, MeiliError> {
    let body = json_object(&body)?;
    if !body.contains_key("url") {
        return Err(MeiliError::invalid(
            "invalid_webhook_url",
            "Missing field `url`",
        ));
    }
    let mut w = Webhook {
        uuid: stamp::uuid_v4(),
        url: String::new(),
        headers: Default::default(),
    };
    apply_body(&mut w, &body)?;
    let w = put(&s, w).await?;
    Ok((StatusCode::CREATED, Json(shown(&w))).into_response())
}

async fn update(
    State(s): State<Arc<Shared>>,
    Path(uuid): Path<String>,
    body: axum::body::Bytes,
) -> Result<Json<Value>, MeiliError> {
    let body = json_object(&body)?;
    let mut w = find(&s, &uuid).await?;
    apply_body(&mut w, &body)?;
    Ok(Json(shown(&put(&s, w).await?)))
}

async fn remove(
    State(s): State<Arc<Shared>>,
    Path(uuid): Path<String>,
) -> Result<StatusCode, MeiliError> {
    match s.control.delete_webhook(&uuid).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(ControlError::NotFound(_)) => Err(not_found(&uuid)),
        Err(e) => Err(coordinators_down(e)),
    }
}
