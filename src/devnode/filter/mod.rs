//! The filter grammar's common forms: comparisons, `TO` ranges, `IN`, `EXISTS`, `IS NULL`/`EMPTY`,
//! `CONTAINS`, `STARTS WITH`, `AND`/`OR`/`NOT` and parentheses, plus the array form of filters.
//!
//! Parsing keeps the character span of every attribute so errors point where Meilisearch points.
//!
//! - [`lex`]: characters into tokens with their spans;
//! - [`parser`]: tokens into a [`Filter`], with Meilisearch's error messages;
//! - [`evaluation`]: a parsed filter against a document.

pub mod evaluation;
mod lex;
mod parser;

use serde_json::Value;

use self::lex::lex;
use self::parser::Parser;
use crate::devnode::settings::covered;
use crate::meili::error::MeiliError;

/// A parsed filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Cond {
        attr: String,
        /// Character offsets `[start, end)` of the attribute in the source.
        span: (usize, usize),
        op: Op,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq(String),
    Ne(String),
    Gt(String),
    Ge(String),
    Lt(String),
    Le(String),
    Range(String, String),
    In(Vec<String>),
    Exists,
    IsNull,
    IsEmpty,
    Contains(String),
    StartsWith(String),
}

/// Parses one filter string. Errors carry Meilisearch's `line:col` excerpt; the caller sets the code.
pub fn parse(src: &str) -> Result<Option<Filter>, MeiliError> {
    let toks = lex(src)?;
    if toks.is_empty() {
        return Ok(None);
    }
    let mut p = Parser { src, toks, pos: 0 };
    let f = p.expr()?;
    if let Some((_, span)) = p.toks.get(p.pos) {
        let span = *span;
        return Err(p.error(
            span,
            "Found unexpected characters at the end of the filter: `{}`. You probably forgot an `OR` or an `AND` rule.",
        ));
    }
    Ok(Some(f))
}

/// Parses a filter and checks that every attribute it reads is filterable, as Meilisearch does.
pub fn parse_checked(src: &str, filterable: &[String]) -> Result<Option<Filter>, MeiliError> {
    let parsed = parse(src)?;
    for (attr, (start, end)) in parsed.iter().flat_map(Filter::attributes) {
        if !covered(filterable, attr) {
            let available = if filterable.is_empty() {
                "This index does not have configured filterable attributes.".to_string()
            } else {
                let mut sorted: Vec<&String> = filterable.iter().collect();
                sorted.sort();
                let list: Vec<String> = sorted.iter().map(|p| format!("`{p}`")).collect();
                format!(
                    "Available filterable attribute patterns are: {}.",
                    list.join(", ")
                )
            };
            return Err(MeiliError::invalid(
                "invalid_search_filter",
                format!(
                    "Attribute `{attr}` is not filterable. {available}\n{}:{} {src}",
                    start + 1,
                    end + 1
                ),
            ));
        }
    }
    Ok(parsed)
}

/// Parses a filter given as JSON: a string, or an array of strings and arrays of strings (AND of ORs).
/// With `filterable`, every attribute must be filterable. Errors carry `code`.
pub fn parse_value(
    value: &Value,
    code: &'static str,
    filterable: Option<&[String]>,
) -> Result<Option<Filter>, MeiliError> {
    let one = |v: &Value| match v {
        Value::String(s) => match filterable {
            Some(f) => parse_checked(s, f),
            None => parse(s),
        }
        .map_err(|e| e.with_code(code)),
        _ => Err(invalid_type(code, v)),
    };
    match value {
        Value::Null => Ok(None),
        Value::String(_) => one(value),
        Value::Array(items) => {
            let mut all = Vec::new();
            for item in items {
                let parsed = match item {
                    Value::Array(alts) => {
                        let mut ors = Vec::new();
                        for alt in alts {
                            ors.extend(one(alt)?);
                        }
                        (!ors.is_empty()).then_some(Filter::Or(ors))
                    }
                    other => one(other)?,
                };
                all.extend(parsed);
            }
            Ok((!all.is_empty()).then_some(Filter::And(all)))
        }
        other => Err(invalid_type(code, other)),
    }
}

fn invalid_type(code: &'static str, v: &Value) -> MeiliError {
    MeiliError::invalid(
        code,
        format!("Invalid syntax for the filter parameter: `expected String, Array, found: {v}`."),
    )
}

impl Filter {
    /// Every attribute the filter reads, with its span, in source order.
    pub fn attributes(&self) -> Vec<(&str, (usize, usize))> {
        let mut out = Vec::new();
        self.collect(&mut out);
        out
    }

    fn collect<'a>(&'a self, out: &mut Vec<(&'a str, (usize, usize))>) {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|f| f.collect(out)),
            Filter::Not(f) => f.collect(out),
            Filter::Cond { attr, span, .. } => out.push((attr, *span)),
        }
    }

    /// The quoted, normalised text Meilisearch's search route reports filter errors against.
    pub fn canonical(&self) -> String {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        match self {
            Filter::And(v) => v
                .iter()
                .map(|f| match f {
                    Filter::Or(_) => format!("({})", f.canonical()),
                    _ => f.canonical(),
                })
                .collect::<Vec<_>>()
                .join(" AND "),
            Filter::Or(v) => v
                .iter()
                .map(Filter::canonical)
                .collect::<Vec<_>>()
                .join(" OR "),
            Filter::Not(f) => match **f {
                Filter::Cond { .. } => format!("NOT {}", f.canonical()),
                _ => format!("NOT ({})", f.canonical()),
            },
            Filter::Cond { attr, op, .. } => {
                let a = q(attr);
                match op {
                    Op::Eq(v) => format!("{a} = {}", q(v)),
                    Op::Ne(v) => format!("{a} != {}", q(v)),
                    Op::Gt(v) => format!("{a} > {}", q(v)),
                    Op::Ge(v) => format!("{a} >= {}", q(v)),
                    Op::Lt(v) => format!("{a} < {}", q(v)),
                    Op::Le(v) => format!("{a} <= {}", q(v)),
                    Op::Range(x, y) => format!("{a} {} TO {}", q(x), q(y)),
                    Op::In(vs) => format!(
                        "{a} IN [{}]",
                        vs.iter().map(|v| q(v)).collect::<Vec<_>>().join(", ")
                    ),
                    Op::Exists => format!("{a} EXISTS"),
                    Op::IsNull => format!("{a} IS NULL"),
                    Op::IsEmpty => format!("{a} IS EMPTY"),
                    Op::Contains(v) => format!("{a} CONTAINS {}", q(v)),
                    Op::StartsWith(v) => format!("{a} STARTS WITH {}", q(v)),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
