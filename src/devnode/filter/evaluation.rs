//! Evaluation of a parsed filter against a document, with Meilisearch's value semantics:
//! case-insensitive string equality, numeric comparisons, arrays matching by any element, and
//! `!=` as `NOT =` (so documents without the attribute pass).

use serde_json::{Map, Value};

use crate::devnode::filter::{Filter, Op};

impl Filter {
    /// Whether `doc` satisfies the filter.
    pub fn matches(&self, doc: &Map<String, Value>) -> bool {
        match self {
            Filter::And(v) => v.iter().all(|f| f.matches(doc)),
            Filter::Or(v) => v.iter().any(|f| f.matches(doc)),
            Filter::Not(f) => !f.matches(doc),
            Filter::Cond { attr, op, .. } => {
                let Some(value) = lookup(doc, attr) else {
                    // `!=` is `NOT =`: a document without the attribute passes.
                    return matches!(op, Op::Ne(_));
                };
                match op {
                    Op::Exists => true,
                    Op::IsNull => value.is_null(),
                    Op::IsEmpty => match value {
                        Value::String(s) => s.is_empty(),
                        Value::Array(a) => a.is_empty(),
                        Value::Object(o) => o.is_empty(),
                        _ => false,
                    },
                    Op::Ne(v) => !scalars(value).iter().any(|s| equals(s, v)),
                    _ => scalars(value).iter().any(|s| scalar_matches(s, op)),
                }
            }
        }
    }
}

/// The value at a dotted path (`a.b` reads `{"a": {"b": ..}}` or a literal `"a.b"` key).
pub fn lookup<'a>(doc: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    if let Some(v) = doc.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    match doc.get(head)? {
        Value::Object(inner) => lookup(inner, rest),
        _ => None,
    }
}

/// The scalars of a value, flattening arrays (a filter on an array matches any element).
pub fn scalars(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().flat_map(scalars).collect(),
        other => vec![other],
    }
}

fn number(s: &str) -> Option<f64> {
    s.trim().parse::<f64>().ok().filter(|f| f.is_finite())
}

fn equals(field: &Value, v: &str) -> bool {
    match field {
        Value::Number(n) => number(v).is_some_and(|x| n.as_f64() == Some(x)),
        Value::String(s) => s.trim().to_lowercase() == v.trim().to_lowercase(),
        Value::Bool(b) => v
            .trim()
            .eq_ignore_ascii_case(if *b { "true" } else { "false" }),
        _ => false,
    }
}

fn order(field: &Value, v: &str) -> Option<std::cmp::Ordering> {
    match (field, number(v)) {
        (Value::Number(n), Some(x)) => n.as_f64()?.partial_cmp(&x),
        (Value::String(s), None) => Some(s.to_lowercase().cmp(&v.to_lowercase())),
        _ => None,
    }
}

fn scalar_matches(field: &Value, op: &Op) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Op::Eq(v) => equals(field, v),
        Op::In(vs) => vs.iter().any(|v| equals(field, v)),
        Op::Gt(v) => order(field, v) == Some(Greater),
        Op::Ge(v) => matches!(order(field, v), Some(Greater | Equal)),
        Op::Lt(v) => order(field, v) == Some(Less),
        Op::Le(v) => matches!(order(field, v), Some(Less | Equal)),
        Op::Range(a, b) => {
            matches!(order(field, a), Some(Greater | Equal))
                && matches!(order(field, b), Some(Less | Equal))
        }
        Op::Contains(v) => field
            .as_str()
            .is_some_and(|s| s.to_lowercase().contains(&v.to_lowercase())),
        Op::StartsWith(v) => field
            .as_str()
            .is_some_and(|s| s.to_lowercase().starts_with(&v.to_lowercase())),
        Op::Ne(_) | Op::Exists | Op::IsNull | Op::IsEmpty => false,
    }
}
