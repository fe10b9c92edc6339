//! The NSEC3 owners of a zone in canonical order (RFC 5155 7.2): the
//! hashed names are one label below the apex, so in the zone's own order
//! they are mixed with every other name and its subtree; this list holds
//! only them, to find the NSEC3 that matches or covers a hash with one
//! binary search. Empty for zones without NSEC3. Like the hash index it
//! holds arena references and reads keys through `key_of`.

use alloc::vec::Vec;

#[derive(Clone, Default)]
pub struct Nsec3Owners {
    refs: Vec<u32>,
}

impl Nsec3Owners {
    /// A list of `refs`, already in key order.
    pub fn from_sorted(refs: Vec<u32>) -> Nsec3Owners {
        Nsec3Owners { refs }
    }

    fn find<'a>(&self, k: &[u8], key_of: impl Fn(u32) -> &'a [u8]) -> Result<usize, usize> {
        self.refs.binary_search_by(|&r| key_of(r).cmp(k))
    }

    /// The node keyed `k` is now block `r`, an NSEC3 owner or not (`r`
    /// None: gone, or no longer an NSEC3 owner).
    pub fn set<'a>(&mut self, k: &[u8], r: Option<u32>, key_of: impl Fn(u32) -> &'a [u8]) {
        match (self.find(k, key_of), r) {
            (Ok(i), Some(r)) => self.refs[i] = r,
            (Ok(i), None) => {
                self.refs.remove(i);
            }
            (Err(i), Some(r)) => self.refs.insert(i, r),
            (Err(_), None) => {}
        }
    }

    /// The owner keyed `k` or, when there is none, the one before it in
    /// the circular chain (the last when `k` sorts before the first).
    pub fn at_or_before<'a>(&self, k: &[u8], key_of: impl Fn(u32) -> &'a [u8]) -> Option<u32> {
        let i = match self.find(k, key_of) {
            Ok(i) => i,
            Err(0) => self.refs.len().checked_sub(1)?,
            Err(i) => i - 1,
        };
        Some(self.refs[i])
    }

    pub fn is_empty(&self) -> bool {
        self.refs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_matches_predecessors_and_wraps() {
        let keys: [&[u8]; 4] = [b"2\0", b"5\0", b"a\0", b"k\0"];
        let key_of = |r: u32| keys[r as usize];
        let mut o = Nsec3Owners::from_sorted([0, 2].into());
        assert_eq!(o.at_or_before(b"a\0", key_of), Some(2));
        assert_eq!(o.at_or_before(b"b\0", key_of), Some(2));
        assert_eq!(o.at_or_before(b"3\0", key_of), Some(0));
        assert_eq!(o.at_or_before(b"1\0", key_of), Some(2), "wraps to the last");
        o.set(b"5\0", Some(1), key_of);
        o.set(b"k\0", Some(3), key_of);
        assert_eq!(o.at_or_before(b"6\0", key_of), Some(1));
        o.set(b"a\0", None, key_of);
        o.set(b"x\0", None, key_of);
        assert_eq!(o.at_or_before(b"b\0", key_of), Some(1));
        assert_eq!(o.at_or_before(b"1\0", key_of), Some(3));
        assert!(Nsec3Owners::default()
            .at_or_before(b"a\0", key_of)
            .is_none());
    }
}
