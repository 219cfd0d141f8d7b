//! Meilisearch's rules for `POST /swap-indexes` and for a rename through
//! `PATCH /indexes/{uid}`: the body as Meilisearch reads it (with its
//! errors, word for word), the checks it makes when it processes the task,
//! and the task's details.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::meili::error::wrong_type;
use crate::meili::MeiliError;

/// One pair of a swap: `lhs` and `rhs` exchange names, or, with `rename`,
/// `lhs` takes the name `rhs` (which must be free).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Swap {
    pub lhs: String,
    pub rhs: String,
    pub rename: bool,
}

/// Reads a `POST /swap-indexes` body, refusing what Meilisearch refuses.
pub fn parse(body: &[u8]) -> Result<Vec<Swap>, MeiliError> {
    let value = crate::meili::error::json_body(body)?;
    let Value::Array(items) = &value else {
        return Err(crate::meili::error::wrong_body_type("an array", &value));
    };
    let mut lists = vec![];
    for (i, item) in items.iter().enumerate() {
        let at = format!("[{i}]");
        let Value::Object(fields) = item else {
            return Err(wrong_type("bad_request", &at, "an object", item));
        };
        lists.push(swap_entry(&at, fields)?);
    }
    let mut swaps = vec![];
    for (indexes, rename) in lists {
        let [lhs, rhs] = indexes.as_slice() else {
            let quoted: Vec<String> = indexes.iter().map(|u| format!("\"{u}\"")).collect();
            return Err(MeiliError::invalid(
                "invalid_swap_indexes",
                format!(
                    "Two indexes must be given for each swap. The list `[{}]` contains {} indexes.",
                    quoted.join(", "),
                    indexes.len()
                ),
            ));
        };
        swaps.push(Swap {
            lhs: lhs.clone(),
            rhs: rhs.clone(),
            rename,
        });
    }
    no_duplicates(&swaps)?;
    Ok(swaps)
}

