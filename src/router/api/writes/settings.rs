//! `/indexes/{uid}/settings` and `/indexes/{uid}/settings/{name}`: read from one node (every node
//! of an index holds the same settings), changed on every node through [`Writer::broadcast`].
//! Miroir's attributes stay filterable and sortable whatever the client sets, and are never shown
//! (the rule is `meili::reserved`'s).
//!
//! [`Writer::broadcast`]: crate::router::write::writer::Writer

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{json, Value};

use crate::fleet::{IndexChange, SettingWrite};
use crate::meili::reserved;
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

async fn get_settings(
    State(s): State<Arc<Shared>>,
    Path(uid): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let mut v = read_from_node(&s, &uid, "/settings").await?;
    reserved::hide_in_settings(&mut v, &Value::Null);
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
    reserved::keep_in_settings(&mut body);
    let req = [IndexChange::UpdateSettings(body)];
    Ok(task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, details)
            .await,
    ))
}

async fn reset_settings(State(s): State<Arc<Shared>>, Path(uid): Path<String>) -> Response {
    let mut req = vec![IndexChange::ResetSettings];
    req.extend(reserved::restore_after_reset(None).map(IndexChange::UpdateSettings));
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
    let mut v = read_from_node(&s, &uid, &format!("/settings/{name}")).await?;
    reserved::hide_in_setting(&name, &mut v);
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
    reserved::keep_in_setting(&name, &mut body);
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
    let restore = reserved::restore_after_reset(Some(&name));
    let mut req = vec![IndexChange::ResetSetting(name)];
    req.extend(restore.map(IndexChange::UpdateSettings));
    task_reply(
        writer(&s)
            .broadcast(&uid, TaskKind::SettingsUpdate, &req, json!({}))
            .await,
    )
}
