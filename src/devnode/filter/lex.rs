//! The filter's tokens, each with its character span.

use crate::meili::error::MeiliError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
    Cmp(&'static str),
    Word { text: String, quoted: bool },
}

/// A token with its character span `[start, end)`.
pub(super) type Spanned = (Tok, (usize, usize));

pub(super) fn lex(src: &str) -> Result<Vec<Spanned>, MeiliError> {
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
