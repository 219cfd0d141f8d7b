//! Tables for people, JSON for scripts.

use serde::Serialize;

use crate::state::{Epoch, IndexUid, ShardAssignment, ShardMap};

/// A shard map as `--json` has always printed it (`index_uid`, as in the gRPC message).
#[derive(Serialize)]
pub struct MapJson<'a> {
    index_uid: &'a IndexUid,
    epoch: Epoch,
    shards: &'a [ShardAssignment],
}

impl<'a> From<&'a ShardMap> for MapJson<'a> {
    fn from(m: &'a ShardMap) -> Self {
        MapJson {
            index_uid: &m.index,
            epoch: m.epoch,
            shards: &m.shards,
        }
    }
}

/// A left-aligned text table.
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Self {
        Table {
            rows: vec![headers.iter().map(|h| h.to_string()).collect()],
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self) -> String {
        let cols = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..cols)
            .map(|c| {
                self.rows
                    .iter()
                    .filter_map(|r| r.get(c))
                    .map(|s| s.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for r in &self.rows {
            let line: Vec<String> = r
                .iter()
                .enumerate()
                .map(|(i, cell)| format!("{cell:<w$}", w = widths[i]))
                .collect();
            out.push_str(line.join("  ").trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints `value` as JSON, or the text `human` builds.
pub fn emit<T: Serialize>(json: bool, value: &T, human: impl FnOnce(&T) -> String) {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value)
                .unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        );
    } else {
        print!("{}", human(value));
    }
}

pub fn opt<T: ToString>(v: Option<T>) -> String {
    v.map_or_else(|| "-".to_string(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(&["ID", "STATE"]);
        t.row(vec!["meili-10".into(), "active".into()]);
        t.row(vec!["n".into(), "failed".into()]);
        assert_eq!(
            t.render(),
            "ID        STATE\nmeili-10  active\nn         failed\n"
        );
    }
}
