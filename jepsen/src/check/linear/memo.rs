//! The memo cache of explored configurations, and the states they name.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hash, Hasher};

/// A fast hash for the cache keys (words of a bitset) and small states; the
/// default SipHash is made to resist attacks we do not face.
#[derive(Default)]
struct WordHasher(u64);

impl Hasher for WordHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.write_u64(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        for &b in chunks.remainder() {
            self.write_u64(b as u64);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }

    fn write_usize(&mut self, word: usize) {
        self.write_u64(word as u64);
    }

    fn finish(&self) -> u64 {
        // Spread the high bits down: hash tables index by the low ones.
        self.0 ^ (self.0 >> 29)
    }
}

type Fast = BuildHasherDefault<WordHasher>;

fn hash_of<T: Hash + ?Sized>(value: &T) -> u64 {
    let mut h = WordHasher::default();
    value.hash(&mut h);
    h.finish()
}

/// An index of numbered items by hash, the items kept elsewhere: with flat
/// storage there is no allocation per item, and dropping a big cache is cheap.
#[derive(Default)]
struct Chains {
    /// Hash to the newest item with it; `older` links each to the previous.
    newest: HashMap<u64, u32, Fast>,
    older: Vec<u32>,
}

impl Chains {
    const END: u32 = u32::MAX;

    /// The item with `hash` for which `is` holds, else a new number for it.
    fn find_or_add(&mut self, hash: u64, is: impl Fn(usize) -> bool) -> (usize, bool) {
        let head = self.newest.get(&hash).copied().unwrap_or(Chains::END);
        let mut id = head;
        while id != Chains::END {
            if is(id as usize) {
                return (id as usize, false);
            }
            id = self.older[id as usize];
        }
        let id = u32::try_from(self.older.len()).expect("fewer than 2^32 items");
        self.older.push(head);
        self.newest.insert(hash, id);
        (id as usize, true)
    }
}

/// Every state reached, each stored once and named by its index.
pub(super) struct States<S> {
    all: Vec<S>,
    index: Chains,
}

impl<S: Eq + Hash> States<S> {
    pub(super) fn new() -> Self {
        States {
            all: Vec::new(),
            index: Chains::default(),
        }
    }

    pub(super) fn get(&self, id: u32) -> &S {
        &self.all[id as usize]
    }

    /// The index of `state`, and whether it is new.
    pub(super) fn intern(&mut self, state: S) -> (u32, bool) {
        let all = &self.all;
        let (id, fresh) = self.index.find_or_add(hash_of(&state), |i| all[i] == state);
        if fresh {
            self.all.push(state);
        }
        (id as u32, fresh)
    }
}

/// The configurations explored: fixed-width keys, stored end to end.
pub(super) struct Seen {
    width: usize,
    keys: Vec<u64>,
    index: Chains,
}

impl Seen {
    /// For keys of `width` words.
    pub(super) fn new(width: usize) -> Self {
        Seen {
            width,
            keys: Vec::new(),
            index: Chains::default(),
        }
    }

    /// Whether `key` is new; if so it is added.
    pub(super) fn insert(&mut self, key: &[u64]) -> bool {
        let (keys, w) = (&self.keys, self.width);
        let (_, fresh) = self
            .index
            .find_or_add(hash_of(key), |i| keys[i * w..(i + 1) * w] == *key);
        if fresh {
            self.keys.extend_from_slice(key);
        }
        fresh
    }
}
