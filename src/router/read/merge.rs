//! Merging the search answers of several nodes into the one answer a single
//! Meilisearch would give: hits ordered by ranking score or by the sort
//! rules, global pagination, summed counts and facets, and Miroir's own
//! fields stripped.

use std::cmp::Ordering;

use crate::meili::stamp;
use serde_json::{Map, Value};

/// What the merge needs to know of the client's search request.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Paging {
    /// `page`/`hitsPerPage` mode (exhaustive totals) rather than `offset`/`limit`.
    pub pages: Option<(usize, usize)>,
    pub offset: usize,
    pub limit: usize,
    pub sort: Vec<SortRule>,
    pub show_ranking_score: bool,
    /// The primary key: equal hits are ordered by it, so that every router
    /// and every page agree on one order.
    pub tie_key: Option<String>,
    /// The search's `distinct` attribute: each of its values shown once
    /// across shards, as each node shows it once within its own.
    pub distinct: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SortRule {
    pub field: String,
    pub descending: bool,
}

impl SortRule {
    /// Parses `field:asc` or `field:desc`; None for anything else (for example geo sorts).
    pub fn parse(s: &str) -> Option<Self> {
        let (field, dir) = s.rsplit_once(':')?;
        let descending = match dir {
            "asc" => false,
            "desc" => true,
            _ => return None,
        };
        (!field.is_empty()).then(|| SortRule {
            field: field.to_string(),
            descending,
        })
    }
}

impl Paging {
    /// How many hits each node must return so that the global page is exact.
    pub fn per_node_window(&self) -> usize {
        match self.pages {
            Some((page, per_page)) => page.max(1) * per_page,
            None => self.offset + self.limit,
        }
    }

    fn window(&self) -> (usize, usize) {
        match self.pages {
            Some((page, per_page)) => ((page.max(1) - 1) * per_page, per_page),
            None => (self.offset, self.limit),
        }
    }
}

fn score(hit: &Value) -> f64 {
    hit.get("_rankingScore")
        .and_then(Value::as_f64)
        .unwrap_or(0.0)
}

/// Meilisearch's order for sort values: numbers before strings (in either
/// direction), each in its own order, reversed for `desc`.
fn cmp_values(a: Option<&Value>, b: Option<&Value>, descending: bool) -> Ordering {
    let flip = |o: Ordering| if descending { o.reverse() } else { o };
    match (a, b) {
        (Some(Value::Number(x)), Some(Value::Number(y))) => flip(
            x.as_f64()
                .unwrap_or(0.0)
                .total_cmp(&y.as_f64().unwrap_or(0.0)),
        ),
        (Some(Value::String(x)), Some(Value::String(y))) => {
            flip(x.to_lowercase().cmp(&y.to_lowercase()))
        }
        (Some(Value::Number(_)), Some(Value::String(_))) => Ordering::Less,
        (Some(Value::String(_)), Some(Value::Number(_))) => Ordering::Greater,
        _ => Ordering::Equal,
    }
}

fn field<'a>(hit: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').try_fold(hit, |v, part| v.get(part))
}

