//! The NSEC chain (RFC 4034 4, RFC 4035 2.3): one NSEC at every
//! authoritative name and delegation point, naming the next in canonical
//! order (the last the apex) and the types present. A change fixes the
//! NSEC of each name it touched and of the chain name before each.

use super::tree::{Status, Tree};
use super::Signer;
use crate::name::Key as NameKey;
use crate::rtype::{DS, NS, NSEC, RRSIG};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::ops::Bound::{Excluded, Unbounded};

impl Tree {
    /// The chain name before `k` (circular: before the apex, the last).
    fn nsec_prev(&self, k: &NameKey) -> Option<NameKey> {
        let before = self.nodes.range(..k.clone()).rev();
        let after = self.nodes.range((Excluded(k.clone()), Unbounded)).rev();
        before
            .chain(after)
            .find(|(_, n)| self.in_nsec_chain(n))
            .map(|(k, _)| k.clone())
    }

    /// The chain name after `k` (circular: after the last, the apex).
    fn nsec_next(&self, k: &NameKey) -> Option<&crate::name::Name> {
        let after = self.nodes.range((Excluded(k.clone()), Unbounded));
        let before = self.nodes.range(..k.clone());
        after
            .chain(before)
            .find(|(_, n)| self.in_nsec_chain(n))
            .map(|(_, n)| &n.name)
    }

    /// The NSEC RDATA `k` should have, or None when it is not in the
    /// chain: next owner name (lowercase) and types (RFC 4034 4.1; at a
    /// delegation point only NS and DS are the zone's, RFC 4035 2.3).
    fn nsec_rdata(&self, k: &NameKey) -> Option<Vec<u8>> {
        let n = self.nodes.get(k).filter(|n| self.in_nsec_chain(n))?;
        let next = self.nsec_next(k).unwrap_or(&n.name).to_lowercase();
        let types = n.sets.iter().map(|s| s.rtype).filter(|&t| t != NSEC);
        let mut types: Vec<u16> = match self.status(&n.name) {
            Status::Cut => types.filter(|&t| t == NS || t == DS).collect(),
            _ => types.collect(),
        };
        types.extend([NSEC, RRSIG]);
        let mut rd = next.wire().to_vec();
        crate::rdata::bitmap_encode(&mut types, &mut rd);
        rd.shrink_to_fit();
        Some(rd)
    }
}

impl Signer {
    /// Fix the NSEC records of `names` and of the chain name before each.
    pub(super) fn nsec_fix(&mut self, names: &[NameKey]) {
        let mut fix: BTreeSet<NameKey> = names.iter().cloned().collect();
        for k in names {
            if let Some(p) = self.tree.nsec_prev(k) {
                fix.insert(p);
            }
        }
        let ttl = self.tree.denial_ttl();
        for k in fix {
            let want = self.tree.nsec_rdata(&k);
            let Some(node) = self.tree.nodes.get_mut(&k) else {
                continue;
            };
            if !node.put_one(NSEC, want, ttl) || self.bulk {
                continue;
            }
            self.changed.insert(k.clone(), node.name.clone());
            self.dirty.insert((k, NSEC));
        }
    }
}
