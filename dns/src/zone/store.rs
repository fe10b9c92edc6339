//! The in-memory zone: nodes keyed in canonical order (so a subtree is a
//! contiguous range), each holding its RRsets.

use super::parser::Record;
use crate::name::Name;
use crate::rtype;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;

/// An RRset: one owner, type and TTL, one or more RDATAs (wire form).
#[derive(Clone, Debug)]
pub struct RRset {
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: Vec<Vec<u8>>,
    /// Where its first record was read (file index, line), for messages.
    /// Not part of equality.
    pub src: (u16, u32),
}

impl PartialEq for RRset {
    fn eq(&self, o: &RRset) -> bool {
        self.rtype == o.rtype && self.ttl == o.ttl && self.rdatas == o.rdatas
    }
}

impl Eq for RRset {}

/// All RRsets of one owner name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub name: Name,
    pub rrsets: Vec<RRset>,
}

impl Node {
    /// RRsets by type, RDATAs in wire order: one representation per content.
    pub(crate) fn normalize(&mut self) {
        self.rrsets.sort_by_key(|s| s.rtype);
        self.rrsets.shrink_to_fit();
        for s in &mut self.rrsets {
            s.rdatas.sort();
            s.rdatas.shrink_to_fit();
        }
    }

    pub fn get(&self, t: u16) -> Option<&RRset> {
        self.rrsets.iter().find(|r| r.rtype == t)
    }
}

/// A zone: its apex and its nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Zone {
    pub origin: Name,
    pub(crate) nodes: BTreeMap<Vec<u8>, Node>,
}

impl Zone {
    /// Build from records (no checks: see [`super::check`]). Duplicate
    /// RDATAs collapse; an RRset takes the smallest TTL given (RFC 2181 5.2).
    pub fn from_records(origin: Name, records: &[Record]) -> Zone {
        Zone::from_owned_records(origin, records.to_vec())
    }

    /// As [`Zone::from_records`], moving the records in (no copies: large
    /// zones peak at the size of the records, not twice that).
    pub fn from_owned_records(origin: Name, records: Vec<Record>) -> Zone {
        let mut nodes: BTreeMap<Vec<u8>, Node> = BTreeMap::new();
        for r in records {
            let node = nodes.entry(r.name.key()).or_insert_with(|| Node {
                name: r.name,
                rrsets: Vec::new(),
            });
            let mut rdata = r.rdata;
            rdata.shrink_to_fit();
            match node.rrsets.iter_mut().find(|s| s.rtype == r.rtype) {
                Some(set) => {
                    set.ttl = set.ttl.min(r.ttl);
                    if !set.rdatas.contains(&rdata) {
                        set.rdatas.push(rdata);
                    }
                }
                None => node.rrsets.push(RRset {
                    rtype: r.rtype,
                    ttl: r.ttl,
                    rdatas: alloc::vec![rdata],
                    src: (r.file, r.line),
                }),
            }
        }
        for node in nodes.values_mut() {
            node.normalize();
        }
        Zone { origin, nodes }
    }

    /// Replace (or create) the RRset of `set.rtype` at `name`.
    pub fn replace_rrset(&mut self, name: &Name, set: RRset) {
        let node = self.nodes.entry(name.key()).or_insert_with(|| Node {
            name: name.clone(),
            rrsets: Vec::new(),
        });
        node.rrsets.retain(|s| s.rtype != set.rtype);
        node.rrsets.push(set);
        node.normalize();
    }

    /// Add one RR (an existing equal RDATA keeps one copy; the RRset takes
    /// the new TTL). `single`: the RRset holds one RR (CNAME replaces).
    pub fn add_rr(&mut self, name: &Name, rtype: u16, ttl: u32, rdata: &[u8], single: bool) {
        let node = self.nodes.entry(name.key()).or_insert_with(|| Node {
            name: name.clone(),
            rrsets: Vec::new(),
        });
        match node.rrsets.iter_mut().find(|s| s.rtype == rtype) {
            Some(set) => {
                set.ttl = ttl;
                if single {
                    set.rdatas.clear();
                }
                if !set.rdatas.iter().any(|r| r == rdata) {
                    set.rdatas.push(rdata.to_vec());
                }
            }
            None => node.rrsets.push(RRset {
                rtype,
                ttl,
                rdatas: alloc::vec![rdata.to_vec()],
                src: (0, 0),
            }),
        }
        node.normalize();
    }

    /// Delete every RRset at `name` except the types in `keep`.
    pub fn delete_name(&mut self, name: &Name, keep: &[u16]) {
        let k = name.key();
        if let Some(node) = self.nodes.get_mut(&k) {
            node.rrsets.retain(|s| keep.contains(&s.rtype));
            if node.rrsets.is_empty() {
                self.nodes.remove(&k);
            }
        }
    }

