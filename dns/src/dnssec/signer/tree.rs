//! The signer's copy of a zone: its names in canonical order (RFC 4034
//! 6.1), each with its RRsets and their RRSIGs, and what each name is for
//! signing: the apex, authoritative, a delegation point or below one
//! (glue and occluded names: not signed, not in the chain, RFC 4035 2.2,
//! 2.3; below a DNAME likewise, RFC 6672 2.4).

use super::packed::Packed;
use crate::name::{Key as NameKey, Name};
use crate::rtype::{DNAME, DS, NS, NSEC, NSEC3};
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// One RRset and the RRSIG RDATAs that cover it.
#[derive(Clone, Debug)]
pub struct Set {
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: Packed,
    pub sigs: Packed,
}

/// A name and its RRsets, by type.
#[derive(Clone, Debug)]
pub struct Node {
    pub name: Name,
    pub sets: Vec<Set>,
    /// A hashed owner holding only an NSEC3 (RFC 5155 7.1).
    pub nsec3_owner: bool,
}

impl Node {
    pub fn get(&self, t: u16) -> Option<&Set> {
        self.sets.iter().find(|s| s.rtype == t)
    }

    pub fn get_mut(&mut self, t: u16) -> Option<&mut Set> {
        self.sets.iter_mut().find(|s| s.rtype == t)
    }

    /// The set of type `t`, made empty with `ttl` when there is none.
    pub fn entry(&mut self, t: u16, ttl: u32) -> &mut Set {
        let i = match self.sets.binary_search_by_key(&t, |s| s.rtype) {
            Ok(i) => i,
            Err(i) => {
                let set = Set {
                    rtype: t,
                    ttl,
                    rdatas: Packed::default(),
                    sigs: Packed::default(),
                };
                // Most names hold one or two sets: grow by one, not to 4.
                self.sets.reserve_exact(1);
                self.sets.insert(i, set);
                i
            }
        };
        &mut self.sets[i]
    }

    pub fn remove(&mut self, t: u16) -> Option<Set> {
        let i = self.sets.iter().position(|s| s.rtype == t)?;
        Some(self.sets.remove(i))
    }

    /// Make the RRset of type `t` the one record `rd` with `ttl`, or take
    /// it away (None). False when it was so already.
    pub fn put_one(&mut self, t: u16, rd: Option<Vec<u8>>, ttl: u32) -> bool {
        let have = self.get(t).map(|s| (s.rdatas.first(), s.ttl));
        match (&rd, have) {
            (None, None) => return false,
            (Some(w), Some((Some(h), old))) if w[..] == *h && old == ttl => return false,
            _ => {}
        }
        match rd {
            Some(rd) => {
                let set = self.entry(t, ttl);
                set.ttl = ttl;
                set.rdatas = Packed::of(core::slice::from_ref(&rd));
            }
            None => {
                self.remove(t);
            }
        }
        true
    }

    /// The zone's own data here: any RRset but the chain's.
    pub fn has_data(&self) -> bool {
        self.sets.iter().any(|s| !matches!(s.rtype, NSEC | NSEC3))
    }
}

/// What a name is for signing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Apex,
    Auth,
    /// A delegation point: only its DS and NSEC are signed (RFC 4035 2.2).
    Cut,
    /// Below a delegation or a DNAME: neither signed nor chained.
    Occluded,
}

/// The names of a zone at `origin`.
#[derive(Clone)]
pub struct Tree {
    pub origin: Name,
    pub nodes: BTreeMap<NameKey, Node>,
}

impl Tree {
    pub fn new(origin: Name) -> Tree {
        Tree {
            origin,
            nodes: BTreeMap::new(),
        }
    }

    fn has(&self, name: &Name, t: u16) -> bool {
        self.nodes
            .get(&name.key())
            .is_some_and(|n| n.get(t).is_some())
    }

    /// What `name` (at or below the origin) is.
    pub fn status(&self, name: &Name) -> Status {
        let (depth, n) = (self.origin.label_count(), name.label_count());
        if n <= depth {
            return Status::Apex;
        }
        for k in depth + 1..n {
            let above = name.suffix(k);
            if self.has(&above, NS) || self.has(&above, DNAME) {
                return Status::Occluded;
            }
        }
        if self.has(name, NS) {
            Status::Cut
        } else {
            Status::Auth
        }
    }

    /// Is the node a name of the NSEC chain (RFC 4035 2.3: every
    /// authoritative name and every delegation point)?
    pub fn in_nsec_chain(&self, n: &Node) -> bool {
        !n.nsec3_owner && n.has_data() && self.status(&n.name) != Status::Occluded
    }

    /// The node `k`, made empty for `name` when there is none.
    pub fn node(&mut self, k: NameKey, name: &Name) -> &mut Node {
        self.nodes.entry(k).or_insert_with(|| Node {
            name: name.clone(),
            sets: Vec::new(),
            nsec3_owner: false,
        })
    }

    /// Has the delegation point `n` a DS (a secure delegation)?
    pub fn secure_cut(n: &Node) -> bool {
        n.get(DS).is_some()
    }

    /// The TTL of NSEC and NSEC3 records: the SOA's MINIMUM or its TTL,
    /// whichever is lower (RFC 9077 3.1); an hour without an SOA.
    pub fn denial_ttl(&self) -> u32 {
        let soa = self
            .nodes
            .get(&self.origin.key())
            .and_then(|n| n.get(crate::rtype::SOA));
        let Some(s) = soa else { return 3600 };
        let min = s
            .rdatas
            .first()
            .and_then(|rd| rd.get(rd.len().checked_sub(4)?..))
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(s.ttl);
        min.min(s.ttl)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    fn put(t: &mut Tree, name: &str, rtype: u16) {
        let nm = n(name);
        t.node(nm.key(), &nm).entry(rtype, 60).rdatas.push(&[0]);
    }

    #[test]
    fn statuses() {
        let mut t = Tree::new(n("example."));
        put(&mut t, "example.", NS);
        put(&mut t, "sub.example.", NS);
        put(&mut t, "ns.sub.example.", crate::rtype::A);
        put(&mut t, "d.example.", DNAME);
        put(&mut t, "www.example.", crate::rtype::A);
        assert_eq!(t.status(&n("example.")), Status::Apex);
        assert_eq!(t.status(&n("sub.example.")), Status::Cut);
        assert_eq!(t.status(&n("ns.sub.example.")), Status::Occluded);
        assert_eq!(t.status(&n("x.d.example.")), Status::Occluded);
        assert_eq!(t.status(&n("d.example.")), Status::Auth);
        assert_eq!(t.status(&n("WWW.example.")), Status::Auth);
        assert_eq!(t.denial_ttl(), 3600);
    }
}
