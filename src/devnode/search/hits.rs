//! How a matched document is shown: displayed and retrieved attributes, `_formatted` (highlight,
//! crop), `_matchesPosition`, `_rankingScore` and `_rankingScoreDetails`.

use serde_json::{json, Map, Value};

use crate::devnode::search::query::SearchQuery;
use crate::devnode::search::ranking::Hit;
use crate::devnode::search::terms::{match_token, tokenize, Term};
use crate::devnode::settings;
use crate::devnode::store::{project, Index};

/// The hit as the search response shows it.
pub fn render(index: &Index, q: &SearchQuery, terms: &[Term], hit: &Hit) -> Map<String, Value> {
    let displayed = settings::list(&index.settings, "displayedAttributes");
    let shown = project(hit.doc, Some(&displayed));
    let mut out = project(&shown, q.attributes_to_retrieve.as_deref());
    let highlight = q.attributes_to_highlight.clone().unwrap_or_default();
    let crop = q.attributes_to_crop.clone().unwrap_or_default();
    if !highlight.is_empty() || !crop.is_empty() {
        let mut formatted = Map::new();
        for (k, v) in &shown {
            let wanted = |list: &[String]| {
                list.iter()
                    .any(|a| a == "*" || a == k || a.split(':').next() == Some(k))
            };
            if !out.contains_key(k) && !wanted(&highlight) && !wanted(&crop) {
                continue;
            }
            let crop_len = crop
                .iter()
                .find(|a| *a == "*" || a.split(':').next() == Some(k))
                .map(|a| {
                    a.split_once(':')
                        .and_then(|(_, n)| n.parse().ok())
                        .unwrap_or(q.crop_length)
                });
            formatted.insert(
                k.clone(),
                format_value(v, terms, wanted(&highlight), crop_len, q),
            );
        }
        out.insert("_formatted".into(), Value::Object(formatted));
    }
    if q.show_matches_position {
        let mut positions = Map::new();
        for (k, v) in &shown {
            let found = matches_in(v, terms, None);
            if !found.is_empty() {
                positions.insert(k.clone(), Value::Array(found));
            }
        }
        out.insert("_matchesPosition".into(), Value::Object(positions));
    }
    if q.show_ranking_score {
        out.insert("_rankingScore".into(), json!(hit.score));
    }
    if q.show_ranking_score_details {
        let details: Map<String, Value> = hit
            .details
            .iter()
            .enumerate()
            .map(|(order, (name, rank, max))| {
                let score = if *max == 0 {
                    1.0
                } else {
                    *rank as f64 / *max as f64
                };
                (
                    name.to_string(),
                    json!({"order": order, "rank": rank, "maxRank": max, "score": score}),
                )
            })
            .collect();
        out.insert("_rankingScoreDetails".into(), Value::Object(details));
    }
    out
}

/// Byte ranges of the words matching a term in `text`; a prefix match covers the typed part only.
fn ranges(text: &str, terms: &[Term]) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    for (i, tok) in tokenize(text).into_iter().enumerate() {
        for term in terms {
            if let Some((_, exact)) = match_token(term, &tok.word) {
                let typed = term.alternatives[0].chars().count();
                let end =
                    if !exact && term.prefix && tok.word.starts_with(term.alternatives[0].as_str())
                    {
                        text[tok.start..]
                            .char_indices()
                            .nth(typed)
                            .map(|(b, _)| tok.start + b)
                            .unwrap_or(tok.end)
                    } else {
                        tok.end
                    };
                out.push((i, tok.start, end));
                break;
            }
        }
    }
    out
}

/// `_matchesPosition` entries for one attribute value.
fn matches_in(v: &Value, terms: &[Term], index: Option<usize>) -> Vec<Value> {
    match v {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .flat_map(|(i, item)| matches_in(item, terms, Some(i)))
            .collect(),
        Value::Object(map) => map
            .values()
            .flat_map(|x| matches_in(x, terms, index))
            .collect(),
        Value::Null => Vec::new(),
        scalar => {
            let text = scalar
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| scalar.to_string());
            ranges(&text, terms)
                .into_iter()
                .map(|(_, s, e)| match index {
                    Some(i) => json!({"start": s, "length": e - s, "indices": [i]}),
                    None => json!({"start": s, "length": e - s}),
                })
                .collect()
        }
    }
}

/// A `_formatted` value: scalars as text, highlighted and cropped as asked.
fn format_value(
    v: &Value,
    terms: &[Term],
    highlight: bool,
    crop: Option<usize>,
    q: &SearchQuery,
) -> Value {
    match v {
        Value::Null => Value::Null,
        Value::Array(items) => items
            .iter()
            .map(|x| format_value(x, terms, highlight, crop, q))
            .collect(),
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, x)| (k.clone(), format_value(x, terms, highlight, crop, q)))
                .collect(),
        ),
        scalar => {
            let text = scalar
                .as_str()
                .map(String::from)
                .unwrap_or_else(|| scalar.to_string());
            Value::String(format_text(&text, terms, highlight, crop, q))
        }
    }
}

fn format_text(
    text: &str,
    terms: &[Term],
    highlight: bool,
    crop: Option<usize>,
    q: &SearchQuery,
) -> String {
    let found = ranges(text, terms);
    let words = tokenize(text);
    // The cropped window [from, to) in bytes, with markers where text was cut.
    let (from, to, before, after) = match crop {
        Some(n) if words.len() > n => {
            let first = found.first().map(|f| f.0).unwrap_or(0);
            let n = n.max(1);
            let lead = (n - 1).div_ceil(2);
            let start = first.saturating_sub(lead).min(words.len() - n);
            let end = start + n;
            let from = if start == 0 { 0 } else { words[start].start };
            let to = if end >= words.len() {
                text.len()
            } else {
                words[end - 1].end
            };
            (from, to, start > 0, end < words.len())
        }
        _ => (0, text.len(), false, false),
    };
    let mut out = String::new();
    if before {
        out.push_str(&q.crop_marker);
    }
    let mut at = from;
    if highlight {
        for (_, s, e) in found.iter().filter(|(_, s, e)| *s >= from && *e <= to) {
            out.push_str(&text[at..*s]);
            out.push_str(&q.highlight_pre_tag);
            out.push_str(&text[*s..*e]);
            out.push_str(&q.highlight_post_tag);
            at = *e;
        }
    }
    out.push_str(&text[at..to]);
    if after {
        out.push_str(&q.crop_marker);
    }
    out
}
