//! The IXFR history of a zone (RFC 1995): the differences between
//! successive versions, from UPDATEs and reloads, bounded in count and
//! size. A change the history cannot describe (serial not rising, a diff
//! too large) clears it; IXFR then falls back to the whole zone.

use crate::name::Name;
use crate::rtype::SOA;
use crate::zone::Zone;
use alloc::collections::VecDeque;
use alloc::vec::Vec;

/// One RR of a difference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiffRr {
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// From one version to the next: the SOAs of both ends and the RRs
/// deleted and added (SOAs not among them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diff {
    pub from: u32,
    pub to: u32,
    pub old_soa: (u32, Vec<u8>),
    pub new_soa: (u32, Vec<u8>),
    pub deleted: Vec<DiffRr>,
    pub added: Vec<DiffRr>,
}

/// Versions kept, and RRs in all kept diffs.
const MAX_DIFFS: usize = 32;
const MAX_RRS: usize = 100_000;

/// The bounded history of one zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Journal {
    diffs: VecDeque<Diff>,
    rrs: usize,
}

impl Journal {
    /// Record the change from `old` to `new`.
    pub fn record(&mut self, old: &Zone, new: &Zone) {
        self.push(diff(old, new))
    }

    /// Record the change from `old` to `new`, which differ only at the
    /// owner names `names` (an UPDATE's): no walk over the whole zone.
    pub fn record_at(&mut self, old: &Zone, new: &Zone, names: &[Name]) {
        self.push(diff_at(old, new, names))
    }

    fn push(&mut self, d: Option<Diff>) {
        match d {
            Some(d) if d.deleted.len() + d.added.len() <= MAX_RRS => {
                if d.from == d.to && d.deleted.is_empty() && d.added.is_empty() {
                    return;
                }
                if !crate::serial::gt(d.to, d.from) {
                    return self.clear();
                }
                self.rrs += d.deleted.len() + d.added.len();
                self.diffs.push_back(d);
                while self.diffs.len() > MAX_DIFFS || self.rrs > MAX_RRS {
                    if let Some(x) = self.diffs.pop_front() {
                        self.rrs -= x.deleted.len() + x.added.len();
                    }
                }
            }
            _ => self.clear(),
        }
    }

    /// Forget the last recorded change (an UPDATE rolled back).
    pub fn undo(&mut self) {
        if let Some(x) = self.diffs.pop_back() {
            self.rrs -= x.deleted.len() + x.added.len();
        }
    }

    pub fn clear(&mut self) {
        self.diffs.clear();
        self.rrs = 0;
    }

    /// The diffs leading from `serial` to `current`, if the history holds
    /// an unbroken chain (RFC 1995 4).
    pub fn chain(&self, serial: u32, current: u32) -> Option<Vec<&Diff>> {
        let start = self.diffs.iter().position(|d| d.from == serial)?;
        let chain: Vec<&Diff> = self.diffs.iter().skip(start).collect();
        let linked = chain.windows(2).all(|w| w[0].to == w[1].from);
        (linked && chain.last()?.to == current).then_some(chain)
    }

    pub fn len(&self) -> usize {
        self.diffs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.diffs.is_empty()
    }
}

/// The SOAs of both versions, and nothing deleted or added yet.
fn diff_head(old: &Zone, new: &Zone) -> Option<Diff> {
    let soa = |z: &Zone| -> Option<(u32, Vec<u8>)> {
        let s = z.soa()?;
        Some((s.ttl, s.rdatas.first()?.to_vec()))
    };
    Some(Diff {
        from: old.serial()?,
        to: new.serial()?,
        old_soa: soa(old)?,
        new_soa: soa(new)?,
        deleted: Vec::new(),
        added: Vec::new(),
    })
}

/// [`diff`] of versions that differ only at the owner names `names`, in
/// canonical order. None without SOAs.
pub fn diff_at(old: &Zone, new: &Zone, names: &[Name]) -> Option<Diff> {
    let mut d = diff_head(old, new)?;
    let mut keys: Vec<(crate::name::Key, &Name)> = names.iter().map(|n| (n.key(), n)).collect();
    keys.sort_by(|a, b| a.0.cmp(&b.0));
    keys.dedup_by(|a, b| a.0 == b.0);
    for (_, n) in keys {
        node_diff(old.node(n), new.node(n), &mut d);
    }
    Some(d)
}

/// The difference between two versions of a zone, by a merge walk over
/// both in canonical order. None without SOAs.
pub fn diff(old: &Zone, new: &Zone) -> Option<Diff> {
    let mut d = diff_head(old, new)?;
    let mut a = old.nodes().peekable();
    let mut b = new.nodes().peekable();
    loop {
        match (a.peek().copied(), b.peek().copied()) {
            (None, None) => break,
            (Some(na), Some(nb)) if na.key() == nb.key() => {
                node_diff(Some(na), Some(nb), &mut d);
                a.next();
                b.next();
            }
            (Some(na), Some(nb)) if na.key() < nb.key() => {
                node_diff(Some(na), None, &mut d);
                a.next();
            }
            (Some(na), None) => {
                node_diff(Some(na), None, &mut d);
                a.next();
            }
            (_, Some(nb)) => {
                node_diff(None, Some(nb), &mut d);
                b.next();
            }
        }
    }
    Some(d)
}