/// Hits (or documents) in the order of `sort`, then by ranking score, then by `tie` (the
/// primary key), as every router and every page must agree on one order.
pub fn cmp_hits(a: &Value, b: &Value, sort: &[SortRule], tie: Option<&str>) -> Ordering {
    for rule in sort {
        let (x, y) = (field(a, &rule.field), field(b, &rule.field));
        let missing = |v: Option<&Value>| matches!(v, None | Some(Value::Null));
        // Documents without the field come last in either direction.
        let ord = match (missing(x), missing(y)) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            (false, false) => cmp_values(x, y, rule.descending),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    score(b).total_cmp(&score(a)).then_with(|| match tie {
        Some(k) => cmp_values(field(a, k), field(b, k), false),
        None => Ordering::Equal,
    })
}

/// Removes `_miroir_*` fields (and `_rankingScore` unless asked for).
pub fn strip_reserved(hit: &mut Value, keep_score: bool) {
    if let Some(obj) = hit.as_object_mut() {
        obj.retain(|k, _| !crate::meili::reserved::is_reserved(k));
        if !keep_score {
            obj.remove("_rankingScore");
        }
        for part in ["_formatted", "_matchesPosition"] {
            if let Some(Value::Object(f)) = obj.get_mut(part) {
                f.retain(|k, _| !crate::meili::reserved::is_reserved(k));
            }
        }
    }
}

fn add_counts(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (facet, values) in from {
        let slot = into
            .entry(facet.clone())
            .or_insert_with(|| Value::Object(Map::new()));
        if let (Some(slot), Some(values)) = (slot.as_object_mut(), values.as_object()) {
            for (v, n) in values {
                let sum =
                    slot.get(v).and_then(Value::as_u64).unwrap_or(0) + n.as_u64().unwrap_or(0);
                slot.insert(v.clone(), Value::from(sum));
            }
        }
    }
}

fn merge_stats(into: &mut Map<String, Value>, from: &Map<String, Value>) {
    for (facet, s) in from {
        let (Some(min), Some(max)) = (
            s.get("min").and_then(Value::as_f64),
            s.get("max").and_then(Value::as_f64),
        ) else {
            continue;
        };
        let entry = into.entry(facet.clone()).or_insert_with(|| s.clone());
        let old_min = entry.get("min").and_then(Value::as_f64).unwrap_or(min);
        let old_max = entry.get("max").and_then(Value::as_f64).unwrap_or(max);
        entry["min"] = number(old_min.min(min));
        entry["max"] = number(old_max.max(max));
    }
}

/// Integers stay integers, as Meilisearch prints them.
fn number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9e15 {
        Value::from(x as i64)
    } else {
        Value::from(x)
    }
}

/// Keeps the best-placed hit of each value of `attr` (hits already in order):
/// a hit goes if any of its values was shown, as Meilisearch's distinct does;
/// hits without the attribute all stay.
fn distinct(hits: Vec<Value>, attr: &str) -> Vec<Value> {
    let mut seen = std::collections::HashSet::new();
    hits.into_iter()
        .filter(|h| {
            let values: Vec<String> = match field(h, attr) {
                Some(Value::Array(a)) => a.iter().filter_map(distinct_key).collect(),
                Some(v) => distinct_key(v).into_iter().collect(),
                None => vec![],
            };
            if values.iter().any(|v| seen.contains(v)) {
                return false;
            }
            seen.extend(values);
            true
        })
        .collect()
}

/// A value as facets compare it (strings without case).
fn distinct_key(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(format!("s:{}", s.to_lowercase())),
        Value::Number(n) => Some(format!("n:{}", n.as_f64().unwrap_or(0.0))),
        Value::Bool(b) => Some(format!("b:{b}")),
        _ => None,
    }
}

