//! One shard's anti-entropy (DESIGN section 9): every copy is read in version order and folded
//! into bucketed fingerprints; buckets that differ are narrowed to documents; for each, the rule
//! of [`verdict`] (newest version wins, a tombstone wins over every version not newer) says what
//! every copy should hold; in repair mode only the copies that differ are written, never over a
//! version newer than the one compared, and re-checked once the node has applied the repair.

use std::collections::{BTreeMap, BTreeSet};

use futures::stream::{self, StreamExt};
use serde_json::{json, Value};

use crate::fleet::tombstones::delete_filter;
use crate::fleet::{version_of, IndexChange, NodeClient, VersionedPages, WriteMode};
use crate::state::fingerprint::{fingerprint, verdict, Buckets, Fingerprint, Seen, Verdict};
use crate::state::repair::pass::{Finding, FindingKind, PassCounts, PassMode};
use crate::state::tombstones::{Deleted, Tombstone};
use crate::state::{NodeId, ShardId, Version};
use crate::workflows::repair::compare::{id_key, needs_write};
use crate::workflows::throttle::Throttle;

/// Buckets a shard's fingerprints fold into.
const BUCKETS: u32 = 256;
const PAGE: usize = 1_000;
/// Re-check rounds after a repair before the step gives up for this tick.
const RECHECK_ROUNDS: usize = 3;

/// One copy of the shard.
#[derive(Debug, Clone)]
pub struct CopyRef {
    pub node: NodeId,
    pub base: String,
    /// Read by clients (its content wins ties).
    pub serving: bool,
}

/// What one shard's scan needs.
pub struct ShardScan<'a> {
    pub nodes: &'a NodeClient,
    pub index: &'a str,
    pub primary_key: &'a str,
    pub shard: ShardId,
    pub copies: Vec<CopyRef>,
    /// The index's tombstones, oldest first.
    pub tombstones: &'a [Tombstone],
    pub docs_per_s: u64,
    pub concurrency: usize,
    pub mode: PassMode,
    /// Test-only: the gate before repair writes.
    pub pauses: &'a crate::workflows::PausePoints,
    /// Whether repairs are re-checked (only a test-only switch turns this off).
    pub recheck: bool,
}

/// What the scan found and did.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub counts: PassCounts,
    pub findings: Vec<Finding>,
}

type Prints = BTreeMap<String, Fingerprint>;

/// One fix: the document `id` on copy `to` should be what copy `from` holds (`None`: deleted,
/// by a tombstone of this version).
#[derive(Debug, Clone)]
struct Fix {
    to: usize,
    id: String,
    from: Result<usize, Version>,
    kind: FindingKind,
}

