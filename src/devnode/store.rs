//! Indexes and their documents, and what each asynchronous task does to them.
//!
//! Documents keep an internal id as Meilisearch does: the smallest free number, reused after a
//! deletion. Unsorted listings (documents, placeholder search) follow that order.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{json, Map, Value};

use crate::devnode::filter;
use crate::devnode::settings;
use crate::meili::error::MeiliError;
use crate::meili::primary_key;
use crate::meili::stamp;

pub type Document = Map<String, Value>;

pub struct Index {
    pub uid: String,
    pub primary_key: Option<String>,
    pub created_at: u128,
    pub updated_at: u128,
    pub settings: Map<String, Value>,
    docs: BTreeMap<u32, Document>,
    ids: HashMap<String, u32>,
    /// Internal ids freed by deletions, handed out again before `next`.
    free: BTreeSet<u32>,
    next: u32,
}

impl Index {
    pub fn new(uid: &str, primary_key: Option<String>, now: u128) -> Self {
        Index {
            uid: uid.to_string(),
            primary_key,
            created_at: now,
            updated_at: now,
            settings: settings::defaults(),
            docs: BTreeMap::new(),
            ids: HashMap::new(),
            free: BTreeSet::new(),
            next: 0,
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "uid": self.uid,
            "createdAt": stamp::rfc3339(self.created_at),
            "updatedAt": stamp::rfc3339(self.updated_at),
            "primaryKey": self.primary_key,
        })
    }

    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    pub fn get(&self, id: &str) -> Option<&Document> {
        self.ids.get(id).and_then(|i| self.docs.get(i))
    }

    /// Documents with their internal ids, in internal id order.
    pub fn documents(&self) -> impl Iterator<Item = (u32, &Document)> {
        self.docs.iter().map(|(i, d)| (*i, d))
    }

    /// Replaces (or, with `merge`, updates field by field) the document with this id.
    fn upsert(&mut self, id: String, doc: Document, merge: bool) {
        if let Some(internal) = self.ids.get(&id) {
            let slot = self.docs.entry(*internal).or_default();
            if merge {
                slot.extend(doc);
            } else {
                *slot = doc;
            }
            return;
        }
        let internal = match self.free.pop_first() {
            Some(i) => i,
            None => {
                self.next += 1;
                self.next - 1
            }
        };
        self.ids.insert(id, internal);
        self.docs.insert(internal, doc);
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.ids.remove(id) {
            Some(internal) => {
                self.docs.remove(&internal);
                self.free.insert(internal);
                true
            }
            None => false,
        }
    }

    fn clear(&mut self) -> usize {
        let n = self.docs.len();
        self.docs.clear();
        self.ids.clear();
        self.free.clear();
        self.next = 0;
        n
    }

    /// How many documents have each top-level field.
    pub fn field_distribution(&self) -> Map<String, Value> {
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        for doc in self.docs.values() {
            for k in doc.keys() {
                *counts.entry(k).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .map(|(k, v)| (k.to_string(), json!(v)))
            .collect()
    }

    pub fn stats(&self, indexing: bool) -> Value {
        let raw: usize = self
            .docs
            .values()
            .map(|d| Value::Object(d.clone()).to_string().len())
            .sum();
        json!({
            "numberOfDocuments": self.docs.len(),
            "rawDocumentDbSize": raw,
            "avgDocumentSize": if self.docs.is_empty() { 0 } else { raw / self.docs.len() },
            "isIndexing": indexing,
            "numberOfEmbeddings": 0,
            "numberOfEmbeddedDocuments": 0,
            "fieldDistribution": self.field_distribution(),
        })
    }

    /// Filterable patterns of this index.
    pub fn filterable(&self) -> Vec<String> {
        settings::filterable(&self.settings)
    }
}

#[derive(Default)]
pub struct Store {
    pub indexes: BTreeMap<String, Index>,
}

impl Store {
    pub fn index(&self, uid: &str) -> Result<&Index, MeiliError> {
        self.indexes
            .get(uid)
            .ok_or_else(|| MeiliError::index_not_found(uid))
    }

    fn index_mut(&mut self, uid: &str) -> Result<&mut Index, MeiliError> {
        self.indexes
            .get_mut(uid)
            .ok_or_else(|| MeiliError::index_not_found(uid))
    }

    /// Runs one task against the store, returning its final details or the error it failed with.
    pub fn apply(
        &mut self,
        uid: &str,
        op: TaskOp,
        mut details: Map<String, Value>,
        now: u128,
    ) -> Result<Map<String, Value>, MeiliError> {
        match op {
            TaskOp::IndexCreation { primary_key } => {
                if self.indexes.contains_key(uid) {
                    return Err(MeiliError::index_exists(uid));
                }
                self.indexes
                    .insert(uid.to_string(), Index::new(uid, primary_key, now));
            }
            TaskOp::IndexUpdate { primary_key } => {
                let index = self.index_mut(uid)?;
                if let Some(pk) = primary_key {
                    if !index.is_empty() && index.primary_key.as_deref() != Some(pk.as_str()) {
                        let current = index.primary_key.clone().unwrap_or_default();
                        return Err(pk_exists(&current));
                    }
                    index.primary_key = Some(pk);
                }
                index.updated_at = now;
            }
            TaskOp::IndexDeletion => {
                let index = self
                    .indexes
                    .remove(uid)
                    .ok_or_else(|| MeiliError::index_not_found(uid))?;
                details.insert("deletedDocuments".into(), json!(index.len()));
            }
            TaskOp::DocumentAddition {
                documents,
                primary_key,
                merge,
                skip_creation,
            } => {
                let index = self
                    .indexes
                    .entry(uid.to_string())
                    .or_insert_with(|| Index::new(uid, None, now));
                let pk = match (&index.primary_key, primary_key) {
                    (Some(current), Some(asked)) if *current != asked => {
                        return Err(pk_exists(current))
                    }
                    (Some(current), _) => current.clone(),
                    (None, Some(asked)) => asked,
                    (None, None) => match documents.first() {
                        Some(first) => primary_key::infer(first)?,
                        None => {
                            details.insert("indexedDocuments".into(), json!(0));
                            return Ok(details);
                        }
                    },
                };
                let ids = documents
                    .iter()
                    .map(|d| primary_key::extract(d, &pk))
                    .collect::<Result<Vec<_>, _>>()?;
                index.primary_key = Some(pk);
                let n = documents.len();
                for (id, doc) in ids.into_iter().zip(documents) {
                    if !skip_creation || index.ids.contains_key(&id) {
                        index.upsert(id, doc, merge);
                    }
                }
                index.updated_at = now;
                details.insert("indexedDocuments".into(), json!(n));
            }
            TaskOp::DocumentDeletionByIds(ids) => {
                let index = self.index_mut(uid)?;
                let deleted = ids.iter().filter(|id| index.remove(id)).count();
                index.updated_at = now;
                details.insert("deletedDocuments".into(), json!(deleted));
            }
            TaskOp::DocumentDeletionByFilter(value) => {
                let index = self.index_mut(uid)?;
                let patterns = index.filterable();
                let parsed =
                    filter::parse_value(&value, "invalid_document_filter", Some(&patterns))
                        .map_err(|e| e.in_index(uid))?;
                let doomed: Vec<String> = match parsed {
                    Some(f) => index
                        .ids
                        .iter()
                        .filter(|(_, i)| index.docs.get(i).is_some_and(|d| f.matches(d)))
                        .map(|(id, _)| id.clone())
                        .collect(),
                    None => index.ids.keys().cloned().collect(),
                };
                doomed.iter().for_each(|id| {
                    index.remove(id);
                });
                index.updated_at = now;
                details.insert("deletedDocuments".into(), json!(doomed.len()));
            }
            TaskOp::Compaction => {
                // Nothing on disk to compact: the sizes say so.
                self.index_mut(uid)?;
                details.insert("preCompactionSize".into(), json!("0 B"));
                details.insert("postCompactionSize".into(), json!("0 B"));
            }
            TaskOp::DocumentClear => {
                let index = self.index_mut(uid)?;
                let n = index.clear();
                index.updated_at = now;
                details.insert("deletedDocuments".into(), json!(n));
            }
            TaskOp::SettingsUpdate(patch) => {
                let index = self
                    .indexes
                    .entry(uid.to_string())
                    .or_insert_with(|| Index::new(uid, None, now));
                settings::apply(&mut index.settings, &patch);
                index.updated_at = now;
            }
        }
        Ok(details)
    }
}

fn pk_exists(current: &str) -> MeiliError {
    MeiliError::invalid(
        "index_primary_key_already_exists",
        format!("Index already has a primary key: `{current}`."),
    )
}

/// What an asynchronous write does once its turn comes.
pub enum TaskOp {
    IndexCreation {
        primary_key: Option<String>,
    },
    IndexUpdate {
        primary_key: Option<String>,
    },
    IndexDeletion,
    DocumentAddition {
        documents: Vec<Document>,
        primary_key: Option<String>,
        merge: bool,
        /// `skipCreation`: documents whose id is not there yet are left out.
        skip_creation: bool,
    },
    DocumentDeletionByIds(Vec<String>),
    DocumentDeletionByFilter(Value),
    DocumentClear,
    SettingsUpdate(Map<String, Value>),
    Compaction,
}

impl TaskOp {
    /// Meilisearch's task `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            TaskOp::IndexCreation { .. } => "indexCreation",
            TaskOp::IndexUpdate { .. } => "indexUpdate",
            TaskOp::IndexDeletion => "indexDeletion",
            TaskOp::DocumentAddition { .. } => "documentAdditionOrUpdate",
            TaskOp::DocumentDeletionByIds(_) | TaskOp::DocumentDeletionByFilter(_) => {
                "documentDeletion"
            }
            TaskOp::DocumentClear => "documentDeletion",
            TaskOp::Compaction => "indexCompaction",
            TaskOp::SettingsUpdate(_) => "settingsUpdate",
        }
    }

    /// The details an enqueued task shows; counts are filled in when it runs.
    pub(in crate::devnode) fn initial_details(&self) -> Map<String, Value> {
        let v = match self {
            TaskOp::IndexCreation { primary_key } | TaskOp::IndexUpdate { primary_key } => {
                json!({"primaryKey": primary_key})
            }
            TaskOp::IndexDeletion | TaskOp::DocumentClear => json!({"deletedDocuments": null}),
            TaskOp::DocumentAddition { documents, .. } => {
                json!({"receivedDocuments": documents.len(), "indexedDocuments": null})
            }
            TaskOp::DocumentDeletionByIds(ids) => {
                json!({"providedIds": ids.len(), "deletedDocuments": null, "originalFilter": null})
            }
            TaskOp::DocumentDeletionByFilter(f) => {
                json!({"providedIds": 0, "deletedDocuments": null, "originalFilter": f.to_string()})
            }
            TaskOp::SettingsUpdate(_) => json!({}),
            TaskOp::Compaction => json!({"preCompactionSize": null, "postCompactionSize": null}),
        };
        v.as_object().cloned().unwrap_or_default()
    }
}

/// Keeps only `fields` of a document (all of them for `None` or `*`), following dotted paths.
pub fn project(doc: &Document, fields: Option<&[String]>) -> Document {
    match fields {
        None => doc.clone(),
        Some(f) if f.iter().any(|x| x == "*") => doc.clone(),
        Some(f) => doc
            .iter()
            .filter(|(k, _)| {
                f.iter().any(|x| {
                    x == *k
                        || x.strip_prefix(k.as_str())
                            .is_some_and(|r| r.starts_with('.'))
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}
