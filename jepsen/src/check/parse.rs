//! Readers for histories in Jepsen's own formats, as in the shared test data:
//! the log lines of Jepsen's etcd register test, and EDN operation maps. Each
//! event's time is its line index.

use std::collections::HashMap;

use serde_json::Value;
use thiserror::Error;

use crate::history::{Op, OpType};

#[derive(Debug, Error, PartialEq)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based.
    pub line: usize,
    pub message: String,
}

fn err(index: usize, message: impl Into<String>) -> ParseError {
    ParseError {
        line: index + 1,
        message: message.into(),
    }
}

fn op_type(word: &str) -> Option<OpType> {
    Some(match word {
        "invoke" => OpType::Invoke,
        "ok" => OpType::Ok,
        "fail" => OpType::Fail,
        "info" => OpType::Info,
        _ => return None,
    })
}

/// Reads lines `INFO  jepsen.util - PROCESS :TYPE :F VALUE` (tab or space
/// separated), where VALUE is `nil`, a number, `[A B]` or `:timed-out`.
/// A timed-out completion keeps its invocation's value and gets the error
/// `timed-out`, so a `fail` that timed out counts as not having happened.
/// Lines without ` - ` are skipped.
pub fn etcd_log(text: &str) -> Result<Vec<Op>, ParseError> {
    let mut ops = Vec::new();
    let mut invoked: HashMap<u64, Value> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let Some((_, rest)) = line.split_once(" - ") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let (Some(process), Some(kind), Some(f)) = (words.next(), words.next(), words.next())
        else {
            return Err(err(i, "expected PROCESS :TYPE :F VALUE"));
        };
        let process: u64 = process.parse().map_err(|_| err(i, "bad process"))?;
        let kind = kind
            .strip_prefix(':')
            .and_then(op_type)
            .ok_or_else(|| err(i, format!("bad type {kind}")))?;
        let f = f
            .strip_prefix(':')
            .ok_or_else(|| err(i, format!("bad f {f}")))?;
        let raw = words.collect::<Vec<_>>().join(" ");

        let mut op = Op::invoke(process, f, None, Value::Null);
        op.kind = kind;
        op.time = i as u64;
        if raw == ":timed-out" {
            op.value = invoked.get(&process).cloned().unwrap_or(Value::Null);
            op.error = Some("timed-out".into());
        } else {
            op.value = etcd_value(&raw).ok_or_else(|| err(i, format!("bad value {raw}")))?;
        }
        if kind == OpType::Invoke {
            invoked.insert(process, op.value.clone());
        }
        ops.push(op);
    }
    Ok(ops)
}

fn etcd_value(raw: &str) -> Option<Value> {
    if let Some(inner) = raw.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return inner
            .split_whitespace()
            .map(etcd_value)
            .collect::<Option<Vec<_>>>()
            .map(Value::Array);
    }
    match raw {
        "nil" => Some(Value::Null),
        _ => raw.parse::<i64>().ok().map(Value::from),
    }
}

/// Reads one EDN map per line, e.g.
/// `{:process 0, :type :ok, :f :get, :key "k", :value "v"}`; strings, `nil`,
/// integers and keywords (as strings without the colon) are understood.
/// Blank lines are skipped.
pub fn edn(text: &str) -> Result<Vec<Op>, ParseError> {
    let mut ops = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let fields = edn_map(line).map_err(|m| err(i, m))?;
        let get = |k: &str| fields.iter().find(|(name, _)| name == k).map(|(_, v)| v);
        let process = get("process")
            .and_then(Value::as_u64)
            .ok_or_else(|| err(i, "missing :process"))?;
        let kind = get("type")
            .and_then(Value::as_str)
            .and_then(op_type)
            .ok_or_else(|| err(i, "missing or bad :type"))?;
        let f = get("f")
            .and_then(Value::as_str)
            .ok_or_else(|| err(i, "missing :f"))?;
        let key = match get("key") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => Some(other.to_string()),
        };
        let mut op = Op::invoke(
            process,
            f,
            key,
            get("value").cloned().unwrap_or(Value::Null),
        );
        op.kind = kind;
        op.time = i as u64;
        if let Some(Value::String(e)) = get("error") {
            op.error = Some(e.clone());
        }
        ops.push(op);
    }
    Ok(ops)
}