/// Merges the nodes' answers (each asked for [`Paging::per_node_window`] hits
/// with ranking scores shown) into one Meilisearch answer.
pub fn merge(parts: Vec<Value>, paging: &Paging, query: &str) -> Value {
    let mut hits = Vec::new();
    let mut total = 0u64;
    let mut facets = Map::new();
    let mut stats = Map::new();
    let mut took = 0u64;
    let mut any_facets = false;
    let mut semantic: Option<u64> = None;
    // The slowest node's, as the time it took is the search's.
    let mut performance: Option<(u64, Value)> = None;
    for mut p in parts {
        if let Some(n) = p.get("semanticHitCount").and_then(Value::as_u64) {
            *semantic.get_or_insert(0) += n;
        }
        if let Some(d) = p.get_mut("performanceDetails").map(Value::take) {
            let t = p
                .get("processingTimeMs")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            if performance
                .as_ref()
                .is_none_or(|(slowest, _)| t >= *slowest)
            {
                performance = Some((t, d));
            }
        }
        if let Some(Value::Array(h)) = p.get_mut("hits").map(Value::take) {
            hits.extend(h);
        }
        total += p
            .get("estimatedTotalHits")
            .or_else(|| p.get("totalHits"))
            .and_then(Value::as_u64)
            .unwrap_or(0);
        took = took.max(
            p.get("processingTimeMs")
                .and_then(Value::as_u64)
                .unwrap_or(0),
        );
        if let Some(Value::Object(f)) = p.get("facetDistribution") {
            any_facets = true;
            add_counts(&mut facets, f);
        }
        if let Some(Value::Object(s)) = p.get("facetStats") {
            merge_stats(&mut stats, s);
        }
    }
    hits.sort_by(|a, b| cmp_hits(a, b, &paging.sort, paging.tie_key.as_deref()));
    if let Some(attr) = &paging.distinct {
        let before = hits.len();
        hits = distinct(hits, attr);
        // Totals lose the duplicates seen; those beyond every node's window stay counted.
        total = total.saturating_sub((before - hits.len()) as u64);
    }
    let (skip, take) = paging.window();
    let mut page: Vec<Value> = hits.into_iter().skip(skip).take(take).collect();
    page.iter_mut()
        .for_each(|h| strip_reserved(h, paging.show_ranking_score));

    let mut out = Map::new();
    out.insert("hits".into(), Value::Array(page));
    out.insert("query".into(), Value::from(query));
    out.insert("processingTimeMs".into(), Value::from(took));
    match paging.pages {
        Some((p, per_page)) => {
            out.insert("hitsPerPage".into(), Value::from(per_page));
            out.insert("page".into(), Value::from(p));
            let pages = if per_page == 0 {
                0
            } else {
                total.div_ceil(per_page as u64)
            };
            out.insert("totalPages".into(), Value::from(pages));
            out.insert("totalHits".into(), Value::from(total));
        }
        None => {
            out.insert("limit".into(), Value::from(paging.limit));
            out.insert("offset".into(), Value::from(paging.offset));
            out.insert("estimatedTotalHits".into(), Value::from(total));
        }
    }
    if any_facets {
        // `facets: ["*"]` makes nodes count Miroir's own fields too.
        facets.retain(|k, _| !crate::meili::reserved::is_reserved(k));
        stats.retain(|k, _| !crate::meili::reserved::is_reserved(k));
        out.insert("facetDistribution".into(), Value::Object(facets));
        out.insert("facetStats".into(), Value::Object(stats));
    }
    if let Some(n) = semantic {
        // The semantic hits among those shown: each node counted its own
        // window, so the sum is capped at the page (exact for a purely
        // semantic search, an upper bound for a hybrid one).
        let shown = out["hits"].as_array().map_or(0, Vec::len) as u64;
        out.insert("semanticHitCount".into(), Value::from(n.min(shown)));
    }
    if let Some((_, d)) = performance {
        out.insert("performanceDetails".into(), d);
    }
    out.insert("requestUid".into(), Value::from(stamp::uuid_v7()));
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A node's ranking score reaches the client with every digit (found on real Meilisearch:
    /// without exact float parsing, 0.9949494949494949 came back as ...48).
    #[test]
    fn ranking_scores_keep_every_digit() {
        for text in [
            "0.9949494949494949",
            "0.9848484848484849",
            "0.6666666666666666",
        ] {
            let v: Value = serde_json::from_str(text).unwrap();
            assert_eq!(v.to_string(), text);
        }
    }

    fn hit(id: u64, score: f64, year: Option<u64>) -> Value {
        let mut h = json!({"id": id, "_rankingScore": score, "_miroir_shard": 3});
        if let Some(y) = year {
            h["year"] = json!(y);
        }
        h
    }

    fn part(hits: Vec<Value>, total: u64) -> Value {
        json!({"hits": hits, "estimatedTotalHits": total, "processingTimeMs": 1, "query": "q"})
    }

    fn ids(v: &Value) -> Vec<u64> {
        v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_u64().unwrap())
            .collect()
    }

    /// Hits from all nodes are ordered by score, the global window is applied
    /// once, totals are summed and Miroir's fields never leak.
    #[test]
    fn merges_by_score_with_global_offset() {
        let paging = Paging {
            offset: 1,
            limit: 2,
            ..Default::default()
        };
        let a = part(vec![hit(1, 0.9, None), hit(2, 0.5, None)], 2);
        let b = part(vec![hit(3, 0.7, None), hit(4, 0.1, None)], 5);
        let out = merge(vec![a, b], &paging, "q");
        assert_eq!(ids(&out), vec![3, 2]);
        assert_eq!(out["estimatedTotalHits"], 7);
        assert_eq!(out["offset"], 1);
        let first = out["hits"][0].as_object().unwrap();
        assert!(!first.contains_key("_miroir_shard"));
        assert!(!first.contains_key("_rankingScore"));
    }

    /// Sort rules order the merged hits; missing values come last either way.
    #[test]
    fn merges_by_sort_keys() {
        let asc = Paging {
            limit: 10,
            sort: vec![SortRule::parse("year:asc").unwrap()],
            show_ranking_score: true,
            tie_key: None,
            ..Default::default()
        };
        let a = part(vec![hit(1, 0.9, Some(1990)), hit(2, 0.9, None)], 2);
        let b = part(vec![hit(3, 0.1, Some(1950)), hit(4, 0.5, Some(2000))], 2);
        assert_eq!(
            ids(&merge(vec![a.clone(), b.clone()], &asc, "")),
            vec![3, 1, 4, 2]
        );
        let desc = Paging {
            sort: vec![SortRule::parse("year:desc").unwrap()],
            ..asc
        };
        let out = merge(vec![a, b], &desc, "");
        assert_eq!(ids(&out), vec![4, 1, 3, 2]);
        assert!(out["hits"][0].get("_rankingScore").is_some());
    }

    /// Numbers come before strings in both directions, missing values last:
    /// the order Meilisearch 1.50 gave for these documents.
    #[test]
    fn mixed_types_sort_as_meilisearch_does() {
        let docs = [
            json!({"id": 1, "r": 2, "t": "b"}),
            json!({"id": 2, "r": "x"}),
            json!({"id": 3}),
            json!({"id": 4, "r": 2, "t": "a"}),
            json!({"id": 5, "r": 10}),
        ];
        let order = |rules: &[&str]| {
            let rules: Vec<SortRule> = rules.iter().map(|r| SortRule::parse(r).unwrap()).collect();
            let mut d = docs.to_vec();
            d.sort_by(|a, b| cmp_hits(a, b, &rules, Some("id")));
            d.iter()
                .map(|x| x["id"].as_u64().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(order(&["r:desc", "t:asc"]), [5, 4, 1, 2, 3]);
        assert_eq!(order(&["r:asc"]), [1, 4, 5, 2, 3]);
    }

    /// Page mode reports exhaustive totals and slices the right page.
    #[test]
    fn page_mode() {
        let paging = Paging {
            pages: Some((2, 2)),
            ..Default::default()
        };
        assert_eq!(paging.per_node_window(), 4);
        let a = json!({"hits": [hit(1, 0.9, None), hit(2, 0.8, None)], "totalHits": 2});
        let b = json!({"hits": [hit(3, 0.7, None), hit(4, 0.6, None)], "totalHits": 3});
        let out = merge(vec![a, b], &paging, "");
        assert_eq!(ids(&out), vec![3, 4]);
        assert_eq!(out["totalHits"], 5);
        assert_eq!(out["totalPages"], 3);
        assert!(out.get("estimatedTotalHits").is_none());
    }

    /// Facet counts add up across nodes; facet stats take the min and max.
    #[test]
    fn facets_sum_and_stats_span() {
        let a = json!({"hits": [], "estimatedTotalHits": 3,
            "facetDistribution": {"genre": {"drama": 2, "scifi": 1}},
            "facetStats": {"year": {"min": 1950, "max": 1990}}});
        let b = json!({"hits": [], "estimatedTotalHits": 2,
            "facetDistribution": {"genre": {"drama": 1, "horror": 1}},
            "facetStats": {"year": {"min": 1942.5, "max": 1980}}});
        let out = merge(
            vec![a, b],
            &Paging {
                limit: 20,
                ..Default::default()
            },
            "",
        );
        assert_eq!(
            out["facetDistribution"]["genre"],
            json!({"drama": 3, "scifi": 1, "horror": 1})
        );
        assert_eq!(
            out["facetStats"]["year"],
            json!({"min": 1942.5, "max": 1990})
        );
    }

    #[test]
    fn sort_rule_parsing() {
        assert_eq!(
            SortRule::parse("a.b:desc"),
            Some(SortRule {
                field: "a.b".into(),
                descending: true
            })
        );
        assert!(SortRule::parse("year").is_none());
        assert!(SortRule::parse("_geoPoint(1,2):up").is_none());
    }
}