impl ShardScan<'_> {
    pub async fn run(&self) -> Result<Outcome, String> {
        for c in &self.copies {
            crate::workflows::nodes::wait_queue(self.nodes, &c.base).await?;
        }
        let bases: Vec<String> = self.copies.iter().map(|c| c.base.clone()).collect();
        let prints: Vec<Prints> = stream::iter(bases)
            .map(|base| self.read(base))
            .buffered(self.concurrency.max(1))
            .collect::<Vec<_>>()
            .await
            .into_iter()
            .collect::<Result<_, _>>()?;
        let candidates = self.candidates(&prints);
        let deleted_at = self.deleted_at(&prints, &candidates).await?;
        let fixes = self.fixes(&prints, &candidates, &deleted_at);
        let all: BTreeSet<&String> = prints.iter().flat_map(|p| p.keys()).collect();
        let mut out = Outcome {
            counts: PassCounts {
                shards_scanned: 1,
                documents_compared: all.len() as u64,
                mismatches: fixes.len() as u64,
                ..PassCounts::default()
            },
            findings: vec![],
        };
        let repaired = match (self.mode, fixes.is_empty()) {
            (PassMode::Repair, false) => {
                self.repair(&fixes).await?;
                true
            }
            _ => false,
        };
        if repaired {
            out.counts.repaired = fixes.len() as u64;
        }
        out.findings = fixes
            .into_iter()
            .map(|f| Finding {
                kind: f.kind,
                node: self.copies[f.to].node.clone(),
                shard: Some(self.shard.0),
                what: f.id,
                repaired,
            })
            .collect();
        Ok(out)
    }

    /// Every document of the shard on one copy, as fingerprints by id.
    async fn read(&self, base: String) -> Result<Prints, String> {
        let shard = [self.shard];
        let mut pages =
            VersionedPages::new(self.nodes, &base, self.index, &shard, Version::ZERO, PAGE);
        let mut throttle = Throttle::new(self.docs_per_s);
        let mut prints = Prints::new();
        while let Some(page) = pages
            .next_page()
            .await
            .map_err(|e| format!("reading shard {} from {base}: {e}", self.shard.0))?
        {
            throttle.pace(page.len() as u64).await;
            for d in page {
                if let Some(id) = d.doc.get(self.primary_key).and_then(id_key) {
                    prints.insert(id, fingerprint(&d.doc, d.version));
                }
            }
        }
        Ok(prints)
    }

    /// The ids in buckets where some copy differs from the first.
    fn candidates(&self, prints: &[Prints]) -> BTreeSet<String> {
        let buckets: Vec<Buckets> = prints
            .iter()
            .map(|p| {
                let mut b = Buckets::default();
                for (id, f) in p {
                    b.add(id, *f, BUCKETS);
                }
                b
            })
            .collect();
        let Some((first, rest)) = buckets.split_first() else {
            return BTreeSet::new();
        };
        let differing: BTreeSet<u32> = rest.iter().flat_map(|b| first.differing(b)).collect();
        prints
            .iter()
            .flat_map(|p| p.keys())
            .filter(|id| differing.contains(&crate::state::fingerprint::bucket_of(id, BUCKETS)))
            .cloned()
            .collect()
    }

    /// For each candidate some tombstone deleted (at a version not older than a copy's), the
    /// newest such tombstone's version. Deletes by filter are asked of the copies that hold the
    /// documents, with the same filter a catch-up applies.
    async fn deleted_at(
        &self,
        prints: &[Prints],
        candidates: &BTreeSet<String>,
    ) -> Result<BTreeMap<String, Version>, String> {
        let mut at: BTreeMap<String, Version> = BTreeMap::new();
        let mut cover = |id: &String, v: Version| {
            let e = at.entry(id.clone()).or_insert(v);
            *e = (*e).max(v);
        };
        for t in self.tombstones {
            match &t.deleted {
                Deleted::Ids(ids) => {
                    for id in ids.iter().filter(|i| candidates.contains(*i)) {
                        cover(id, t.version);
                    }
                }
                Deleted::All => {
                    for id in candidates {
                        cover(id, t.version);
                    }
                }
                Deleted::Filter(_) => {
                    for (c, p) in self.copies.iter().zip(prints) {
                        let held: Vec<Value> = candidates
                            .iter()
                            .filter(|id| p.get(*id).is_some_and(|f| f.version <= t.version))
                            .map(|id| Value::String(id.clone()))
                            .collect();
                        if held.is_empty() {
                            continue;
                        }
                        for id in self.matching(&c.base, &held, t).await? {
                            cover(&id, t.version);
                        }
                    }
                }
            }
        }
        Ok(at)
    }

    /// Which of `ids` a delete by filter matched on one copy.
    async fn matching(
        &self,
        base: &str,
        ids: &[Value],
        t: &Tombstone,
    ) -> Result<Vec<String>, String> {
        let Some(filter) = delete_filter(t, &[self.shard]) else {
            return Ok(vec![]);
        };
        let mut out = vec![];
        for chunk in ids.chunks(1_000) {
            let body = json!({"ids": chunk, "filter": filter, "limit": chunk.len(), "fields": [self.primary_key]});
            let Value::Object(body) = body else {
                unreachable!()
            };
            match self.nodes.fetch_documents(base, self.index, body).await {
                Ok(page) => out.extend(
                    page.docs
                        .iter()
                        .filter_map(|d| d.get(self.primary_key).and_then(id_key)),
                ),
                // The node cannot evaluate the client's filter (its settings differ, which the
                // index check reports): the delete is judged on the other copies.
                Err(crate::fleet::NodeError::Refused { .. }) => {}
                Err(e) => return Err(format!("asking {base} about a delete by filter: {e}")),
            }
        }
        Ok(out)
    }

    /// What each copy should be changed to.
    fn fixes(
        &self,
        prints: &[Prints],
        candidates: &BTreeSet<String>,
        deleted_at: &BTreeMap<String, Version>,
    ) -> Vec<Fix> {
        let mut fixes = vec![];
        for id in candidates {
            let seen: Vec<Seen> = self
                .copies
                .iter()
                .zip(prints)
                .map(|(c, p)| Seen {
                    fingerprint: p.get(id).copied(),
                    serving: c.serving,
                })
                .collect();
            match verdict(&seen, deleted_at.get(id).copied()) {
                Verdict::Copy(w) => {
                    let best = seen[w].fingerprint.expect("the winner holds it");
                    for (j, s) in seen.iter().enumerate() {
                        if j != w && needs_write(best, s.fingerprint, seen[w].serving || !s.serving)
                        {
                            let kind = match s.fingerprint {
                                None => FindingKind::Missing,
                                Some(_) => FindingKind::Stale,
                            };
                            fixes.push(Fix {
                                to: j,
                                id: id.clone(),
                                from: Ok(w),
                                kind,
                            });
                        }
                    }
                }
                Verdict::Deleted => {
                    let t = deleted_at.get(id).copied().unwrap_or_default();
                    for (j, s) in seen.iter().enumerate() {
                        if s.fingerprint.is_some() {
                            fixes.push(Fix {
                                to: j,
                                id: id.clone(),
                                from: Err(t),
                                kind: FindingKind::Deleted,
                            });
                        }
                    }
                }
            }
        }
        fixes
    }

    /// Carries the fixes out, waits for the nodes, and re-checks until nothing is left to fix.
    async fn repair(&self, fixes: &[Fix]) -> Result<(), String> {
        let mut todo: Vec<Fix> = fixes.to_vec();
        self.pauses.before_repair_write(self.shard.0).await;
        for _ in 0..RECHECK_ROUNDS {
            let touched = self.apply(&todo).await?;
            if !self.recheck {
                tracing::warn!(shard = self.shard.0, "UNSAFE: repair not re-checked");
                return Ok(());
            }
            for j in touched {
                crate::workflows::nodes::wait_queue(self.nodes, &self.copies[j].base).await?;
            }
            todo = self.still_wrong(&todo).await?;
            if todo.is_empty() {
                return Ok(());
            }
            tracing::info!(
                shard = self.shard.0,
                left = todo.len(),
                "anti-entropy re-check: a client write raced the repair; fixing again"
            );
        }
        Err(format!(
            "shard {}: {} documents still differ after {RECHECK_ROUNDS} repair rounds (clients rewriting them); retrying",
            self.shard.0,
            todo.len()
        ))
    }

    /// Writes and deletes the fixes; returns the copies written to.
    async fn apply(&self, fixes: &[Fix]) -> Result<BTreeSet<usize>, String> {
        let mut writes: BTreeMap<(usize, usize), Vec<Value>> = BTreeMap::new();
        let mut deletes: BTreeMap<usize, Vec<(String, Version)>> = BTreeMap::new();
        for f in fixes {
            match f.from {
                Ok(from) => writes
                    .entry((from, f.to))
                    .or_default()
                    .push(Value::String(f.id.clone())),
                Err(t) => deletes.entry(f.to).or_default().push((f.id.clone(), t)),
            }
        }
        let mut touched = BTreeSet::new();
        for ((from, to), ids) in writes {
            let source = self.fetch(&self.copies[from].base, &ids, None).await?;
            // Never over a version newer than the one read: a client may have written since.
            let now = self.versions(&self.copies[to].base, &ids).await?;
            let docs: Vec<Value> = source
                .into_values()
                .filter(|d| {
                    let id = d.get(self.primary_key).and_then(id_key).unwrap_or_default();
                    now.get(&id).is_none_or(|v| *v <= version_of(d))
                })
                .map(crate::workflows::repair::compare::writable)
                .collect();
            if docs.is_empty() {
                continue;
            }
            let base = &self.copies[to].base;
            self.nodes
                .write_batch(base, self.index, self.primary_key, docs, WriteMode::Replace)
                .await
                .map_err(|e| format!("repairing shard {} on {base}: {e}", self.shard.0))?;
            touched.insert(to);
        }
        for (to, list) in deletes {
            let base = &self.copies[to].base;
            let ids: Vec<Value> = list
                .iter()
                .map(|(id, _)| Value::String(id.clone()))
                .collect();
            let now = self.versions(base, &ids).await?;
            let gone: Vec<Value> = list
                .iter()
                .filter(|(id, t)| now.get(id).is_some_and(|v| v <= t))
                .map(|(id, _)| Value::String(id.clone()))
                .collect();
            if gone.is_empty() {
                continue;
            }
            self.nodes
                .apply(
                    base,
                    self.index,
                    &IndexChange::DeleteBatch(Value::Array(gone)),
                )
                .await
                .map_err(|e| format!("deleting from shard {} on {base}: {e}", self.shard.0))?;
            touched.insert(to);
        }
        Ok(touched)
    }

    /// The fixes that still do not hold, as the copies stand now.
    async fn still_wrong(&self, fixes: &[Fix]) -> Result<Vec<Fix>, String> {
        let mut left = vec![];
        for f in fixes {
            let id = [Value::String(f.id.clone())];
            let on_copy = self.fetch(&self.copies[f.to].base, &id, None).await?;
            let mine = on_copy
                .values()
                .next()
                .map(|d| fingerprint(d, version_of(d)));
            let wrong = match f.from {
                Ok(from) => {
                    let src = self.fetch(&self.copies[from].base, &id, None).await?;
                    match (
                        src.values().next().map(|d| fingerprint(d, version_of(d))),
                        mine,
                    ) {
                        (Some(best), _) => needs_write(best, mine, true),
                        // Deleted from the source since it was read, its delete possibly applied
                        // here before the repair's write: deleted here too, as it stands.
                        (None, Some(m)) => {
                            left.push(Fix {
                                from: Err(m.version),
                                kind: FindingKind::Deleted,
                                ..f.clone()
                            });
                            continue;
                        }
                        (None, None) => false,
                    }
                }
                Err(t) => {
                    // A client may have written the document again since the delete: then
                    // its newest copy is the truth, and it is written back here.
                    if let Some(from) = self.rewritten_since(&id, t, f.to).await? {
                        left.push(Fix {
                            from: Ok(from),
                            kind: FindingKind::Missing,
                            ..f.clone()
                        });
                        continue;
                    }
                    mine.is_some_and(|m| m.version <= t)
                }
            };
            if wrong {
                left.push(f.clone());
            }
        }
        Ok(left)
    }

    /// The copy (other than `to`) that now holds `id` at a version newer than the delete `t`
    /// (the newest such), if any.
    async fn rewritten_since(
        &self,
        id: &[Value; 1],
        t: Version,
        to: usize,
    ) -> Result<Option<usize>, String> {
        let mut best: Option<(usize, Version)> = None;
        for (i, c) in self.copies.iter().enumerate() {
            let v = self.versions(&c.base, id).await?.into_values().next();
            if let Some(v) = v.filter(|v| *v > t) {
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((i, v));
                }
            }
        }
        match best {
            Some((i, _)) if i != to => Ok(Some(i)),
            _ => Ok(None),
        }
    }

    async fn fetch(
        &self,
        base: &str,
        ids: &[Value],
        fields: Option<&[&str]>,
    ) -> Result<BTreeMap<String, Value>, String> {
        let docs = self
            .nodes
            .fetch_ids(base, self.index, &[self.shard], ids, fields)
            .await
            .map_err(|e| {
                format!(
                    "reading documents of shard {} from {base}: {e}",
                    self.shard.0
                )
            })?;
        Ok(docs
            .into_iter()
            .filter_map(|d| Some((d.get(self.primary_key).and_then(id_key)?, d)))
            .collect())
    }

    async fn versions(
        &self,
        base: &str,
        ids: &[Value],
    ) -> Result<BTreeMap<String, Version>, String> {
        let fields = [self.primary_key, crate::meili::reserved::VERSION_FIELD];
        Ok(self
            .fetch(base, ids, Some(&fields))
            .await?
            .into_iter()
            .map(|(id, d)| (id, version_of(&d)))
            .collect())
    }
}