fn swap_entry(at: &str, fields: &Map<String, Value>) -> Result<(Vec<String>, bool), MeiliError> {
    let (mut indexes, mut rename) = (None, false);
    for (k, v) in fields {
        match k.as_str() {
            "indexes" => indexes = Some(uids(&format!("{at}.indexes"), v)?),
            "rename" => match v {
                Value::Bool(b) => rename = *b,
                other => {
                    return Err(wrong_type(
                        "invalid_swap_rename",
                        &format!("{at}.rename"),
                        "a boolean",
                        other,
                    ))
                }
            },
            other => {
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{other}` inside `{at}`: expected one of `indexes`, `rename`"
                )))
            }
        }
    }
    let indexes = indexes.ok_or_else(|| {
        MeiliError::invalid(
            "missing_swap_indexes",
            format!("Missing field `indexes` inside `{at}`"),
        )
    })?;
    Ok((indexes, rename))
}

fn uids(at: &str, v: &Value) -> Result<Vec<String>, MeiliError> {
    let Value::Array(items) = v else {
        return Err(wrong_type("invalid_swap_indexes", at, "an array", v));
    };
    let mut out = vec![];
    for (i, item) in items.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let Value::String(uid) = item else {
            return Err(wrong_type("invalid_swap_indexes", &at, "a string", item));
        };
        if !crate::meili::index_uid::is_valid(uid) {
            let why = MeiliError::invalid_index_uid(uid).message;
            return Err(MeiliError::invalid(
                "invalid_swap_indexes",
                format!("Invalid value at `{at}`: {why}"),
            ));
        }
        out.push(uid.clone());
    }
    Ok(out)
}

/// Every index may appear once in a whole swap request.
pub fn no_duplicates(swaps: &[Swap]) -> Result<(), MeiliError> {
    let mut seen = BTreeSet::new();
    let mut twice = BTreeSet::new();
    for s in swaps {
        for uid in [&s.lhs, &s.rhs] {
            if !seen.insert(uid) {
                twice.insert(uid);
            }
        }
    }
    let message = match twice.len() {
        0 => return Ok(()),
        1 => format!(
            "Indexes must be declared only once during a swap. `{}` was specified several times.",
            twice.first().expect("one")
        ),
        _ => format!(
            "Indexes must be declared only once during a swap. {} were specified several times.",
            quoted(twice.iter().copied())
        ),
    };
    Err(MeiliError::invalid(
        "invalid_swap_duplicate_index_found",
        message,
    ))
}

fn quoted<'a>(uids: impl Iterator<Item = &'a String>) -> String {
    uids.map(|u| format!("`{u}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What Meilisearch's processing of a swap task finds wrong, given which
/// indexes exist then: missing indexes first, then renames onto a taken name.
pub fn check(swaps: &[Swap], exists: impl Fn(&str) -> bool) -> Result<(), MeiliError> {
    let mut missing = BTreeSet::new();
    let mut taken = BTreeSet::new();
    for s in swaps {
        if !exists(&s.lhs) {
            missing.insert(s.lhs.clone());
        }
        match (exists(&s.rhs), s.rename) {
            (true, true) => {
                taken.insert((s.lhs.clone(), s.rhs.clone()));
            }
            (false, false) => {
                missing.insert(s.rhs.clone());
            }
            _ => {}
        }
    }
    match missing.len() {
        0 => {}
        1 => return Err(MeiliError::index_not_found(missing.first().expect("one"))),
        _ => {
            return Err(MeiliError::index_not_found("")
                .with_message(format!("Indexes {} not found.", quoted(missing.iter()))))
        }
    }
    match taken.len() {
        0 => Ok(()),
        1 => {
            let (lhs, rhs) = taken.first().expect("one");
            Err(MeiliError::index_exists(rhs).with_message(format!(
                "Cannot rename `{lhs}` to `{rhs}` as the index already exists. Hint: You can remove `{rhs}` first and then do your remove."
            )))
        }
        _ => Err(MeiliError::index_exists("").with_message(format!(
            "The following indexes are being renamed but cannot because their new name conflicts with an already existing index: {}. Renaming doesn't overwrite the other index name.",
            quoted(taken.iter().map(|(_, rhs)| rhs))
        ))),
    }
}

/// What processing a rename through `PATCH /indexes/{old}` finds wrong.
pub fn check_rename(old: &str, new: &str, exists: impl Fn(&str) -> bool) -> Result<(), MeiliError> {
    if !exists(old) {
        return Err(MeiliError::index_not_found(old));
    }
    if old != new && exists(new) {
        return Err(MeiliError::index_exists(new));
    }
    Ok(())
}

/// An `indexSwap` task's details.
pub fn swap_details(swaps: &[Swap]) -> Value {
    let swaps: Vec<Value> = swaps
        .iter()
        .map(|s| json!({"indexes": [s.lhs, s.rhs], "rename": s.rename}))
        .collect();
    json!({ "swaps": swaps })
}

/// The details of an `indexUpdate` task that renames an index.
pub fn rename_details(old: &str, new: &str, primary_key: Option<&str>) -> Value {
    json!({"primaryKey": primary_key, "oldIndexUid": old, "newIndexUid": new})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> Value {
        parse(body.as_bytes()).unwrap_err().to_json()
    }

    /// Each refusal as a real Meilisearch 1.50 answered it.
    #[test]
    fn bodies_refused_as_meilisearch_does() {
        let cases = [
            ("", "missing_payload", "A json payload is missing."),
            ("[{\"indexes\":[\"a\",\"b\"]", "malformed_payload", "The json payload provided is malformed. `EOF while parsing an object at line 1 column 21`."),
            ("{\"indexes\":[\"b\"]}", "bad_request", "Invalid value type: expected an array, but found an object: `{\"indexes\":[\"b\"]}`"),
            ("null", "bad_request", "Invalid value type: expected an array, but found null"),
            ("[1]", "bad_request", "Invalid value type at `[0]`: expected an object, but found a positive integer: `1`"),
            ("[{\"foo\":1}]", "bad_request", "Unknown field `foo` inside `[0]`: expected one of `indexes`, `rename`"),
            ("[{\"rename\":true}]", "missing_swap_indexes", "Missing field `indexes` inside `[0]`"),
            ("[{\"indexes\":\"a\"}]", "invalid_swap_indexes", "Invalid value type at `[0].indexes`: expected an array, but found a string: `\"a\"`"),
            ("[{\"indexes\":[1,\"b\"]}]", "invalid_swap_indexes", "Invalid value type at `[0].indexes[0]`: expected a string, but found a positive integer: `1`"),
            ("[{\"indexes\":[\"b\",\"d bad\"]}]", "invalid_swap_indexes", "Invalid value at `[0].indexes[1]`: `d bad` is not a valid index uid. Index uid can be an integer or a string containing only alphanumeric characters, hyphens (-) and underscores (_), and can not be more than 512 bytes."),
            ("[{\"indexes\":[\"b\",\"d\"],\"rename\":\"yes\"}]", "invalid_swap_rename", "Invalid value type at `[0].rename`: expected a boolean, but found a string: `\"yes\"`"),
            ("[{\"indexes\":[\"b\",\"d\"],\"rename\":null}]", "invalid_swap_rename", "Invalid value type at `[0].rename`: expected a boolean, but found null"),
            ("[{\"indexes\":[\"b\"]}]", "invalid_swap_indexes", "Two indexes must be given for each swap. The list `[\"b\"]` contains 1 indexes."),
            ("[{\"indexes\":[\"a\",\"b\",\"c\"]}]", "invalid_swap_indexes", "Two indexes must be given for each swap. The list `[\"a\", \"b\", \"c\"]` contains 3 indexes."),
            ("[{\"indexes\":[\"b\",\"b\"]}]", "invalid_swap_duplicate_index_found", "Indexes must be declared only once during a swap. `b` was specified several times."),
            ("[{\"indexes\":[\"a\",\"b\"]},{\"indexes\":[\"c\",\"a\"]},{\"indexes\":[\"c\",\"d\"]}]", "invalid_swap_duplicate_index_found", "Indexes must be declared only once during a swap. `a`, `c` were specified several times."),
        ];
        for (body, code, message) in cases {
            let e = refused(body);
            assert_eq!(e["code"], code, "{body}: {e}");
            assert_eq!(e["message"], message, "{body}");
        }
    }

    #[test]
    fn swaps_read_in_order() {
        let s = parse(br#"[{"indexes":["a","b"]},{"indexes":["c","d"],"rename":true}]"#).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            (s[0].lhs.as_str(), s[0].rhs.as_str(), s[0].rename),
            ("a", "b", false)
        );
        assert!(s[1].rename);
        assert_eq!(parse(b"[]").unwrap(), vec![]);
        assert_eq!(
            swap_details(&s)["swaps"][1],
            json!({"indexes": ["c", "d"], "rename": true})
        );
    }

    /// The failures of a processed swap, as Meilisearch 1.50 words them.
    #[test]
    fn processing_checks() {
        let exists = |u: &str| ["a", "b", "c", "d"].contains(&u);
        let s = |l: &str, r: &str, rename| Swap {
            lhs: l.into(),
            rhs: r.into(),
            rename,
        };
        assert!(check(&[s("a", "b", false), s("c", "x", true)], exists).is_ok());
        let e = check(&[s("d", "x", false), s("y", "z", false)], exists).unwrap_err();
        assert_eq!(
            (e.code, e.message.as_str()),
            ("index_not_found", "Indexes `x`, `y`, `z` not found.")
        );
        let e = check(&[s("a", "q", false)], exists).unwrap_err();
        assert_eq!(e.message, "Index `q` not found.");
        let e = check(&[s("a", "b", true)], exists).unwrap_err();
        assert_eq!(e.code, "index_already_exists");
        assert_eq!(e.message, "Cannot rename `a` to `b` as the index already exists. Hint: You can remove `b` first and then do your remove.");
        let e = check(&[s("a", "b", true), s("c", "d", true)], exists).unwrap_err();
        assert_eq!(e.message, "The following indexes are being renamed but cannot because their new name conflicts with an already existing index: `b`, `d`. Renaming doesn't overwrite the other index name.");
        assert_eq!(
            check_rename("zz", "q", exists).unwrap_err().message,
            "Index `zz` not found."
        );
        assert_eq!(
            check_rename("c", "b", exists).unwrap_err().message,
            "Index `b` already exists."
        );
        assert!(check_rename("b", "b", exists).is_ok());
    }
}
