//! Query terms: words of the query with their typo budget, prefix flag and synonyms, and how a
//! word of a document matches them (exact, prefix, or within the typo budget).

use serde_json::{Map, Value};

use crate::devnode::settings;

/// One query word and the words it may match.
#[derive(Debug, Clone)]
pub struct Term {
    /// The word itself first, then its one-word synonyms.
    pub alternatives: Vec<String>,
    /// The last word of a query not ending in a space also matches as a prefix.
    pub prefix: bool,
    pub max_typos: usize,
}

/// A word of an attribute value: byte range, lowercase text and position.
pub struct Token {
    pub start: usize,
    pub end: usize,
    pub word: String,
}

/// Splits text into words (runs of alphanumeric characters), lowercased.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (c.is_alphanumeric(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                out.push(Token {
                    start: s,
                    end: i,
                    word: text[s..i].to_lowercase(),
                });
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// The query's terms, with typo budgets from the index's typo tolerance and its synonyms.
pub fn terms(q: &str, settings: &Map<String, Value>) -> Vec<Term> {
    let typo = &settings["typoTolerance"];
    let enabled = typo["enabled"].as_bool().unwrap_or(true);
    let one = typo["minWordSizeForTypos"]["oneTypo"].as_u64().unwrap_or(5) as usize;
    let two = typo["minWordSizeForTypos"]["twoTypos"]
        .as_u64()
        .unwrap_or(9) as usize;
    let no_typo: Vec<String> = settings::list(
        &typo.as_object().cloned().unwrap_or_default(),
        "disableOnWords",
    );
    let stop = settings::list(settings, "stopWords");
    let words: Vec<String> = tokenize(q)
        .into_iter()
        .map(|t| t.word)
        .filter(|w| !stop.contains(w))
        .collect();
    let open_end = !q.ends_with(char::is_whitespace);
    let n = words.len();
    words
        .into_iter()
        .enumerate()
        .map(|(i, w)| {
            let len = w.chars().count();
            let max_typos = if !enabled || no_typo.contains(&w) {
                0
            } else if len >= two {
                2
            } else if len >= one {
                1
            } else {
                0
            };
            let mut alternatives = vec![w.clone()];
            if let Some(Value::Object(syn)) = settings.get("synonyms") {
                for (k, v) in syn {
                    if k.to_lowercase() == w {
                        for s in v.as_array().into_iter().flatten().filter_map(Value::as_str) {
                            alternatives.push(s.to_lowercase());
                        }
                    }
                }
            }
            Term {
                alternatives,
                prefix: open_end && i + 1 == n,
                max_typos,
            }
        })
        .collect()
}

/// How a token matches a term: number of typos, and whether the match is exact.
pub fn match_token(term: &Term, token: &str) -> Option<(usize, bool)> {
    let mut best: Option<(usize, bool)> = None;
    for alt in &term.alternatives {
        let found = if token == alt {
            Some((0, true))
        } else if term.prefix && token.starts_with(alt.as_str()) {
            Some((0, false))
        } else if term.max_typos > 0 {
            distance(alt, token, term.max_typos).map(|d| (d, false))
        } else {
            None
        };
        if let Some(f) = found {
            if best.is_none_or(|b| (f.0, !f.1) < (b.0, !b.1)) {
                best = Some(f);
            }
        }
    }
    best
}

/// Optimal-string-alignment distance, or `None` once it exceeds `max`.
fn distance(a: &str, b: &str, max: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let mut prev2: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut cur = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            cur[j] = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                cur[j] = cur[j].min(prev2[j - 2] + 1);
            }
        }
        if cur.iter().min().is_some_and(|m| *m > max) {
            return None;
        }
        prev2 = std::mem::replace(&mut prev, cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(w: &str, prefix: bool, max_typos: usize) -> Term {
        Term {
            alternatives: vec![w.into()],
            prefix,
            max_typos,
        }
    }

    /// Exact beats prefix, which beats a typo; typos stay within the word-length budget.
    #[test]
    fn token_matching() {
        assert_eq!(match_token(&term("star", true, 0), "star"), Some((0, true)));
        assert_eq!(match_token(&term("sta", true, 0), "star"), Some((0, false)));
        assert_eq!(match_token(&term("sta", false, 0), "star"), None);
        assert_eq!(
            match_token(&term("casablanka", false, 2), "casablanca"),
            Some((1, false))
        );
        assert_eq!(match_token(&term("alien", false, 1), "alike"), None);
    }
}
