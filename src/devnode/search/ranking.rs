//! Search: query words matched against searchable attributes (exact, prefix on the last word,
//! typos by word length, synonyms), ranking rules applied in the index's order, `sort`, distinct,
//! and a ranking score in [0, 1].
//!
//! Meilisearch's exact scores cannot be reproduced without its engine; the score here follows the
//! same idea (each ranking rule gives a rank out of a maximum, combined lexicographically), so an
//! exact word beats a prefix or a typo, more matched words beat fewer, and a placeholder search
//! scores 1.

use std::cmp::Ordering;
use std::collections::BTreeSet;

use serde_json::Value;

use crate::devnode::filter;
use crate::devnode::filter::evaluation::lookup;
use crate::devnode::search::query::{SearchQuery, Strategy};
use crate::devnode::search::sort::{compare_field, sort_keys};
use crate::devnode::search::terms::{match_token, terms, tokenize, Term};
use crate::devnode::settings;
use crate::devnode::store::{Document, Index};
use crate::meili::error::MeiliError;

/// The searchable attributes of an index (all known fields for `*`), narrowed by `attributesToSearchOn`.
pub fn searchable(index: &Index, only: Option<&[String]>) -> Vec<String> {
    let listed = settings::list(&index.settings, "searchableAttributes");
    let mut attrs: Vec<String> = if listed.iter().any(|a| a == "*") {
        index.field_distribution().keys().cloned().collect()
    } else {
        listed
    };
    if let Some(only) = only {
        attrs.retain(|a| only.iter().any(|o| o == a || o == "*"));
    }
    attrs
}

/// The text values of an attribute (numbers as text, arrays and objects flattened).
pub fn texts(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Number(n) => out.push(n.to_string()),
        Value::Bool(b) => out.push(b.to_string()),
        Value::Array(items) => items.iter().for_each(|v| texts(v, out)),
        Value::Object(map) => map.values().for_each(|v| texts(v, out)),
        Value::Null => {}
    }
}

#[derive(Clone, Copy)]
struct WordHit {
    typos: usize,
    exact: bool,
    attr: usize,
    pos: usize,
}

/// The ranks a document earns from the built-in ranking rules, each `(rank, max_rank)`.
fn rule_ranks(
    doc: &Document,
    terms: &[Term],
    attrs: &[String],
    strategy: Strategy,
) -> Option<Ranks> {
    let mut best: Vec<Option<WordHit>> = vec![None; terms.len()];
    let mut exact_attr = BTreeSet::new();
    let mut starts_attr = BTreeSet::new();
    let query: Vec<&str> = terms.iter().map(|t| t.alternatives[0].as_str()).collect();
    for (a, name) in attrs.iter().enumerate() {
        let Some(value) = lookup(doc, name) else {
            continue;
        };
        let mut values = Vec::new();
        texts(value, &mut values);
        let mut pos = 0;
        for text in &values {
            let toks = tokenize(text);
            let words: Vec<&str> = toks.iter().map(|t| t.word.as_str()).collect();
            if words == query {
                exact_attr.insert(a);
            }
            if words.len() >= query.len() && words[..query.len()] == query[..] {
                starts_attr.insert(a);
            }
            for tok in &toks {
                for (i, term) in terms.iter().enumerate() {
                    if let Some((typos, exact)) = match_token(term, &tok.word) {
                        let hit = WordHit {
                            typos,
                            exact,
                            attr: a,
                            pos,
                        };
                        let better = best[i].is_none_or(|b| {
                            (hit.typos, !hit.exact, hit.attr, hit.pos)
                                < (b.typos, !b.exact, b.attr, b.pos)
                        });
                        if better {
                            best[i] = Some(hit);
                        }
                    }
                }
                pos += 1;
            }
        }
    }
    let n = terms.len();
    let matched = match strategy {
        Strategy::Last => best.iter().take_while(|h| h.is_some()).count(),
        Strategy::All => {
            if best.iter().all(Option::is_some) {
                n
            } else {
                0
            }
        }
        Strategy::Frequency => best.iter().filter(|h| h.is_some()).count(),
    };
    if matched == 0 {
        return None;
    }
    let hits: Vec<WordHit> = best.iter().flatten().copied().take(matched).collect();
    let max_typos: usize = terms.iter().take(matched).map(|t| t.max_typos).sum();
    let typos: usize = hits.iter().map(|h| h.typos).sum();
    let proximity_max = 8 * (hits.len().saturating_sub(1)) as u64;
    let proximity_cost: u64 = hits
        .windows(2)
        .map(|w| {
            if w[0].attr != w[1].attr {
                8
            } else {
                (w[1].pos.abs_diff(w[0].pos) as u64).min(7)
            }
        })
        .sum();
    let attr = hits.iter().map(|h| h.attr).min().unwrap_or(0);
    let position = hits
        .iter()
        .filter(|h| h.attr == attr)
        .map(|h| h.pos)
        .min()
        .unwrap_or(0);
    let nattrs = attrs.len().max(1) as u64;
    let exactness = if exact_attr.contains(&attr) {
        6
    } else if starts_attr.contains(&attr) {
        5
    } else if hits.iter().all(|h| h.exact) && matched == n {
        4
    } else if hits.iter().all(|h| h.exact) {
        3
    } else if hits.iter().any(|h| h.exact) {
        2
    } else {
        1
    };
    Some(Ranks {
        words: (matched as u64, n as u64),
        typo: (
            (max_typos - typos.min(max_typos)) as u64 + 1,
            max_typos as u64 + 1,
        ),
        proximity: (
            proximity_max + 1 - proximity_cost.min(proximity_max),
            proximity_max + 1,
        ),
        attribute: (nattrs - attr as u64, nattrs),
        position: (11 - position.min(10) as u64, 11),
        exactness: (exactness, 6),
    })
}