/// The keyword/value pairs of a flat EDN map.
fn edn_map(line: &str) -> Result<Vec<(String, Value)>, String> {
    let mut rest = line
        .trim()
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .ok_or("expected {...}")?;
    let mut fields = Vec::new();
    loop {
        rest = skip_space(rest);
        if rest.is_empty() {
            return Ok(fields);
        }
        let (name, after) = edn_atom(rest)?;
        let Value::String(name) = name else {
            return Err(format!("expected a keyword at {rest:?}"));
        };
        let (value, after) = edn_atom(skip_space(after))?;
        fields.push((name, value));
        rest = after;
    }
}

/// EDN counts commas as whitespace.
fn skip_space(s: &str) -> &str {
    s.trim_start_matches(|c: char| c.is_whitespace() || c == ',')
}

/// One scalar at the start of `s`, and what follows it.
fn edn_atom(s: &str) -> Result<(Value, &str), String> {
    if let Some(body) = s.strip_prefix('"') {
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '"' => return Ok((Value::String(out), &body[i + 1..])),
                '\\' => match chars.next() {
                    Some((_, 'n')) => out.push('\n'),
                    Some((_, 't')) => out.push('\t'),
                    Some((_, c)) => out.push(c),
                    None => break,
                },
                c => out.push(c),
            }
        }
        return Err("unterminated string".into());
    }
    let end = s
        .find(|c: char| c.is_whitespace() || c == ',')
        .unwrap_or(s.len());
    let (word, rest) = s.split_at(end);
    let value = if let Some(k) = word.strip_prefix(':') {
        Value::String(k.to_string())
    } else if word == "nil" {
        Value::Null
    } else if let Ok(n) = word.parse::<i64>() {
        Value::from(n)
    } else {
        return Err(format!("unsupported EDN value {word:?}"));
    };
    Ok((value, rest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn etcd_lines() {
        let ops = etcd_log(
            "INFO  jepsen.util - 2\t:invoke\t:cas\t[3 0]\n\
             INFO  jepsen.util - 2   :fail   :cas    [3 0]\n\
             INFO  jepsen.util - 1\t:invoke\t:read\tnil\n\
             INFO  jepsen.util - 1\t:fail\t:read\t:timed-out\n\
             INFO  jepsen.util - 0\t:invoke\t:write\t4\n\
             INFO  jepsen.util - 0\t:info\t:write\t:timed-out\n",
        )
        .unwrap();
        let summary: Vec<_> = ops
            .iter()
            .map(|o| {
                (
                    o.process,
                    o.kind,
                    o.f.as_str(),
                    o.value.clone(),
                    o.error.clone(),
                    o.time,
                )
            })
            .collect();
        let timed_out = || Some("timed-out".to_string());
        assert_eq!(
            summary,
            [
                (2, OpType::Invoke, "cas", json!([3, 0]), None, 0),
                (2, OpType::Fail, "cas", json!([3, 0]), None, 1),
                (1, OpType::Invoke, "read", Value::Null, None, 2),
                (1, OpType::Fail, "read", Value::Null, timed_out(), 3),
                (0, OpType::Invoke, "write", json!(4), None, 4),
                (0, OpType::Info, "write", json!(4), timed_out(), 5),
            ]
        );
        assert_eq!(
            etcd_log("INFO  jepsen.util - x :ok :read 1")
                .unwrap_err()
                .line,
            1
        );
    }

    #[test]
    fn edn_lines() {
        let ops = edn(
            "{:process 9, :type :invoke, :f :append, :key \"0\", :value \"x 9 \\\"0 y\"}\n\
             \n\
             {:process 1, :type :ok, :f :get, :key \"9\", :value nil}\n",
        )
        .unwrap();
        assert_eq!(ops.len(), 2);
        assert_eq!(
            (ops[0].process, ops[0].kind, ops[0].f.as_str()),
            (9, OpType::Invoke, "append")
        );
        assert_eq!(
            (ops[0].key.as_deref(), &ops[0].value),
            (Some("0"), &json!("x 9 \"0 y"))
        );
        assert_eq!(
            (ops[1].kind, &ops[1].value, ops[1].time),
            (OpType::Ok, &Value::Null, 2)
        );
        assert!(edn("{:process 1, :type :ok").is_err());
    }
}
