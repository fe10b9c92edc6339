//! Signing a zone from scratch: the same records, chain and signatures as
//! [`Signer::change`] from an empty signer, without the bookkeeping of a
//! change (the set of RRsets to sign and of owners changed would hold an
//! entry for every RRset and name of the zone: about a quarter of the
//! signer's peak memory). Every RRset is signed in one walk of the names.

use super::{NameKey, Record, RecordRef, Signer};
use crate::dnssec::policy::Denial;
use alloc::vec::Vec;
use core::ops::Bound::{Excluded, Unbounded};
use smallvec::SmallVec;

/// What [`Signer::load_with`] reads: a function handing each record to
/// the sink it is given.
pub type Feed<'a> = dyn FnMut(&mut dyn FnMut(RecordRef<'_>)) + 'a;

impl Signer {
    /// Sign the zone `records` from scratch at `now` (seconds since the
    /// epoch). The number of owners of the signed zone. A signer that
    /// holds a zone already takes them as a change instead.
    pub fn load(&mut self, records: &[Record], now: u64) -> usize {
        self.load_with(now, &mut |sink| {
            records.iter().for_each(|r| sink(r.borrow()))
        })
    }

    /// [`Signer::load`] of the records `feed` passes to the sink it is
    /// given (a zone file's parser, [`crate::zone::parser::parse_each`]:
    /// the zone is never held as a list of records beside the signer).
    pub fn load_with(&mut self, now: u64, feed: &mut Feed<'_>) -> usize {
        if !self.tree.nodes.is_empty() {
            let mut records = Vec::new();
            feed(&mut |r| records.push(r.owned()));
            return self.change(&[], &records, now).len();
        }
        self.bulk = true;
        feed(&mut |r| {
            if self.takes(r.name, r.rtype, r.class) {
                self.apply(r, true);
            }
        });
        self.apex_keys();
        let names: Vec<NameKey> = self.tree.nodes.keys().cloned().collect();
        match self.policy.denial {
            Denial::Nsec => self.nsec_fix(&names),
            Denial::Nsec3 { opt_out } => self.nsec3_fix(&names, opt_out),
        }
        drop(names);
        self.sign_all(now);
        self.bulk = false;
        // The apex's own steps (keys, NSEC3PARAM) marked theirs.
        self.dirty.clear();
        self.changed.clear();
        self.tree.nodes.len()
    }

    /// Sign every RRset, walking the names in order (a cursor, not a list
    /// of the names).
    fn sign_all(&mut self, now: u64) {
        let mut at = self.tree.nodes.keys().next().cloned();
        while let Some(k) = at {
            let types: SmallVec<[u16; 8]> = self
                .tree
                .nodes
                .get(&k)
                .map(|n| n.sets.iter().map(|s| s.rtype).collect())
                .unwrap_or_default();
            for t in types {
                self.sign_set(&k, t, now);
            }
            at = self
                .tree
                .nodes
                .range((Excluded(k), Unbounded))
                .next()
                .map(|(k, _)| k.clone());
        }
    }
}
