//! Meilisearch's error responses: `{message, code, type, link}` with the status code Meilisearch uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

/// One Meilisearch error, answered as JSON or stored in a failed task.
#[derive(Debug, Clone, PartialEq)]
pub struct MeiliError {
    pub status: StatusCode,
    pub code: &'static str,
    /// Meilisearch's `type`: `invalid_request`, `auth`, `internal` or `system`.
    pub kind: &'static str,
    pub message: String,
}

/// Rewrites a node's error about Miroir's physical index `physical` as one
/// about the client's index `uid` (Meilisearch names the index in messages,
/// as `` `name` ``; the first generation has the client's name already), and
/// leaves Miroir's attributes out of any list of available attributes.
pub fn name_client_index(body: &mut serde_json::Value, physical: &str, uid: &str) {
    let Some(text) = body.get("message").and_then(|m| m.as_str()) else {
        return;
    };
    let mut text = super::attributes::hidden::hide_in_message(text);
    if physical != uid {
        text = text.replace(&format!("`{physical}`"), &format!("`{uid}`"));
    }
    body["message"] = serde_json::Value::from(text);
}

impl MeiliError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        kind: &'static str,
        message: String,
    ) -> Self {
        MeiliError {
            status,
            code,
            kind,
            message,
        }
    }

    /// A 400 `invalid_request` error with the given code.
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "invalid_request",
            message.into(),
        )
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::invalid("bad_request", message)
    }

    pub fn missing_auth() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing_authorization_header",
            "auth",
            "The Authorization header is missing. It must use the bearer authorization method."
                .into(),
        )
    }

    pub fn invalid_key() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "invalid_api_key",
            "auth",
            "The provided API key is invalid.".into(),
        )
    }

    pub fn missing_master_key() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "missing_master_key",
            "auth",
            "Meilisearch is running without a master key. To access this API endpoint, you must have set a master key at launch.".into(),
        )
    }

    pub fn index_not_found(uid: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "index_not_found",
            "invalid_request",
            format!("Index `{uid}` not found."),
        )
    }

    pub fn index_exists(uid: &str) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "index_already_exists",
            "invalid_request",
            format!("Index `{uid}` already exists."),
        )
    }

    pub fn document_not_found(id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "document_not_found",
            "invalid_request",
            format!("Document `{id}` not found."),
        )
    }

    pub fn task_not_found(uid: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "task_not_found",
            "invalid_request",
            format!("Task `{uid}` not found."),
        )
    }

    pub fn key_not_found(key: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "api_key_not_found",
            "invalid_request",
            format!("API key `{key}` not found."),
        )
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "invalid_request",
            format!(
                "The provided payload reached the size limit. The maximum accepted payload size is {}.",
                human_size(limit)
            ),
        )
    }

    pub fn malformed(format: &str, detail: impl std::fmt::Display) -> Self {
        Self::invalid(
            "malformed_payload",
            format!("The `{format}` payload provided is malformed. `{detail}`."),
        )
    }

    pub fn invalid_index_uid(uid: &str) -> Self {
        Self::invalid(
            "invalid_index_uid",
            format!("`{uid}` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."),
        )
    }

    /// The same error with `Index `uid`: ` in front, as Meilisearch words errors raised inside an index.
    pub fn in_index(mut self, uid: &str) -> Self {
        self.message = format!("Index `{uid}`: {}", self.message);
        self
    }

    /// The same error in other words (its code and status kept).
    pub fn with_message(mut self, message: String) -> Self {
        self.message = message;
        self
    }

    /// The same error with another code (filters report `invalid_search_filter` or `invalid_document_filter`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn to_json(&self) -> Value {
        json!({
            "message": self.message,
            "code": self.code,
            "type": self.kind,
            "link": format!("https://docs.meilisearch.com/errors#{}", self.code),
        })
    }
}

impl IntoResponse for MeiliError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.to_json())).into_response()
    }
}

/// Sizes the way Meilisearch prints its payload limit ("100 MiB").
fn human_size(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

/// A JSON type name for "expected X, but found Y" messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a float",
        Value::Number(n) if n.as_i64().is_some_and(|i| i < 0) => "a negative integer",
        Value::Number(_) => "a positive integer",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// "Invalid value type: expected X, but found Y: `value`", for a whole body.
pub fn wrong_body_type(expected: &str, found: &Value) -> MeiliError {
    let shown = match found {
        Value::Null => String::new(),
        v => format!(": `{v}`"),
    };
    MeiliError::bad_request(format!(
        "Invalid value type: expected {expected}, but found {}{shown}",
        type_name(found)
    ))
}

/// "Invalid value type at `.field`: expected X, but found Y: `value`"
/// (Meilisearch shows no value after `null`).
pub fn wrong_type(code: &'static str, path: &str, expected: &str, found: &Value) -> MeiliError {
    let shown = match found {
        Value::Null => String::new(),
        v => format!(": `{v}`"),
    };
    MeiliError::invalid(
        code,
        format!(
            "Invalid value type at `{path}`: expected {expected}, but found {}{shown}",
            type_name(found)
        ),
    )
}

/// A JSON request body (not documents) as Meilisearch reads it: an empty
/// one is missing, a malformed one is named so.
pub fn json_body(body: &[u8]) -> Result<Value, MeiliError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(MeiliError::invalid(
            "missing_payload",
            "A json payload is missing.",
        ));
    }
    serde_json::from_slice(body).map_err(|e| {
        MeiliError::invalid(
            "malformed_payload",
            format!("The json payload provided is malformed. `{e}`."),
        )
    })
}
