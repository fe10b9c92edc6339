//! RDATAs packed one after another in one buffer, each after its 2-byte
//! length (RDATA is at most 65535 bytes, RFC 1035 3.2.1): an RRset's
//! records, or its RRSIGs, in one allocation of their size, not one for
//! the list and one for each (about 32 bytes less an RRset of one).

use alloc::vec::Vec;

/// Packed RDATAs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Packed(Vec<u8>);

impl Packed {
    /// `rdatas` packed, in an allocation of exactly their size. RDATA
    /// over 65535 bytes (never made here) is left out.
    pub fn of(rdatas: &[Vec<u8>]) -> Packed {
        let fits = || rdatas.iter().filter(|r| r.len() <= u16::MAX as usize);
        let mut b = Vec::with_capacity(fits().map(|r| 2 + r.len()).sum());
        for r in fits() {
            b.extend_from_slice(&(r.len() as u16).to_be_bytes());
            b.extend_from_slice(r);
        }
        Packed(b)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many RDATAs.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    pub fn first(&self) -> Option<&[u8]> {
        self.iter().next()
    }

    /// Add `rd` at the end (growing by its size only); RDATA over 65535
    /// bytes is not added.
    pub fn push(&mut self, rd: &[u8]) {
        let Ok(len) = u16::try_from(rd.len()) else {
            return;
        };
        self.0.reserve_exact(2 + rd.len());
        self.0.extend_from_slice(&len.to_be_bytes());
        self.0.extend_from_slice(rd);
    }

    /// Take out the `i`th RDATA (the others keep their order).
    pub fn remove(&mut self, i: usize) {
        let mut at = 0;
        for rd in self.iter().take(i) {
            at += 2 + rd.len();
        }
        if let Some(rd) = self.iter().nth(i) {
            self.0.drain(at..at + 2 + rd.len());
            self.0.shrink_to_fit();
        }
    }

    /// Keep only the RDATAs `keep` says yes to (in their order).
    pub fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) {
        let kept: Vec<Vec<u8>> = self
            .iter()
            .filter(|rd| keep(rd))
            .map(<[u8]>::to_vec)
            .collect();
        *self = Packed::of(&kept);
    }

    /// The RDATAs as a list (for [`crate::dnssec::canon`]).
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|r| r.to_vec()).collect()
    }

    /// The RDATAs in the order they were packed.
    pub fn iter(&self) -> Iter<'_> {
        Iter(&self.0)
    }
}

/// The RDATAs of a [`Packed`].
pub struct Iter<'a>(&'a [u8]);

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (len, rest) = self.0.split_first_chunk::<2>()?;
        let (rd, rest) = rest.split_at_checked(u16::from_be_bytes(*len) as usize)?;
        self.0 = rest;
        Some(rd)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rdatas_come_back_in_order_in_one_exact_buffer() {
        let rds = alloc::vec![alloc::vec![1, 2, 3], Vec::new(), alloc::vec![9; 300]];
        let p = Packed::of(&rds);
        assert_eq!(
            p.iter().collect::<Vec<_>>(),
            [&[1, 2, 3][..], &[], &[9; 300]]
        );
        assert_eq!((p.0.len(), p.0.capacity()), (2 + 3 + 2 + 2 + 300, 309));
        assert!(Packed::of(&[]).is_empty() && Packed::default().iter().next().is_none());
        // Too long for its length field: left out, not cut.
        let mut p = Packed::of(&[alloc::vec![0; 70_000], alloc::vec![5]]);
        assert_eq!(p.iter().collect::<Vec<_>>(), [&[5][..]]);
        p.push(&[0; 70_000]);
        assert_eq!(p.len(), 1);
    }

    #[test]
    fn push_and_remove_keep_the_order() {
        let mut p = Packed::default();
        for rd in [&[1u8][..], &[2, 2], &[3, 3, 3]] {
            p.push(rd);
        }
        assert_eq!((p.len(), p.first()), (3, Some(&[1u8][..])));
        p.remove(1);
        assert_eq!(p.to_vecs(), [alloc::vec![1], alloc::vec![3, 3, 3]]);
        p.remove(5);
        assert_eq!(p.len(), 2);
        p.push(&[4; 4]);
        p.retain(|rd| rd.len() > 3);
        assert_eq!(p.to_vecs(), [alloc::vec![4; 4]]);
        p.remove(0);
        p.remove(0);
        assert!(p.is_empty());
    }
}
