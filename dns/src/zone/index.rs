//! A hash index over a zone's nodes for exact-name lookups: an open
//! addressing table (linear probing) of arena references, keyed by the
//! hash of the node's relative key. The sorted slot vector stays the
//! zone's order (closest enclosers, transfers); this answers "is there a
//! node named exactly k" in about one probe instead of a binary search of
//! ~log2(n) probes that each may touch a block (issue 9: the lookup was
//! the largest share of the query path).
//!
//! The table never owns keys: `key_of(r)` reads the key of the block
//! named `r`, so an entry costs 4 bytes and the table is at most half
//! full (8 MB for a million names).

use alloc::vec;
use alloc::vec::Vec;

/// No block here.
const EMPTY: u32 = u32::MAX;

/// The table; empty (no allocation) until built.
#[derive(Clone, Default)]
pub struct NameIndex {
    slots: Vec<u32>,
    pub(super) len: usize,
}

/// A word-at-a-time multiplicative hash of a key (keys are lowercased
/// already, so equal names hash equally).
fn hash(k: &[u8]) -> u64 {
    const M: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = k.len() as u64;
    let mut chunks = k.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(M);
    }
    let mut tail = [0u8; 8];
    let rest = chunks.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    h = (h.rotate_left(5) ^ u64::from_le_bytes(tail)).wrapping_mul(M);
    h ^ (h >> 29)
}

impl NameIndex {
    /// An index of `refs` (each block's key read through `key_of`).
    pub fn build<'a>(
        refs: impl ExactSizeIterator<Item = u32>,
        key_of: impl Fn(u32) -> &'a [u8],
    ) -> NameIndex {
        let mut ix = NameIndex {
            slots: vec![EMPTY; capacity_for(refs.len())],
            len: 0,
        };
        for r in refs {
            ix.put(hash(key_of(r)), r);
        }
        ix
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    fn home(&self, h: u64) -> usize {
        h as usize & self.mask()
    }

    /// Place `r` (hash `h`) in the first free slot of its run.
    fn put(&mut self, h: u64, r: u32) {
        let mut i = self.home(h);
        while self.slots[i] != EMPTY {
            i = (i + 1) & self.mask();
        }
        self.slots[i] = r;
        self.len += 1;
    }

    /// Where the block keyed `k` sits in the table.
    fn position<'a>(&self, k: &[u8], key_of: impl Fn(u32) -> &'a [u8]) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mut i = self.home(hash(k));
        loop {
            let r = self.slots[i];
            if r == EMPTY {
                return None;
            }
            if key_of(r) == k {
                return Some(i);
            }
            i = (i + 1) & self.mask();
        }
    }

    /// The block keyed exactly `k`.
    pub fn get<'a>(&self, k: &[u8], key_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        self.position(k, key_of).map(|i| self.slots[i])
    }

    /// A node keyed `k` was added as block `r`.
    pub fn insert<'a>(&mut self, k: &[u8], r: u32, key_of: impl Fn(u32) -> &'a [u8] + Copy) {
        if (self.len + 1) * 2 > self.slots.len() {
            let old = core::mem::take(&mut self.slots);
            let live: Vec<u32> = old.into_iter().filter(|&s| s != EMPTY).collect();
            *self = NameIndex::build(
                live.into_iter().chain([r]).collect::<Vec<_>>().into_iter(),
                key_of,
            );
            return;
        }
        self.put(hash(k), r);
    }

    /// The node keyed `k` moved to block `r`.
    pub fn replace<'a>(&mut self, k: &[u8], r: u32, key_of: impl Fn(u32) -> &'a [u8]) {
        if let Some(i) = self.position(k, key_of) {
            self.slots[i] = r;
        }
    }

    /// The node keyed `k` is gone. Backward-shift deletion: later members
    /// of the run move up when their home allows, so no tombstones.
    pub fn remove<'a>(&mut self, k: &[u8], key_of: impl Fn(u32) -> &'a [u8] + Copy) {
        let Some(mut hole) = self.position(k, key_of) else {
            return;
        };
        self.slots[hole] = EMPTY;
        self.len -= 1;
        let mut i = hole;
        loop {
            i = (i + 1) & self.mask();
            let r = self.slots[i];
            if r == EMPTY {
                return;
            }
            let home = self.home(hash(key_of(r)));
            // `r` may fill the hole when its home is not in (hole, i].
            let dist_home = i.wrapping_sub(home) & self.mask();
            let dist_hole = i.wrapping_sub(hole) & self.mask();
            if dist_home >= dist_hole {
                self.slots[hole] = r;
                self.slots[i] = EMPTY;
                hole = i;
            }
        }
    }

    /// True once built (an empty zone's index is built too).
    pub fn built(&self) -> bool {
        !self.slots.is_empty()
    }
}

/// A power of two at least twice `n` (at least 16).
fn capacity_for(n: usize) -> usize {
    (n.max(8) * 2).next_power_of_two()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::String;

    /// Keys stored by "reference" = position in a vector of strings.
    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("h{i}\0")).collect()
    }

    #[test]
    fn finds_every_key_and_no_other() {
        let ks = keys(1000);
        let key_of = |r: u32| ks[r as usize].as_bytes();
        let ix = NameIndex::build((0..1000u32).collect::<Vec<_>>().into_iter(), key_of);
        for (i, k) in ks.iter().enumerate() {
            assert_eq!(ix.get(k.as_bytes(), key_of), Some(i as u32));
        }
        assert_eq!(ix.get(b"nx\0", key_of), None);
        assert_eq!(ix.get(b"", key_of), None);
        assert_eq!(ix.slots.len(), 2048);
    }

    #[test]
    fn empty_index_finds_nothing() {
        let ix = NameIndex::default();
        assert_eq!(ix.get(b"a\0", |_| b"a\0".as_slice()), None);
    }

    #[test]
    fn inserts_removals_and_moves_agree_with_a_plain_set() {
        // Step r uses ref r, whose key is ks[r]; a move is a new ref for
        // a key already present.
        let mut seed = 12345u64;
        let mut rnd = |m: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % m
        };
        let ops: Vec<(String, u64)> = (0..5000)
            .map(|_| (format!("n{}\0", rnd(300)), rnd(3)))
            .collect();
        let key_of = |r: u32| ops[r as usize].0.as_bytes();
        let mut live: Vec<(&str, u32)> = Vec::new();
        let mut ix = NameIndex::default();
        for (step, (name, op)) in ops.iter().enumerate() {
            let r = step as u32;
            match (live.iter().position(|(k, _)| k == name), op) {
                (None, _) => {
                    ix.insert(name.as_bytes(), r, key_of);
                    live.push((name, r));
                }
                (Some(i), 0) => {
                    ix.remove(name.as_bytes(), key_of);
                    live.remove(i);
                }
                (Some(i), _) => {
                    ix.replace(name.as_bytes(), r, key_of);
                    live[i].1 = r;
                }
            }
            if step % 97 == 0 || step == 4999 {
                for j in 0..300 {
                    let k = format!("n{j}\0");
                    let want = live.iter().find(|(n, _)| *n == k).map(|(_, r)| *r);
                    assert_eq!(ix.get(k.as_bytes(), key_of), want, "step {step} {k}");
                }
                assert_eq!(ix.len, live.len());
            }
        }
    }
}