    /// Delete the RRset of `rtype` at `name`.
    pub fn delete_rrset(&mut self, name: &Name, rtype: u16) {
        let k = name.key();
        if let Some(node) = self.nodes.get_mut(&k) {
            node.rrsets.retain(|s| s.rtype != rtype);
            if node.rrsets.is_empty() {
                self.nodes.remove(&k);
            }
        }
    }

    /// Delete one RR.
    pub fn delete_rr(&mut self, name: &Name, rtype: u16, rdata: &[u8]) {
        let k = name.key();
        if let Some(node) = self.nodes.get_mut(&k) {
            for s in node.rrsets.iter_mut().filter(|s| s.rtype == rtype) {
                s.rdatas.retain(|r| r != rdata);
            }
            node.rrsets.retain(|s| !s.rdatas.is_empty());
            if node.rrsets.is_empty() {
                self.nodes.remove(&k);
            }
        }
    }

    /// Set the SOA serial.
    pub fn set_serial(&mut self, serial: u32) -> Option<()> {
        let origin = self.origin.clone();
        let node = self.nodes.get_mut(&origin.key())?;
        let set = node.rrsets.iter_mut().find(|s| s.rtype == rtype::SOA)?;
        let rd = set.rdatas.first_mut()?;
        let mut r = crate::wire::Reader::new(rd);
        r.name().ok()?;
        r.name().ok()?;
        let at = r.pos();
        rd.get_mut(at..at + 4)?
            .copy_from_slice(&serial.to_be_bytes());
        Some(())
    }

    /// The node at exactly `name`.
    pub fn node(&self, name: &Name) -> Option<&Node> {
        self.nodes.get(&name.key())
    }

    /// The node whose canonical key is `key`.
    pub fn node_by_key(&self, key: &[u8]) -> Option<&Node> {
        self.nodes.get(key)
    }

    /// True when some node lies strictly below `name` (so `name` exists,
    /// possibly as an empty non-terminal, RFC 4592 2.2.2).
    pub fn has_descendants(&self, name: &Name) -> bool {
        self.has_descendants_key(&name.key())
    }

    /// [`Zone::has_descendants`] by canonical key.
    pub fn has_descendants_key(&self, k: &[u8]) -> bool {
        use core::ops::Bound;
        self.nodes
            .range::<[u8], _>((Bound::Excluded(k), Bound::Unbounded))
            .next()
            .is_some_and(|(key, _)| key.starts_with(k) && key.len() > k.len())
    }

    /// The SOA RRset of the apex.
    pub fn soa(&self) -> Option<&RRset> {
        self.node(&self.origin)?.get(rtype::SOA)
    }

    /// The SOA serial.
    pub fn serial(&self) -> Option<u32> {
        let rd = self.soa()?.rdatas.first()?;
        let mut r = crate::wire::Reader::new(rd);
        r.name().ok()?;
        r.name().ok()?;
        r.u32().ok()
    }

    /// Every node in canonical order.
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// Number of RRs.
    pub fn record_count(&self) -> usize {
        self.nodes
            .values()
            .flat_map(|n| n.rrsets.iter())
            .map(|s| s.rdatas.len())
            .sum()
    }

    /// The closest delegation (NS below the apex) at or above `name`, if any.
    pub fn delegation_above(&self, name: &Name) -> Option<&Node> {
        let depth = self.origin.label_count();
        let key = name.key();
        (depth + 1..=name.label_count()).find_map(|k| {
            self.node_by_key(Name::key_prefix(&key, k))
                .filter(|node| node.get(rtype::NS).is_some())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;

    #[test]
    fn nodes_and_empty_non_terminals() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str("z", "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\na.b.c A 192.0.2.2\nd NS ns.other.\nx.d A 192.0.2.3\n", &o).unwrap();
        let z = Zone::from_records(o.clone(), &p.records);
        let n = |s: &str| Name::parse(s, &o).unwrap();
        assert_eq!(z.serial(), Some(7));
        assert!(z.node(&n("b.c")).is_none());
        assert!(z.has_descendants(&n("b.c")), "empty non-terminal");
        assert!(z.has_descendants(&n("c")));
        assert!(!z.has_descendants(&n("a.b.c")));
        assert!(!z.has_descendants(&n("ns")));
        assert!(z.has_descendants(&o));
        assert_eq!(z.delegation_above(&n("x.d")).unwrap().name, n("d"));
        assert!(z.delegation_above(&n("ns")).is_none());
        assert!(z.delegation_above(&o).is_none());
        assert_eq!(z.record_count(), 6);
    }
}