#[derive(Clone, Copy)]
struct Ranks {
    words: (u64, u64),
    typo: (u64, u64),
    proximity: (u64, u64),
    attribute: (u64, u64),
    position: (u64, u64),
    exactness: (u64, u64),
}

const PLACEHOLDER: Ranks = Ranks {
    words: (1, 1),
    typo: (1, 1),
    proximity: (1, 1),
    attribute: (1, 1),
    position: (1, 1),
    exactness: (1, 1),
};

/// One step of the index's ranking rules.
enum Rule {
    Builtin(&'static str, fn(&Ranks) -> (u64, u64)),
    Sort,
    Custom(String, bool),
}

fn rules(index: &Index) -> Vec<Rule> {
    let mut out = Vec::new();
    for r in settings::list(&index.settings, "rankingRules") {
        match r.as_str() {
            "words" => out.push(Rule::Builtin("words", |r| r.words)),
            "typo" => out.push(Rule::Builtin("typo", |r| r.typo)),
            "proximity" => out.push(Rule::Builtin("proximity", |r| r.proximity)),
            "attributeRank" => out.push(Rule::Builtin("attributeRank", |r| r.attribute)),
            "wordPosition" => out.push(Rule::Builtin("wordPosition", |r| r.position)),
            "attribute" => {
                out.push(Rule::Builtin("attributeRank", |r| r.attribute));
                out.push(Rule::Builtin("wordPosition", |r| r.position));
            }
            "exactness" => out.push(Rule::Builtin("exactness", |r| r.exactness)),
            "sort" => out.push(Rule::Sort),
            custom => {
                if let Some((field, dir)) = custom.rsplit_once(':') {
                    out.push(Rule::Custom(field.to_string(), dir == "asc"));
                }
            }
        }
    }
    out
}

/// A document that matched, with its score.
pub struct Hit<'a> {
    pub doc: &'a Document,
    pub score: f64,
    /// `(rule, rank, max_rank)` for `showRankingScoreDetails`.
    pub details: Vec<(&'static str, u64, u64)>,
}

/// Everything a search found, in ranking order, before pagination.
pub struct Ranked<'a> {
    pub hits: Vec<Hit<'a>>,
    pub terms: Vec<Term>,
}

