//! Facets: distribution and numeric stats over the documents a search matched, and facet search.

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use crate::devnode::filter::evaluation::{lookup, scalars};
use crate::devnode::search::query::{self, SearchQuery};
use crate::devnode::search::ranking;
use crate::devnode::search::terms::{self, tokenize};
use crate::devnode::settings;
use crate::devnode::store::{Document, Index};
use crate::meili::error::{wrong_type, MeiliError};

/// The facet names a request expands to: `*` means every filterable field the index has seen.
fn expand(index: &Index, facets: &[String]) -> Vec<String> {
    if facets.iter().any(|f| f == "*") {
        let patterns = index.filterable();
        return index
            .field_distribution()
            .keys()
            .filter(|k| settings::covered(&patterns, k))
            .cloned()
            .collect();
    }
    facets.to_vec()
}

/// How a facet value is named: strings as first seen, numbers in their shortest form.
fn facet_key(v: &Value) -> Option<(String, String)> {
    match v {
        Value::String(s) => Some((s.trim().to_lowercase(), s.clone())),
        Value::Number(n) => n.as_f64().map(|f| (format!("{f}"), format!("{f}"))),
        Value::Bool(b) => Some((b.to_string(), b.to_string())),
        _ => None,
    }
}

/// Value counts per facet for these documents: `(normalised -> (shown name, count))`.
fn counts<'a>(
    docs: impl Iterator<Item = &'a Document>,
    facet: &str,
) -> BTreeMap<String, (String, u64)> {
    let mut out: BTreeMap<String, (String, u64)> = BTreeMap::new();
    for doc in docs {
        let mut seen = Vec::new();
        for v in lookup(doc, facet).map(scalars).unwrap_or_default() {
            if let Some((norm, shown)) = facet_key(v) {
                if !seen.contains(&norm) {
                    out.entry(norm.clone()).or_insert((shown, 0)).1 += 1;
                    seen.push(norm);
                }
            }
        }
    }
    out
}

/// `facetDistribution` and `facetStats` for a search.
pub fn distribution(index: &Index, docs: &[&Document], facets: &[String]) -> (Value, Value) {
    let max_values = index.settings["faceting"]["maxValuesPerFacet"]
        .as_u64()
        .unwrap_or(100) as usize;
    let mut dist = Map::new();
    let mut stats = Map::new();
    for facet in expand(index, facets) {
        let mut values: Vec<(String, u64)> =
            counts(docs.iter().copied(), &facet).into_values().collect();
        if sort_by_count(index, &facet) {
            values.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        }
        values.truncate(max_values);
        dist.insert(
            facet.clone(),
            values
                .into_iter()
                .map(|(k, c)| (k, json!(c)))
                .collect::<Map<_, _>>()
                .into(),
        );
        let numbers: Vec<f64> = docs
            .iter()
            .flat_map(|d| lookup(d, &facet).map(scalars).unwrap_or_default())
            .filter_map(Value::as_f64)
            .collect();
        if !numbers.is_empty() {
            let min = numbers.iter().copied().fold(f64::INFINITY, f64::min);
            let max = numbers.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            stats.insert(facet, json!({"min": min, "max": max}));
        }
    }
    (Value::Object(dist), Value::Object(stats))
}

fn sort_by_count(index: &Index, facet: &str) -> bool {
    let by = &index.settings["faceting"]["sortFacetValuesBy"];
    by.get(facet)
        .or_else(|| by.get("*"))
        .and_then(Value::as_str)
        == Some("count")
}

/// `POST /indexes/{uid}/facet-search`.
pub fn facet_search(index: &Index, body: &Value) -> Result<Value, MeiliError> {
    let started = std::time::Instant::now();
    let Value::Object(obj) = body else {
        return Err(wrong_type("bad_request", "", "an object", body));
    };
    let mut search_body = Map::new();
    let mut facet_name = None;
    let mut facet_query = None;
    for (k, v) in obj {
        match k.as_str() {
            "facetName" => {
                facet_name = Some(v.as_str().map(String::from).ok_or_else(|| {
                    wrong_type("invalid_facet_search_facet_name", ".facetName", "a string", v)
                })?)
            }
            "facetQuery" => facet_query = v.as_str().map(String::from),
            "exhaustiveFacetCount" => {}
            "q" | "filter" | "matchingStrategy" | "attributesToSearchOn" | "rankingScoreThreshold" | "locales" => {
                search_body.insert(k.clone(), v.clone());
            }
            other => {
                return Err(MeiliError::bad_request(format!(
                    "Unknown field `{other}`: expected one of `facetQuery`, `facetName`, `q`, `vector`, `multimodal`, `hybrid`, `filter`, `matchingStrategy`, `attributesToSearchOn`, `rankingScoreThreshold`, `exhaustiveFacetCount`, `locales`"
                )))
            }
        }
    }
    let facet_name = facet_name.ok_or_else(|| {
        MeiliError::invalid(
            "missing_facet_search_facet_name",
            "Missing field `facetName`",
        )
    })?;
    if index.settings["facetSearch"] == json!(false) {
        return Err(MeiliError::invalid(
            "facet_search_disabled",
            "The facet search is disabled for this index",
        ));
    }
    let patterns = index.filterable();
    if !settings::covered(&patterns, &facet_name) {
        let mut sorted = patterns.clone();
        sorted.sort();
        let list: Vec<String> = sorted.iter().map(|p| format!("`{p}`")).collect();
        return Err(MeiliError::invalid(
            "invalid_facet_search_facet_name",
            format!("Attribute `{facet_name}` is not facet-searchable. Available facet-searchable attributes patterns are: {}. To make it facet-searchable add it to the `filterableAttributes` index settings.", list.join(", ")),
        ));
    }
    let q: SearchQuery = query::parse(&Value::Object(search_body), "", false)?;
    let ranked = ranking::rank(index, &q)?;
    let terms = terms::terms(facet_query.as_deref().unwrap_or(""), &index.settings);
    let mut hits: Vec<(String, u64)> = counts(ranked.hits.iter().map(|h| h.doc), &facet_name)
        .into_values()
        .filter(|(shown, _)| {
            let toks = tokenize(shown);
            terms.iter().all(|t| {
                toks.iter()
                    .any(|tok| terms::match_token(t, &tok.word).is_some())
            })
        })
        .collect();
    if sort_by_count(index, &facet_name) {
        hits.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    }
    hits.truncate(100);
    let facet_hits: Vec<Value> = hits
        .into_iter()
        .map(|(value, count)| json!({"value": value, "count": count}))
        .collect();
    Ok(json!({
        "facetHits": facet_hits,
        "facetQuery": facet_query,
        "processingTimeMs": started.elapsed().as_millis() as u64,
    }))
}
