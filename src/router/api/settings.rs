//! `/indexes/{uid}/settings` and `/indexes/{uid}/settings/{name}`: read from one node (every node
//! of an index holds the same settings), changed on every node through [`Writer::broadcast`].
//! `_miroir_shard` stays filterable whatever the client sets, and is never shown.
//!
//! [`Writer::broadcast`]: crate::router::write::writer::Writer

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::fleet::{IndexChange, SettingWrite};
use crate::meili::reserved::SHARD_FIELD;
use crate::meili::MeiliError;
use crate::router::context::{writer, Shared};
use crate::router::read::one_node::read_from_node;
use crate::router::reply::{json_body, task_reply, ApiError};
use crate::state::TaskKind;

pub fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route(
            "/indexes/{uid}/settings",
            get(get_settings)
                .patch(patch_settings)
                .delete(reset_settings),
        )
        .route(
            "/indexes/{uid}/settings/{name}",
            get(get_setting)
                .put(set_setting)
                .patch(set_setting)
                .delete(reset_setting),
        )
}

/// The one setting that holds `_miroir_shard`.
const FILTERABLE: &str = "filterable-attributes";

/// Removes `_miroir_shard` from a filterable-attributes list.
fn hide_shard_field(list: &mut Value) {
    if let Some(items) = list.as_array_mut() {
        items.retain(|v| v != SHARD_FIELD);
    }
}

/// Makes sure a filterable-attributes value the client sends keeps `_miroir_shard`.
fn keep_shard_field(list: &mut Value) {
    match list {
        Value::Array(items) if !items.iter().any(|v| v == SHARD_FIELD) => {
            items.push(Value::from(SHARD_FIELD))
        }
        Value::Null => *list = json!([SHARD_FIELD]),
        _ => {}
    }
}

/// Resetting settings also resets filterable attributes: put `_miroir_shard` back.
fn restore_shard_field() -> IndexChange {
    IndexChange::UpdateSettings(json!({"filterableAttributes": [SHARD_FIELD]}))
}

async fn get_settings(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut v = read_from_node(&s, &uid, &format!("/indexes/{uid}/settings")).await?;
    hide_shard_field(&mut v["filterableAttributes"]);
    Ok(Json(v))
}

async fn patch_settings(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let mut body = match json_body(&body)? {
        b @ Value::Object(_) => b,
        _ => return Err(MeiliError::malformed("json", "expected an object").into()),
    };
    let details = body.clone();
    if let Some(f) = body.get_mut("filterableAttributes") {
        keep_shard_field(f);
    }
    let req = [IndexChange::UpdateSettings(body)];
    Ok(task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, details)
            .await,
    ))
}

async fn reset_settings(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let req = [IndexChange::ResetSettings, restore_shard_field()];
    task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, json!({}))
            .await,
    )
}

async fn get_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
) -> Result<Json<Value>, ApiError> {
    let mut v = read_from_node(&s, &uid, &format!("/indexes/{uid}/settings/{name}")).await?;
    if name == FILTERABLE {
        hide_shard_field(&mut v);
    }
    Ok(Json(v))
}

async fn set_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
    method: axum::http::Method,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let mut body = json_body(&body)?;
    let details = body.clone();
    if name == FILTERABLE {
        keep_shard_field(&mut body);
    }
    let how = if method == axum::http::Method::PUT {
        SettingWrite::Replace
    } else {
        SettingWrite::Merge
    };
    let req = [IndexChange::SetSetting {
        name,
        how,
        value: body,
    }];
    Ok(task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, details)
            .await,
    ))
}

async fn reset_setting(
    State(s): State<Arc<Shared>>,
    Path((uid, name)): Path<(String, String)>,
) -> Response {
    let restore = name == FILTERABLE;
    let mut req = vec![IndexChange::ResetSetting(name)];
    if restore {
        req.push(restore_shard_field());
    }
    task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, json!({}))
            .await,
    )
}
