//! `POST /indexes/{uid}/fields`: each field the index's documents hold, with
//! what its settings make of it, filtered and paged as Meilisearch 1.50 does.
//! Fields come in name order (Meilisearch lists them in the order it first
//! met them).

use serde_json::{json, Map, Value};

use crate::devnode::settings::{covered, filterable, list};
use crate::devnode::store::Index;
use crate::meili::error::{wrong_type, MeiliError};

/// The capabilities a filter may ask for, by their names in the body.
const FLAGS: [&str; 6] = [
    "displayed",
    "searchable",
    "sortable",
    "distinct",
    "rankingRule",
    "filterable",
];

pub fn list_fields(index: &Index, body: &Value) -> Result<Value, MeiliError> {
    let Value::Object(body) = body else {
        return Err(wrong_type("bad_request", "", "an object", body));
    };
    let number = |k: &str, default: u64| match body.get(k) {
        None | Some(Value::Null) => Ok(default),
        Some(v) => v
            .as_u64()
            .ok_or_else(|| wrong_type("bad_request", &format!(".{k}"), "a positive integer", v)),
    };
    let (offset, limit) = (number("offset", 0)? as usize, number("limit", 20)? as usize);
    let filter = match body.get("filter") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(f)) => f.clone(),
        Some(v) => {
            return Err(wrong_type(
                "invalid_index_fields_filter",
                ".filter",
                "an object",
                v,
            ))
        }
    };
    let patterns: Option<Vec<String>> = filter
        .get("attributePatterns")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(String::from))
                .collect()
        });
    let fields: Vec<Value> = index
        .field_distribution()
        .keys()
        .map(|name| field(index, name))
        .filter(|f| {
            let name = f["name"].as_str().unwrap_or_default();
            patterns.as_ref().is_none_or(|p| covered(p, name))
                && FLAGS
                    .iter()
                    .all(|flag| match filter.get(*flag).and_then(Value::as_bool) {
                        Some(wanted) => f[flag]["enabled"] == wanted,
                        None => true,
                    })
        })
        .collect();
    let total = fields.len();
    let page: Vec<Value> = fields.into_iter().skip(offset).take(limit).collect();
    Ok(json!({"results": page, "offset": offset, "limit": limit, "total": total}))
}

/// One field as the settings describe it.
fn field(index: &Index, name: &str) -> Value {
    let s = &index.settings;
    let shown = |setting: &str| {
        let l = list(s, setting);
        l.iter().any(|a| a == "*") || covered(&l, name)
    };
    let filterable = covered(&filterable(s), name);
    let order: Vec<String> = list(s, "rankingRules")
        .into_iter()
        .filter(|r| r == &format!("{name}:asc") || r == &format!("{name}:desc"))
        .collect();
    let by = &s
        .get("faceting")
        .map(|f| f["sortFacetValuesBy"].clone())
        .unwrap_or(Value::Null);
    let sort_by = by
        .get(name)
        .or_else(|| by.get("*"))
        .cloned()
        .unwrap_or(json!("alpha"));
    let facet_search = filterable && s.get("facetSearch") != Some(&json!(false));
    json!({
        "name": name,
        "displayed": {"enabled": shown("displayedAttributes")},
        "searchable": {"enabled": shown("searchableAttributes")},
        "sortable": {"enabled": covered(&list(s, "sortableAttributes"), name)},
        "distinct": {"enabled": s.get("distinctAttribute").and_then(Value::as_str) == Some(name)},
        "rankingRule": {"enabled": !order.is_empty()},
        "filterable": {"enabled": filterable, "sortBy": sort_by, "facetSearch": facet_search,
            "equality": filterable, "comparison": false},
        "localized": {"locales": []},
    })
}
