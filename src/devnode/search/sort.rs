//! The `sort` parameter: its keys checked against the sortable attributes, and how two documents
//! compare on one key.

use std::cmp::Ordering;

use serde_json::Value;

use crate::devnode::filter::evaluation::{lookup, scalars};
use crate::devnode::settings;
use crate::devnode::store::{Document, Index};
use crate::meili::error::MeiliError;

/// `attr:asc|desc` pairs of a search, each sortable, with Meilisearch's errors.
pub fn sort_keys(index: &Index, sort: &[String]) -> Result<Vec<(String, bool)>, MeiliError> {
    let keys = parse_keys(index, sort, "invalid_search_sort")?;
    if !keys.is_empty()
        && !settings::list(&index.settings, "rankingRules")
            .iter()
            .any(|r| r == "sort")
    {
        return Err(MeiliError::invalid(
            "invalid_search_sort",
            "You must specify where `sort` is listed in the rankingRules setting to use the sort parameter at search time.",
        )
        .in_index(&index.uid));
    }
    Ok(keys)
}

/// The `sort` of a documents listing: sortable keys, no ranking rule needed.
pub fn document_sort_keys(
    index: &Index,
    sort: &[String],
) -> Result<Vec<(String, bool)>, MeiliError> {
    parse_keys(index, sort, "invalid_document_sort")
}

fn parse_keys(
    index: &Index,
    sort: &[String],
    code: &'static str,
) -> Result<Vec<(String, bool)>, MeiliError> {
    let sortable = settings::list(&index.settings, "sortableAttributes");
    let mut out = Vec::new();
    for s in sort {
        let (field, asc) = match s.rsplit_once(':') {
            Some((f, "asc")) => (f, true),
            Some((f, "desc")) => (f, false),
            _ => {
                return Err(MeiliError::invalid(
                    code,
                    format!("Invalid syntax for the sort parameter: expected expression ending by `:asc` or `:desc`, found `{s}`."),
                ))
            }
        };
        if !settings::covered(&sortable, field) {
            let available = if sortable.is_empty() {
                "This index does not have configured sortable attributes.".to_string()
            } else {
                format!(
                    "Available sortable attributes are: `{}`.",
                    sortable.join(", ")
                )
            };
            let e = MeiliError::invalid(
                code,
                format!("Attribute `{field}` is not sortable. {available}"),
            );
            // Searches name the index; documents listings do not.
            return Err(match code {
                "invalid_search_sort" => e.in_index(&index.uid),
                _ => e,
            });
        }
        out.push((field.to_string(), asc));
    }
    Ok(out)
}

/// Numbers before strings, documents without the field last, whatever the direction.
pub fn compare_field(a: &Document, b: &Document, field: &str, asc: bool) -> Ordering {
    #[derive(PartialEq, PartialOrd)]
    enum Key {
        Num(f64),
        Str(String),
    }
    let key = |d: &Document| -> Option<Key> {
        let keys: Vec<Key> = lookup(d, field)
            .map(scalars)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|v| match v {
                Value::Number(n) => n.as_f64().map(Key::Num),
                Value::String(s) => Some(Key::Str(s.to_lowercase())),
                _ => None,
            })
            .collect();
        keys.into_iter().reduce(|x, y| {
            let y_first = if asc { y < x } else { y > x };
            if y_first {
                y
            } else {
                x
            }
        })
    };
    match (key(a), key(b)) {
        // Numbers before strings in either direction, as in Meilisearch.
        (Some(Key::Num(_)), Some(Key::Str(_))) => Ordering::Less,
        (Some(Key::Str(_)), Some(Key::Num(_))) => Ordering::Greater,
        (Some(x), Some(y)) => {
            let o = x.partial_cmp(&y).unwrap_or(Ordering::Equal);
            if asc {
                o
            } else {
                o.reverse()
            }
        }
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