/// Validates the query against the index, then matches, ranks and sorts every candidate.
pub fn rank<'a>(index: &'a Index, q: &SearchQuery) -> Result<Ranked<'a>, MeiliError> {
    let uid = &index.uid;
    let filter = match filter::parse_value(&q.filter, "invalid_search_filter", None)
        .map_err(|e| e.in_index(uid))?
    {
        // Meilisearch reports search filter errors against a normalised, quoted form of the filter.
        Some(f) => filter::parse_checked(&f.canonical(), &index.filterable())
            .map_err(|e| e.with_code("invalid_search_filter").in_index(uid))?,
        None => None,
    };
    let sort = sort_keys(index, q.sort.as_deref().unwrap_or(&[]))?;
    check_facets(index, q.facets.as_deref())?;
    let terms = terms(&q.q, &index.settings);
    let attrs = searchable(index, q.attributes_to_search_on.as_deref());
    let rules = rules(index);
    let mut found: Vec<(u32, &Document, Ranks)> = Vec::new();
    for (internal, doc) in index.documents() {
        if filter.as_ref().is_some_and(|f| !f.matches(doc)) {
            continue;
        }
        let ranks = if terms.is_empty() {
            Some(PLACEHOLDER)
        } else {
            rule_ranks(doc, &terms, &attrs, q.strategy)
        };
        if let Some(r) = ranks {
            found.push((internal, doc, r));
        }
    }
    found.sort_by(|a, b| {
        for rule in &rules {
            let o = match rule {
                Rule::Builtin(_, get) => {
                    let (x, y) = (get(&a.2), get(&b.2));
                    (y.0 * x.1).cmp(&(x.0 * y.1))
                }
                Rule::Sort => sort.iter().fold(Ordering::Equal, |o, (f, asc)| {
                    o.then_with(|| compare_field(a.1, b.1, f, *asc))
                }),
                Rule::Custom(f, asc) => compare_field(a.1, b.1, f, *asc),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        a.0.cmp(&b.0)
    });
    let distinct = q.distinct.clone().or_else(|| {
        index
            .settings
            .get("distinctAttribute")
            .and_then(Value::as_str)
            .map(String::from)
    });
    let mut seen = BTreeSet::new();
    let mut hits = Vec::new();
    for (_, doc, ranks) in found {
        if let Some(d) = &distinct {
            if let Some(v) = lookup(doc, d) {
                if !seen.insert(v.to_string()) {
                    continue;
                }
            }
        }
        let details = rule_details(&rules, &ranks);
        let score = global_score(details.iter().map(|(_, r, m)| (*r, *m)));
        if q.ranking_score_threshold.is_some_and(|t| score < t) {
            continue;
        }
        hits.push(Hit {
            doc,
            score,
            details,
        });
    }
    Ok(Ranked { hits, terms })
}

fn rule_details(rules: &[Rule], ranks: &Ranks) -> Vec<(&'static str, u64, u64)> {
    rules
        .iter()
        .filter_map(|rule| match rule {
            Rule::Builtin(name, get) => {
                let (rank, max) = get(ranks);
                Some((*name, rank, max))
            }
            _ => None,
        })
        .collect()
}

/// Ranks combined lexicographically into one fraction: earlier rules weigh more.
fn global_score(ranks: impl Iterator<Item = (u64, u64)>) -> f64 {
    let (mut num, mut den) = (1f64, 1f64);
    for (rank, max) in ranks {
        num = (num - 1.0) * max as f64 + rank as f64;
        den *= max as f64;
    }
    if den == 0.0 {
        1.0
    } else {
        (num / den).clamp(0.0, 1.0)
    }
}

/// Every facet asked for must be filterable (`*` asks for all of them).
fn check_facets(index: &Index, facets: Option<&[String]>) -> Result<(), MeiliError> {
    let patterns = index.filterable();
    for f in facets.into_iter().flatten() {
        if f != "*" && !settings::covered(&patterns, f) {
            let mut sorted = patterns.clone();
            sorted.sort();
            let list: Vec<String> = sorted.iter().map(|p| format!("`{p}`")).collect();
            let available = if list.is_empty() {
                "This index does not have configured filterable attributes.".to_string()
            } else {
                format!(
                    "Available filterable attributes patterns are: {}.",
                    list.join(", ")
                )
            };
            return Err(MeiliError::invalid(
                "invalid_search_facets",
                format!(
                    "Invalid facet distribution: Attribute `{f}` is not filterable. {available}"
                ),
            )
            .in_index(&index.uid));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Scores stay in [0, 1] and earlier rules dominate later ones.
    #[test]
    fn scores_are_lexicographic_fractions() {
        assert_eq!(global_score([(1, 1), (1, 1)].into_iter()), 1.0);
        let high = global_score([(2, 2), (1, 6)].into_iter());
        let low = global_score([(1, 2), (6, 6)].into_iter());
        assert!(high > low && low >= 0.0 && high <= 1.0, "{high} {low}");
    }
}
