//! The filter grammar's common forms: comparisons, `TO` ranges, `IN`, `EXISTS`, `IS NULL`/`EMPTY`,
//! `CONTAINS`, `STARTS WITH`, `AND`/`OR`/`NOT` and parentheses, plus the array form of filters.
//!
//! Parsing keeps the character span of every attribute so errors point where Meilisearch points.

use serde_json::Value;

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

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Cmp(&'static str),
    Word { text: String, quoted: bool },
}

/// A token with its character span `[start, end)`.
type Spanned = (Tok, (usize, usize));

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Spanned>,
    pos: usize,
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

fn lex(src: &str) -> Result<Vec<Spanned>, MeiliError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        let tok = match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '(' => Tok::Open,
            ')' => Tok::Close,
            '[' => Tok::OpenList,
            ']' => Tok::CloseList,
            ',' => Tok::Comma,
            '=' => Tok::Cmp("="),
            '!' | '<' | '>' => {
                let two = chars.get(i + 1) == Some(&'=');
                if two {
                    i += 1;
                }
                match (c, two) {
                    ('!', true) => Tok::Cmp("!="),
                    ('<', true) => Tok::Cmp("<="),
                    ('>', true) => Tok::Cmp(">="),
                    ('<', false) => Tok::Cmp("<"),
                    ('>', false) => Tok::Cmp(">"),
                    _ => Tok::Word {
                        text: "!".into(),
                        quoted: false,
                    },
                }
            }
            '"' | '\'' => {
                let mut text = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            let excerpt: String = chars[start..].iter().collect();
                            return Err(MeiliError::invalid("invalid_search_filter", format!(
                                "Expression `{excerpt}` is missing the following closing delimiter: `{c}`.\n{}:{} {src}",
                                start + 1, chars.len() + 1)));
                        }
                        Some('\\') if chars.get(i + 1).is_some_and(|n| *n == c || *n == '\\') => {
                            text.push(chars[i + 1]);
                            i += 2;
                        }
                        Some(q) if *q == c => break,
                        Some(other) => {
                            text.push(*other);
                            i += 1;
                        }
                    }
                }
                Tok::Word { text, quoted: true }
            }
            _ => {
                while i + 1 < chars.len() && !is_delimiter(chars[i + 1]) {
                    i += 1;
                }
                Tok::Word {
                    text: chars[start..=i].iter().collect(),
                    quoted: false,
                }
            }
        };
        i += 1;
        out.push((tok, (start, i)));
    }
    Ok(out)
}

fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || "()[],=!<>'\"".contains(c)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|(t, _)| t)
    }

    fn keyword(&self, offset: usize, kw: &str) -> bool {
        matches!(self.toks.get(self.pos + offset), Some((Tok::Word { text, quoted: false }, _)) if text == kw)
    }

    fn span_here(&self) -> (usize, usize) {
        let end = self.src.chars().count();
        self.toks
            .get(self.pos)
            .map(|(_, s)| *s)
            .unwrap_or((end, end))
    }

    fn error(&self, span: (usize, usize), template: &str) -> MeiliError {
        let chars: Vec<char> = self.src.chars().collect();
        let excerpt: String = chars[span.0.min(chars.len())..span.1.min(chars.len())]
            .iter()
            .collect();
        let msg = template.replace("{}", &excerpt);
        MeiliError::invalid(
            "invalid_search_filter",
            format!("{msg}\n{}:{} {}", span.0 + 1, span.1 + 1, self.src),
        )
    }

    fn expr(&mut self) -> Result<Filter, MeiliError> {
        let mut parts = vec![self.and()?];
        while self.keyword(0, "OR") {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Filter, MeiliError> {
        let mut parts = vec![self.not()?];
        while self.keyword(0, "AND") {
            self.pos += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Filter::And(parts)
        })
    }

    fn not(&mut self) -> Result<Filter, MeiliError> {
        if self.keyword(0, "NOT") {
            self.pos += 1;
            return Ok(Filter::Not(Box::new(self.not()?)));
        }
        if self.peek() == Some(&Tok::Open) {
            self.pos += 1;
            let inner = self.expr()?;
            if self.peek() != Some(&Tok::Close) {
                let span = self.span_here();
                return Err(self.error(
                    span,
                    "Expression `{}` is missing the following closing delimiter: `)`.",
                ));
            }
            self.pos += 1;
            return Ok(inner);
        }
        self.condition()
    }

    fn value(&mut self) -> Result<String, MeiliError> {
        match self.toks.get(self.pos) {
            Some((Tok::Word { text, .. }, _)) => {
                self.pos += 1;
                Ok(text.clone())
            }
            _ => {
                let span = self.span_here();
                Err(self.error(span, "Was expecting a value but instead got `{}`."))
            }
        }
    }

    fn condition(&mut self) -> Result<Filter, MeiliError> {
        let (attr, span) = match self.toks.get(self.pos) {
            Some((Tok::Word { text, .. }, span)) => (text.clone(), *span),
            _ => {
                let span = self.span_here();
                return Err(self.error(span, "Was expecting a value but instead got `{}`."));
            }
        };
        self.pos += 1;
        // A quoted attribute's span points inside its quotes.
        let inner = if self
            .src
            .chars()
            .nth(span.0)
            .is_some_and(|c| c == '"' || c == '\'')
        {
            (span.0 + 1, span.1 - 1)
        } else {
            span
        };
        let cond = |op| Filter::Cond {
            attr: attr.clone(),
            span: inner,
            op,
        };
        if let Some(Tok::Cmp(c)) = self.peek().cloned() {
            self.pos += 1;
            let v = self.value()?;
            let op = match c {
                "=" => Op::Eq(v),
                "!=" => Op::Ne(v),
                ">" => Op::Gt(v),
                ">=" => Op::Ge(v),
                "<" => Op::Lt(v),
                _ => Op::Le(v),
            };
            return Ok(cond(op));
        }
        let negated = self.keyword(0, "NOT");
        let k = usize::from(negated);
        let wrap = |f: Filter| if negated { Filter::Not(Box::new(f)) } else { f };
        if self.keyword(k, "IN") {
            self.pos += k + 1;
            return Ok(wrap(cond(Op::In(self.list()?))));
        }
        if self.keyword(k, "EXISTS") {
            self.pos += k + 1;
            return Ok(wrap(cond(Op::Exists)));
        }
        if self.keyword(k, "CONTAINS") {
            self.pos += k + 1;
            let v = self.value()?;
            return Ok(wrap(cond(Op::Contains(v))));
        }
        if self.keyword(k, "STARTS") && self.keyword(k + 1, "WITH") {
            self.pos += k + 2;
            let v = self.value()?;
            return Ok(wrap(cond(Op::StartsWith(v))));
        }
        if !negated && self.keyword(0, "IS") {
            let neg = self.keyword(1, "NOT");
            let j = 1 + usize::from(neg);
            let op = if self.keyword(j, "NULL") {
                Op::IsNull
            } else if self.keyword(j, "EMPTY") {
                Op::IsEmpty
            } else {
                let span = self.span_here();
                return Err(self.error(
                    span,
                    "Was expecting an operation `NULL` or `EMPTY` after `{}`.",
                ));
            };
            self.pos += j + 1;
            let f = cond(op);
            return Ok(if neg { Filter::Not(Box::new(f)) } else { f });
        }
        if !negated && matches!(self.peek(), Some(Tok::Word { .. })) && self.keyword(1, "TO") {
            let from = self.value()?;
            self.pos += 1;
            let to = self.value()?;
            return Ok(cond(Op::Range(from, to)));
        }
        let whole = (span.0, self.span_here().1.max(span.1));
        Err(self.error(whole, "Was expecting an operation `=`, `!=`, `>=`, `>`, `<=`, `<`, `IN`, `NOT IN`, `TO`, `EXISTS`, `NOT EXISTS`, `IS NULL`, `IS NOT NULL`, `IS EMPTY`, `IS NOT EMPTY`, `CONTAINS`, `NOT CONTAINS`, `STARTS WITH`, `NOT STARTS WITH`, `_geoRadius`, or `_geoBoundingBox` at `{}`."))
    }

    fn list(&mut self) -> Result<Vec<String>, MeiliError> {
        if self.peek() != Some(&Tok::OpenList) {
            let span = self.span_here();
            return Err(self.error(span, "Expected `[` after `IN` keyword."));
        }
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            match self.peek() {
                Some(Tok::CloseList) => {
                    self.pos += 1;
                    return Ok(items);
                }
                Some(Tok::Comma) => self.pos += 1,
                Some(Tok::Word { .. }) => items.push(self.value()?),
                _ => {
                    let span = self.span_here();
                    return Err(self.error(
                        span,
                        "Expected matching `]` after the list of values at `{}`.",
                    ));
                }
            }
        }
    }
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
#[path = "filter_tests.rs"]
mod tests;
