//! How copies of a document are compared (DESIGN section 9): a fingerprint is its version and a
//! hash of its content, fingerprints fold into buckets so that whole ranges of documents compare
//! at once, and one rule says which copy is right when they differ.

use std::collections::BTreeMap;

use serde_json::Value;
use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use super::version::Version;

/// What identifies one copy of a document's state: its version, and its content (two copies of
/// one version differ when one missed a partial update).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Fingerprint {
    pub version: Version,
    pub hash: u64,
}

/// A hash of a document as a node returns it. Keys are hashed in sorted order (serde_json's map
/// is ordered), so the same document hashes alike on every node. Embeddings a node generates
/// itself (`regenerate: true`) are left out: they derive from the content.
pub fn content_hash(doc: &Value) -> u64 {
    let mut doc = doc.clone();
    if let Some(Value::Object(vectors)) = doc.get_mut("_vectors") {
        for v in vectors.values_mut() {
            if v.get("regenerate") == Some(&Value::Bool(true)) {
                *v = Value::Bool(true);
            }
        }
    }
    xxh3_64(&serde_json::to_vec(&doc).unwrap_or_default())
}

pub fn fingerprint(doc: &Value, version: Version) -> Fingerprint {
    Fingerprint {
        version,
        hash: content_hash(doc),
    }
}

/// Which bucket of `buckets` a document id falls in (the same on every copy).
pub fn bucket_of(id: &str, buckets: u32) -> u32 {
    (xxh3_64_with_seed(id.as_bytes(), 0x6d69_726f) % u64::from(buckets.max(1))) as u32
}

/// The fingerprints of one copy of a shard, folded by bucket: equal buckets on two copies hold
/// the same documents at the same versions and content (up to a 64-bit collision).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Buckets {
    pub digests: BTreeMap<u32, (u64, u64)>,
}

impl Buckets {
    /// Adds one document; the digest does not depend on the order documents come in.
    pub fn add(&mut self, id: &str, f: Fingerprint, buckets: u32) {
        let mut bytes = Vec::with_capacity(id.len() + 16);
        bytes.extend_from_slice(id.as_bytes());
        bytes.extend_from_slice(&f.version.0.to_le_bytes());
        bytes.extend_from_slice(&f.hash.to_le_bytes());
        let d = self.digests.entry(bucket_of(id, buckets)).or_default();
        d.0 = d.0.wrapping_add(xxh3_64(&bytes));
        d.1 += 1;
    }

    /// The buckets in which `self` and `other` differ.
    pub fn differing(&self, other: &Buckets) -> Vec<u32> {
        let keys: std::collections::BTreeSet<u32> = self
            .digests
            .keys()
            .chain(other.digests.keys())
            .copied()
            .collect();
        keys.into_iter()
            .filter(|k| self.digests.get(k) != other.digests.get(k))
            .collect()
    }
}

/// What a document should be on every copy, once compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The copy at this position (in the order the copies were given) holds the right state.
    Copy(usize),
    /// The document is gone: deleted by a tombstone newer than every copy, or on no copy.
    Deleted,
}

/// One copy's view of one document: its fingerprint if it holds it, and whether the copy is
/// serving (its content is preferred when versions tie).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: Option<Fingerprint>,
    pub serving: bool,
}

/// The rule (I1, I4): the newest version wins; a tombstone wins over every older version (a
/// document survives a delete only with a strictly newer version); between copies of one version
/// with different content, a serving copy's wins, then the content most copies hold, then the
/// larger hash, so every pass decides alike.
pub fn verdict(copies: &[Seen], deleted_at: Option<Version>) -> Verdict {
    let mut best: Option<(usize, Fingerprint)> = None;
    for (i, s) in copies.iter().enumerate() {
        let Some(f) = s.fingerprint else { continue };
        let better = match best {
            None => true,
            Some((j, b)) => rank(copies, i, f) > rank(copies, j, b),
        };
        if better {
            best = Some((i, f));
        }
    }
    match best {
        Some((_, f)) if deleted_at.is_some_and(|t| f.version <= t) => Verdict::Deleted,
        Some((i, _)) => Verdict::Copy(i),
        None => Verdict::Deleted,
    }
}

