//! Index settings: Meilisearch's defaults, validation of updates, merging, and the per-setting routes.
//!
//! Settings are kept as the JSON object `GET /indexes/{uid}/settings` returns, so what a client
//! stored comes back unchanged; only the settings that change behaviour here are interpreted.

use serde_json::{json, Map, Value};

use crate::meili::error::{wrong_type, MeiliError};

/// Every setting an update may carry, in Meilisearch's order (also the order of a reset's task details).
const ALL: [&str; 22] = [
    "displayedAttributes",
    "searchableAttributes",
    "filterableAttributes",
    "sortableAttributes",
    "foreignKeys",
    "rankingRules",
    "stopWords",
    "nonSeparatorTokens",
    "separatorTokens",
    "dictionary",
    "synonyms",
    "distinctAttribute",
    "proximityPrecision",
    "typoTolerance",
    "faceting",
    "pagination",
    "embedders",
    "searchCutoffMs",
    "localizedAttributes",
    "facetSearch",
    "prefixSearch",
    "chat",
];

/// Settings an update accepts but `GET /settings` does not show.
const HIDDEN: [&str; 2] = ["foreignKeys", "chat"];

/// Settings whose objects are merged field by field on update, not replaced.
const MERGED: [&str; 3] = ["typoTolerance", "faceting", "pagination"];

/// Settings Meilisearch treats as sets: stored sorted and deduplicated.
const SETS: [&str; 5] = [
    "sortableAttributes",
    "stopWords",
    "nonSeparatorTokens",
    "separatorTokens",
    "dictionary",
];

fn default_of(name: &str) -> Value {
    match name {
        "displayedAttributes" | "searchableAttributes" => json!(["*"]),
        "filterableAttributes"
        | "sortableAttributes"
        | "stopWords"
        | "nonSeparatorTokens"
        | "separatorTokens"
        | "dictionary" => json!([]),
        "rankingRules" => json!([
            "words",
            "typo",
            "proximity",
            "attributeRank",
            "sort",
            "wordPosition",
            "exactness"
        ]),
        "synonyms" | "embedders" => json!({}),
        "proximityPrecision" => json!("byWord"),
        "typoTolerance" => json!({
            "enabled": true,
            "minWordSizeForTypos": {"oneTypo": 5, "twoTypos": 9},
            "disableOnWords": [],
            "disableOnAttributes": [],
            "disableOnNumbers": false
        }),
        "faceting" => json!({"maxValuesPerFacet": 100, "sortFacetValuesBy": {"*": "alpha"}}),
        "pagination" => json!({"maxTotalHits": 1000}),
        "facetSearch" => json!(true),
        "prefixSearch" => json!("indexingTime"),
        _ => Value::Null,
    }
}

/// A fresh index's settings.
pub fn defaults() -> Map<String, Value> {
    ALL.iter()
        .filter(|n| !HIDDEN.contains(n))
        .map(|n| (n.to_string(), default_of(n)))
        .collect()
}

/// The setting behind a sub-route such as `filterable-attributes`.
pub fn from_route(name: &str) -> Option<&'static str> {
    ALL.iter()
        .copied()
        .filter(|n| !HIDDEN.contains(n))
        .find(|n| kebab(n) == name)
}

fn kebab(camel: &str) -> String {
    camel.chars().fold(String::new(), |mut s, c| {
        if c.is_ascii_uppercase() {
            s.push('-');
        }
        s.push(c.to_ascii_lowercase());
        s
    })
}

/// The error code for a setting: `invalid_settings_filterable_attributes`.
fn code_of(name: &str) -> &'static str {
    match name {
        "displayedAttributes" => "invalid_settings_displayed_attributes",
        "searchableAttributes" => "invalid_settings_searchable_attributes",
        "filterableAttributes" => "invalid_settings_filterable_attributes",
        "sortableAttributes" => "invalid_settings_sortable_attributes",
        "foreignKeys" => "invalid_settings_foreign_keys",
        "rankingRules" => "invalid_settings_ranking_rules",
        "stopWords" => "invalid_settings_stop_words",
        "nonSeparatorTokens" => "invalid_settings_non_separator_tokens",
        "separatorTokens" => "invalid_settings_separator_tokens",
        "dictionary" => "invalid_settings_dictionary",
        "synonyms" => "invalid_settings_synonyms",
        "distinctAttribute" => "invalid_settings_distinct_attribute",
        "proximityPrecision" => "invalid_settings_proximity_precision",
        "typoTolerance" => "invalid_settings_typo_tolerance",
        "faceting" => "invalid_settings_faceting",
        "pagination" => "invalid_settings_pagination",
        "embedders" => "invalid_settings_embedders",
        "searchCutoffMs" => "invalid_settings_search_cutoff_ms",
        "localizedAttributes" => "invalid_settings_localized_attributes",
        "facetSearch" => "invalid_settings_facet_search",
        "prefixSearch" => "invalid_settings_prefix_search",
        "chat" => "invalid_settings_chat",
        _ => "bad_request",
    }
}

