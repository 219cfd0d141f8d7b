//! Meilisearch's rules for a `PATCH /indexes/{uid}` body: a primary key to
//! set and a new uid to rename the index to, each optional, nothing else.

use serde_json::Value;

use crate::meili::error::{json_body, wrong_body_type, wrong_type};
use crate::meili::MeiliError;

/// What an index update asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexUpdate {
    pub primary_key: Option<String>,
    /// The new uid (`null` and absent are the same: no rename).
    pub uid: Option<String>,
}

/// Reads the body, refusing what Meilisearch 1.50 refuses, in its words.
pub fn parse(body: &[u8]) -> Result<IndexUpdate, MeiliError> {
    let value = json_body(body)?;
    let Value::Object(fields) = &value else {
        return Err(wrong_body_type("an object", &value));
    };
    let mut update = IndexUpdate::default();
    for (name, v) in fields {
        match (name.as_str(), v) {
            (_, Value::Null) if name == "primaryKey" || name == "uid" => {}
            ("primaryKey", Value::String(pk)) => update.primary_key = Some(pk.clone()),
            ("primaryKey", v) => {
                return Err(wrong_type(
                    "invalid_index_primary_key",
                    ".primaryKey",
                    "a string",
                    v,
                ))
            }
            ("uid", Value::String(uid)) if crate::meili::index_uid::is_valid(uid) => {
                update.uid = Some(uid.clone())
            }
            ("uid", Value::String(uid)) => return Err(MeiliError::invalid_index_uid(uid)),
            ("uid", v) => return Err(wrong_type("invalid_index_uid", ".uid", "a string", v)),
            (other, _) => {
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{other}`: expected one of `primaryKey`, `uid`"
                )))
            }
        }
    }
    Ok(update)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> (String, String) {
        let e = parse(body.as_bytes()).unwrap_err();
        (e.code.to_string(), e.message)
    }

    /// Each refusal as a real Meilisearch 1.50 answered it.
    #[test]
    fn bodies_refused_as_meilisearch_does() {
        assert_eq!(
            refused(r#"{"uid":"c","foo":1}"#),
            (
                "bad_request".into(),
                "Unknown field `foo`: expected one of `primaryKey`, `uid`".into()
            )
        );
        assert_eq!(
            refused(r#"{"uid":"c","primaryKey":5}"#).1,
            "Invalid value type at `.primaryKey`: expected a string, but found a positive integer: `5`"
        );
        assert_eq!(
            refused(r#"{"uid":5}"#),
            (
                "invalid_index_uid".into(),
                "Invalid value type at `.uid`: expected a string, but found a positive integer: `5`"
                    .into()
            )
        );
        assert_eq!(refused(r#"{"uid":"bad uid"}"#).0, "invalid_index_uid");
        assert_eq!(
            refused("[1]").1,
            "Invalid value type: expected an object, but found an array: `[1]`"
        );
        assert_eq!(refused("").0, "missing_payload");
    }

    #[test]
    fn null_is_absent() {
        let u = parse(br#"{"uid":null,"primaryKey":null}"#).unwrap();
        assert_eq!(u, IndexUpdate::default());
        let u = parse(br#"{"uid":"c","primaryKey":"id"}"#).unwrap();
        assert_eq!(u.uid.as_deref(), Some("c"));
        assert_eq!(u.primary_key.as_deref(), Some("id"));
    }
}