fn rank(copies: &[Seen], i: usize, f: Fingerprint) -> (Version, bool, usize, u64) {
    let same = copies.iter().filter(|s| s.fingerprint == Some(f)).count();
    (f.version, copies[i].serving, same, f.hash)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn seen(v: u64, hash: u64, serving: bool) -> Seen {
        Seen {
            fingerprint: Some(Fingerprint {
                version: Version(v),
                hash,
            }),
            serving,
        }
    }
    const MISSING: Seen = Seen {
        fingerprint: None,
        serving: true,
    };

    /// Key order does not change a hash; content and generated embeddings do and do not.
    #[test]
    fn hashes_follow_content() {
        let a = json!({"id": 1, "t": "x", "_miroir_version": 5});
        let b: Value = serde_json::from_str(r#"{"t":"x","_miroir_version":5,"id":1}"#).unwrap();
        assert_eq!(content_hash(&a), content_hash(&b));
        assert_ne!(content_hash(&a), content_hash(&json!({"id": 1, "t": "y"})));
        let gen =
            |e: f64| json!({"id": 1, "_vectors": {"e": {"embeddings": [[e]], "regenerate": true}}});
        assert_eq!(content_hash(&gen(0.1)), content_hash(&gen(0.2)));
        let own = |e: f64| json!({"id": 1, "_vectors": {"e": {"embeddings": [[e]], "regenerate": false}}});
        assert_ne!(content_hash(&own(0.1)), content_hash(&own(0.2)));
    }

    /// Buckets agree whatever order documents come in, and name where copies differ.
    #[test]
    fn buckets_narrow_differences() {
        let f = |v| Fingerprint {
            version: Version(v),
            hash: 9,
        };
        let (mut a, mut b) = (Buckets::default(), Buckets::default());
        for id in ["x", "y", "z"] {
            a.add(id, f(1), 16);
        }
        for id in ["z", "y", "x"] {
            b.add(id, f(1), 16);
        }
        assert!(a.differing(&b).is_empty());
        b.add("w", f(1), 16);
        assert_eq!(b.differing(&a), vec![bucket_of("w", 16)]);
        let mut c = Buckets::default();
        for (id, v) in [("x", 1), ("y", 2), ("z", 1)] {
            c.add(id, f(v), 16);
        }
        assert_eq!(a.differing(&c), vec![bucket_of("y", 16)]);
    }

    /// Newest wins; a tombstone beats older and equal versions; ties go to serving copies, then
    /// to the majority; no copy at all means deleted.
    #[test]
    fn the_newest_version_wins_and_deletes_stay_deleted() {
        assert_eq!(
            verdict(&[seen(1, 1, true), seen(2, 2, false)], None),
            Verdict::Copy(1)
        );
        assert_eq!(
            verdict(&[seen(1, 1, true), MISSING], Some(Version(3))),
            Verdict::Deleted
        );
        assert_eq!(
            verdict(&[seen(3, 1, true), MISSING], Some(Version(3))),
            Verdict::Deleted
        );
        assert_eq!(
            verdict(&[MISSING, seen(4, 1, false)], Some(Version(3))),
            Verdict::Copy(1)
        );
        assert_eq!(
            verdict(&[seen(2, 1, false), seen(2, 7, true)], None),
            Verdict::Copy(1)
        );
        assert_eq!(
            verdict(
                &[seen(2, 1, true), seen(2, 7, true), seen(2, 1, true)],
                None
            ),
            Verdict::Copy(0)
        );
        assert_eq!(verdict(&[MISSING, MISSING], None), Verdict::Deleted);
    }
}