/// RRs of `a` not in `b` are deleted, of `b` not in `a` added; a TTL
/// change replaces the whole RRset.
fn node_diff(a: Option<crate::zone::Node>, b: Option<crate::zone::Node>, d: &mut Diff) {
    fn sets(n: Option<crate::zone::Node<'_>>) -> Vec<crate::zone::RRset<'_>> {
        n.map(|n| n.rrsets().collect()).unwrap_or_default()
    }
    let (sa, sb) = (sets(a), sets(b));
    let owner = a.or(b).map(|n| n.name());
    let Some(owner) = owner else { return };
    let push = |out: &mut Vec<DiffRr>, t: u16, ttl: u32, rd: &[u8]| {
        out.push(DiffRr {
            owner: owner.clone(),
            rtype: t,
            ttl,
            rdata: rd.to_vec(),
        })
    };
    for s in sa.iter().filter(|s| s.rtype != SOA) {
        let other = sb.iter().find(|o| o.rtype == s.rtype);
        for rd in s.rdatas {
            if other.is_none_or(|o| o.ttl != s.ttl || !o.rdatas.contains(rd)) {
                push(&mut d.deleted, s.rtype, s.ttl, rd);
            }
        }
    }
    for s in sb.iter().filter(|s| s.rtype != SOA) {
        let other = sa.iter().find(|o| o.rtype == s.rtype);
        for rd in s.rdatas {
            if other.is_none_or(|o| o.ttl != s.ttl || !o.rdatas.contains(rd)) {
                push(&mut d.added, s.rtype, s.ttl, rd);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;

    fn zone(text: &str) -> Zone {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str("z", text, &o).unwrap();
        Zone::from_records(o, &p.records)
    }

    const V1: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nold A 192.0.2.9\n";
    const V2: &str = "$TTL 60\n@ SOA ns hm 2 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nwww A 192.0.2.3\nnew 30 A 192.0.2.4\n";
    const V3: &str = "$TTL 60\n@ SOA ns hm 3 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww 90 A 192.0.2.2\nwww 90 A 192.0.2.3\nnew 30 A 192.0.2.4\n";

    #[test]
    fn a_diff_at_the_changed_names_is_the_whole_diff() {
        let (a, b, c) = (zone(V1), zone(V2), zone(V3));
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let n = |s: &str| Name::parse(s, &o).unwrap();
        // Unchanged, repeated and out-of-order names change nothing.
        let names = [n("www"), n("ns"), n("old"), n("new"), n("www"), o.clone()];
        assert_eq!(diff_at(&a, &b, &names), diff(&a, &b));
        assert_eq!(diff_at(&b, &c, &names), diff(&b, &c));
        // A name left out is a change left out.
        assert_ne!(diff_at(&a, &b, &[n("www")]), diff(&a, &b));
    }

    #[test]
    fn diffs_name_exactly_what_changed() {
        let d = diff(&zone(V1), &zone(V2)).unwrap();
        assert_eq!((d.from, d.to), (1, 2));
        let names = |v: &[DiffRr]| -> Vec<alloc::string::String> {
            v.iter().map(|r| r.owner.to_text()).collect()
        };
        assert_eq!(names(&d.deleted), ["old.example.org."]);
        assert_eq!(names(&d.added), ["new.example.org.", "www.example.org."]);
        // A TTL change replaces the RRset.
        let d = diff(&zone(V2), &zone(V3)).unwrap();
        assert_eq!(d.deleted.len(), 2);
        assert_eq!(d.added.len(), 2);
        assert!(d.added.iter().all(|r| r.ttl == 90));
    }

    #[test]
    fn chains_rollback_and_breaks() {
        let (z1, z2, z3) = (zone(V1), zone(V2), zone(V3));
        let mut j = Journal::default();
        j.record(&z1, &z2);
        j.record(&z2, &z3);
        assert_eq!(j.chain(1, 3).map(|c| c.len()), Some(2));
        assert_eq!(j.chain(2, 3).map(|c| c.len()), Some(1));
        assert!(j.chain(3, 3).is_none(), "current: no diffs to send");
        assert!(j.chain(7, 3).is_none(), "unknown serial");
        j.undo();
        assert!(j.chain(1, 3).is_none());
        assert_eq!(j.chain(1, 2).map(|c| c.len()), Some(1));
        // A serial that goes back clears the history.
        j.record(&z2, &z1);
        assert!(j.is_empty());
    }
}