/// Validates an update body (`PATCH /settings`) into the settings it changes.
pub fn validate_patch(body: &Value) -> Result<Map<String, Value>, MeiliError> {
    let Value::Object(obj) = body else {
        return Err(wrong_type("bad_request", "", "an object", body));
    };
    let mut out = Map::new();
    for (name, value) in obj {
        if !ALL.contains(&name.as_str()) {
            let expected = ALL.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>();
            return Err(MeiliError::bad_request(format!(
                "Unknown field `{name}`: expected one of {}",
                expected.join(", ")
            )));
        }
        out.insert(name.clone(), validate_one(name, value)?);
    }
    Ok(out)
}

/// Validates one setting's new value (a sub-route body); `null` means reset.
pub fn validate_one(name: &str, value: &Value) -> Result<Value, MeiliError> {
    let code = code_of(name);
    let path = format!(".{name}");
    if value.is_null() {
        return Ok(Value::Null);
    }
    let strings = |v: &Value| -> Result<Vec<String>, MeiliError> {
        let Value::Array(items) = v else {
            return Err(wrong_type(code, &path, "an array", v));
        };
        items
            .iter()
            .enumerate()
            .map(|(i, item)| match item {
                Value::String(s) => Ok(s.clone()),
                other => Err(wrong_type(code, &format!("{path}[{i}]"), "a string", other)),
            })
            .collect()
    };
    let checked = match name {
        "rankingRules" => {
            let rules = strings(value)?;
            for (i, r) in rules.iter().enumerate() {
                if !valid_rule(r) {
                    return Err(MeiliError::invalid(code, format!("Invalid value at `{path}[{i}]`: `{r}` ranking rule is invalid. Valid ranking rules are words, typo, sort, proximity, attribute, exactness and custom ranking rules.")));
                }
            }
            json!(rules)
        }
        "filterableAttributes" => match value {
            Value::Array(items) if items.iter().all(|i| i.is_string() || i.is_object()) => {
                value.clone()
            }
            Value::Array(_) => json!(strings(value)?),
            _ => return Err(wrong_type(code, &path, "an array", value)),
        },
        _ if SETS.contains(&name) => {
            let mut v = strings(value)?;
            v.sort();
            v.dedup();
            json!(v)
        }
        "displayedAttributes" | "searchableAttributes" | "localizedAttributes" => {
            if name == "localizedAttributes" {
                return match value {
                    Value::Array(_) => Ok(value.clone()),
                    _ => Err(wrong_type(code, &path, "an array", value)),
                };
            }
            json!(strings(value)?)
        }
        "synonyms" => {
            let Value::Object(map) = value else {
                return Err(wrong_type(code, &path, "an object", value));
            };
            for (k, v) in map {
                strings(v).map_err(|_| wrong_type(code, &format!("{path}.{k}"), "an array", v))?;
            }
            value.clone()
        }
        "distinctAttribute" => match value {
            Value::String(_) => value.clone(),
            _ => return Err(wrong_type(code, &path, "a string", value)),
        },
        "proximityPrecision" | "prefixSearch" => {
            let allowed: &[&str] = if name == "proximityPrecision" {
                &["byWord", "byAttribute"]
            } else {
                &["indexingTime", "disabled"]
            };
            match value.as_str() {
                Some(s) if allowed.contains(&s) => value.clone(),
                _ => {
                    let list = allowed.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>();
                    return Err(MeiliError::invalid(
                        code,
                        format!(
                            "Unknown value `{}` at `{path}`: expected one of {}",
                            value.as_str().unwrap_or(&value.to_string()),
                            list.join(", ")
                        ),
                    ));
                }
            }
        }
        "typoTolerance" | "faceting" | "pagination" | "embedders" => match value {
            Value::Object(_) => value.clone(),
            _ => return Err(wrong_type(code, &path, "an object", value)),
        },
        "searchCutoffMs" => match value {
            Value::Number(n) if n.is_u64() => value.clone(),
            _ => return Err(wrong_type(code, &path, "a positive integer", value)),
        },
        "facetSearch" => match value {
            Value::Bool(_) => value.clone(),
            _ => return Err(wrong_type(code, &path, "a boolean", value)),
        },
        _ => value.clone(),
    };
    Ok(checked)
}

