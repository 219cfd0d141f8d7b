//! Tokens into a filter, one precedence level per method.

use super::lex::{Spanned, Tok};
use super::{Filter, Op};
use crate::meili::error::MeiliError;

pub(super) struct Parser<'a> {
    pub(super) src: &'a str,
    pub(super) toks: Vec<Spanned>,
    pub(super) pos: usize,
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

    pub(super) fn error(&self, span: (usize, usize), template: &str) -> MeiliError {
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

    pub(super) fn expr(&mut self) -> Result<Filter, MeiliError> {
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
