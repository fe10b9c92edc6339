//! The NSEC3 chain (RFC 5155 7.1) with the parameters RFC 9276 3.1 asks
//! for: SHA-1, no extra iterations, no salt. Every authoritative name,
//! delegation point (secure ones only with opt-out, RFC 5155 6) and empty
//! non-terminal between them and the apex is hashed; each hash gets an
//! NSEC3 at `<base32hex(hash)>.<zone>` naming the next hash in order and
//! the types at the name. A change re-hashes its names and their
//! ancestors and fixes the NSEC3 of each hash added, changed or removed,
//! and of the hash before each.

use super::tree::{Node, Status, Tree};
use super::Signer;
use crate::dnssec::nsec3::{base32hex, Params};
use crate::name::{Key as NameKey, Name};
use crate::rtype::{DS, NS, NSEC, NSEC3, NSEC3PARAM, RRSIG};
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::ops::Bound::{Excluded, Unbounded};

/// NSEC3PARAM RDATA (RFC 5155 4.2): SHA-1, flags 0, 0 iterations, no
/// salt. NSEC3 RDATA starts the same but for its flags.
const PARAM: [u8; 5] = [1, 0, 0, 0, 0];

impl Tree {
    /// Is `n` hashed for data of its own: authoritative, or a delegation
    /// point (with opt-out: a secure one, RFC 5155 7.1)?
    fn nsec3_own(&self, n: &Node, opt_out: bool) -> bool {
        if n.nsec3_owner || !n.has_data() {
            return false;
        }
        match self.status(&n.name) {
            Status::Occluded => false,
            Status::Cut => !opt_out || Tree::secure_cut(n),
            Status::Apex | Status::Auth => true,
        }
    }

    /// Does `name` exist for the chain: data of its own, or a descendant
    /// that has (an empty non-terminal, RFC 5155 7.1)?
    fn nsec3_exists(&self, name: &Name, opt_out: bool) -> bool {
        let k = name.key();
        self.nodes
            .range(k.clone()..)
            .take_while(|(nk, _)| nk.starts_with(&k))
            .any(|(_, n)| self.nsec3_own(n, opt_out))
    }

    /// The types the NSEC3 of `name` lists (RFC 5155 3.2.1: none for an
    /// empty non-terminal; at a delegation point NS and DS, and RRSIG when
    /// the DS is signed).
    fn nsec3_types(&self, name: &Name) -> Vec<u16> {
        let Some(n) = self.nodes.get(&name.key()).filter(|n| n.has_data()) else {
            return Vec::new();
        };
        let own = n
            .sets
            .iter()
            .map(|s| s.rtype)
            .filter(|&t| t != NSEC && t != NSEC3);
        match self.status(name) {
            Status::Cut if Tree::secure_cut(n) => [NS, DS, RRSIG].into(),
            Status::Cut => [NS].into(),
            Status::Occluded => Vec::new(),
            Status::Apex | Status::Auth => own.chain([RRSIG]).collect(),
        }
    }
}

impl Signer {
    /// The owner of the NSEC3 of hash `h`.
    fn nsec3_owner(&self, h: &[u8; 20]) -> Name {
        let label = base32hex(h);
        let label = core::str::from_utf8(&label).unwrap_or("0");
        Name::parse(label, &self.tree.origin).unwrap_or_else(|_| self.tree.origin.clone())
    }

    /// Fix the chain for the changed `names`: each and its ancestors up
    /// to the apex hashed again, their NSEC3s and those before them fixed.
    pub(super) fn nsec3_fix(&mut self, names: &[NameKey], opt_out: bool) {
        let p = Params::parse(&PARAM).expect("NSEC3PARAM constant");
        self.nsec3param();
        let depth = self.tree.origin.label_count();
        let mut candidates: BTreeMap<NameKey, Name> = BTreeMap::new();
        for k in names {
            // A name that left is only in `changed`; in a load, where
            // `changed` is not kept, every name is in the tree.
            let name = self.changed.get(k);
            let Some(name) = name.or_else(|| self.tree.nodes.get(k).map(|n| &n.name)) else {
                continue;
            };
            for i in depth..=name.label_count() {
                let s = name.suffix(i);
                candidates.entry(s.key()).or_insert(s);
            }
        }
        let mut fix = BTreeSet::new();
        for name in candidates.into_values() {
            let h = p.hash(&name);
            if self.tree.nsec3_exists(&name, opt_out) {
                self.hashes.insert(h, name);
                fix.insert(h);
            } else if self.hashes.remove(&h).is_some() {
                self.nsec3_set(&h, None);
            }
            if let Some((prev, _)) = self
                .hashes
                .range(..h)
                .next_back()
                .or(self.hashes.last_key_value())
            {
                fix.insert(*prev);
            }
        }
        for h in fix {
            let rd = self.nsec3_rdata(&h, opt_out);
            self.nsec3_set(&h, rd);
        }
    }

    /// The NSEC3 RDATA of hash `h` (RFC 5155 3.2), None when it left.
    fn nsec3_rdata(&self, h: &[u8; 20], opt_out: bool) -> Option<Vec<u8>> {
        let name = self.hashes.get(h)?;
        let next = self
            .hashes
            .range((Excluded(*h), Unbounded))
            .next()
            .or(self.hashes.first_key_value())
            .map_or(*h, |(k, _)| *k);
        let mut rd = alloc::vec![1, u8::from(opt_out), 0, 0, 0, 20];
        rd.extend_from_slice(&next);
        crate::rdata::bitmap_encode(&mut self.tree.nsec3_types(name), &mut rd);
        rd.shrink_to_fit();
        Some(rd)
    }

    /// Put `rd` as the NSEC3 of `h` (None: take it away), marking it to
    /// sign when it changed.
    fn nsec3_set(&mut self, h: &[u8; 20], rd: Option<Vec<u8>>) {
        let owner = self.nsec3_owner(h);
        let k = owner.key();
        if rd.is_none() && !self.tree.nodes.contains_key(&k) {
            return;
        }
        let ttl = self.tree.denial_ttl();
        let node = self.tree.node(k.clone(), &owner);
        node.nsec3_owner = true;
        if !node.put_one(NSEC3, rd, ttl) || self.bulk {
            return;
        }
        self.changed.insert(k.clone(), owner);
        self.dirty.insert((k, NSEC3));
    }

    /// The apex's NSEC3PARAM (RFC 5155 4), with the chain's TTL.
    fn nsec3param(&mut self) {
        let origin = self.tree.origin.clone();
        let ttl = self.tree.denial_ttl();
        let k = origin.key();
        let set = self.tree.node(k.clone(), &origin).entry(NSEC3PARAM, ttl);
        if set.rdatas.len() == 1 && set.rdatas.first() == Some(&PARAM[..]) && set.ttl == ttl {
            return;
        }
        set.rdatas = super::packed::Packed::of(&[PARAM.to_vec()]);
        set.ttl = ttl;
        self.dirty.insert((k.clone(), NSEC3PARAM));
        self.changed.insert(k, origin);
    }
}