fn valid_rule(rule: &str) -> bool {
    const BUILTIN: [&str; 8] = [
        "words",
        "typo",
        "proximity",
        "attribute",
        "attributeRank",
        "wordPosition",
        "sort",
        "exactness",
    ];
    if BUILTIN.contains(&rule) {
        return true;
    }
    match rule.rsplit_once(':') {
        Some((field, dir)) => !field.is_empty() && (dir == "asc" || dir == "desc"),
        None => false,
    }
}

/// Applies a validated update: `null` resets a setting, merged settings merge, others replace.
pub fn apply(settings: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (name, value) in patch {
        if HIDDEN.contains(&name.as_str()) {
            continue;
        }
        let new = match value {
            Value::Null => default_of(name),
            Value::Object(obj) if MERGED.contains(&name.as_str()) => {
                let mut merged = settings
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| default_of(name));
                if let Value::Object(m) = &mut merged {
                    for (k, v) in obj {
                        m.insert(
                            k.clone(),
                            if v.is_null() {
                                default_of(name)[k].clone()
                            } else {
                                v.clone()
                            },
                        );
                    }
                }
                merged
            }
            other => other.clone(),
        };
        settings.insert(name.clone(), new);
    }
}

/// The task details of a full reset (`DELETE /settings`), as Meilisearch reports them.
pub fn reset_details() -> Map<String, Value> {
    ALL.iter()
        .map(|n| (n.to_string(), reset_value(n)))
        .collect()
}

/// What a reset of one setting reports in its task details.
pub fn reset_value(name: &str) -> Value {
    match name {
        "displayedAttributes" | "searchableAttributes" => json!(["*"]),
        _ => Value::Null,
    }
}

/// The filterable attribute patterns, from strings or `{attributePatterns: [..]}` objects.
pub fn filterable(settings: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for item in settings
        .get("filterableAttributes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        match item {
            Value::String(s) => out.push(s.clone()),
            Value::Object(o) => out.extend(
                o.get("attributePatterns")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.as_str().map(String::from)),
            ),
            _ => {}
        }
    }
    out
}

/// A list setting as strings (`sortableAttributes`, `searchableAttributes`, ...).
pub fn list(settings: &Map<String, Value>, name: &str) -> Vec<String> {
    settings
        .get(name)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect()
}

/// Whether `attr` is covered by one of `patterns` (exact, a parent object, or a `*` wildcard).
pub fn covered(patterns: &[String], attr: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*"
            || p == attr
            || attr
                .strip_prefix(p.as_str())
                .is_some_and(|r| r.starts_with('.'))
            || p.strip_suffix('*').is_some_and(|pre| attr.starts_with(pre))
            || p.strip_prefix('*').is_some_and(|suf| attr.ends_with(suf))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Updates are validated, sets are sorted, nulls reset and nested objects merge.
    #[test]
    fn updates_validate_and_merge() {
        let mut s = defaults();
        let patch = validate_patch(&json!({
            "sortableAttributes": ["year", "rating"],
            "typoTolerance": {"enabled": false}
        }));
        let patch = patch.unwrap_or_default();
        apply(&mut s, &patch);
        assert_eq!(s["sortableAttributes"], json!(["rating", "year"]));
        assert_eq!(s["typoTolerance"]["enabled"], json!(false));
        assert_eq!(
            s["typoTolerance"]["minWordSizeForTypos"]["oneTypo"],
            json!(5)
        );
        apply(
            &mut s,
            &validate_patch(&json!({"sortableAttributes": null})).unwrap_or_default(),
        );
        assert_eq!(s["sortableAttributes"], json!([]));
        let err = validate_patch(&json!({"rankingRules": ["nonsense"]})).err();
        assert_eq!(err.map(|e| e.code), Some("invalid_settings_ranking_rules"));
        assert_eq!(
            validate_patch(&json!({"nope": 1})).err().map(|e| e.code),
            Some("bad_request")
        );
        assert_eq!(
            from_route("filterable-attributes"),
            Some("filterableAttributes")
        );
        assert_eq!(from_route("search-cutoff-ms"), Some("searchCutoffMs"));
    }
}
