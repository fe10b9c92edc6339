//! The IXFR history of a zone (RFC 1995): the differences between
//! successive versions, from UPDATEs and reloads, bounded in count and
//! size. A change the history cannot describe (serial not rising, a diff
//! too large) clears it; IXFR then falls back to the whole zone.

use crate::name::Name;
use crate::rtype::SOA;
use crate::zone::{Saved, Zone};
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

    /// Record the change an in-place UPDATE made to `z`, whose nodes
    /// before it are `saved` (no walk over the whole zone).
    pub fn record_saved(&mut self, z: &Zone, saved: &[Saved]) {
        self.push(diff_saved(z, saved))
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

/// [`diff`] from the version of `z` whose nodes at the keys of `saved`
/// (the apex among them) were as saved, in canonical order. None without
/// SOAs.
pub fn diff_saved(z: &Zone, saved: &[Saved]) -> Option<Diff> {
    let apex = saved
        .iter()
        .find(|s| s.key().is_empty())
        .and_then(|s| z.saved_node(s))?;
    let old = apex.get(SOA)?;
    let rd = old.rdatas.first()?;
    let mut r = crate::wire::Reader::new(rd);
    r.name().ok()?;
    r.name().ok()?;
    let from = r.u32().ok()?;
    let new = z.soa()?;
    let mut d = Diff {
        from,
        to: z.serial()?,
        old_soa: (old.ttl, rd.to_vec()),
        new_soa: (new.ttl, new.rdatas.first()?.to_vec()),
        deleted: Vec::new(),
        added: Vec::new(),
    };
    let mut order: Vec<&Saved> = saved.iter().collect();
    order.sort_by(|a, b| a.key().cmp(b.key()));
    for s in order {
        node_diff(z.saved_node(s), z.current(s), &mut d);
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
        let other = sb.iter().find(|o| o.same_set(s));
        for rd in s.rdatas {
            if other.is_none_or(|o| o.ttl != s.ttl || !o.rdatas.contains(rd)) {
                push(&mut d.deleted, s.rtype, s.ttl, rd);
            }
        }
    }
    for s in sb.iter().filter(|s| s.rtype != SOA) {
        let other = sa.iter().find(|o| o.same_set(s));
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
    fn the_diff_of_an_update_in_place_is_the_whole_diff() {
        use crate::update::{apply_in_place, parse};
        let a = zone(V1);
        let mut b = a.clone();
        // UPDATE example.org: add www A 192.0.2.3, delete old, add new.
        let name = |s: &str| Name::parse(s, &Name::root()).unwrap().wire().to_vec();
        let mut m = alloc::vec![0, 1, 0x28, 0, 0, 1, 0, 0, 0, 3, 0, 0];
        m.extend(name("example.org."));
        m.extend([0, 6, 0, 1]);
        for (owner, class, ttl, rd) in [
            ("www.example.org.", 1u16, 60u32, &[192, 0, 2, 3][..]),
            ("old.example.org.", 255, 0, &[][..]),
            ("new.example.org.", 1, 30, &[192, 0, 2, 4][..]),
        ] {
            m.extend(name(owner));
            let rtype: u16 = if class == 255 { 255 } else { 1 };
            m.extend(rtype.to_be_bytes());
            m.extend(class.to_be_bytes());
            m.extend(ttl.to_be_bytes());
            m.extend((rd.len() as u16).to_be_bytes());
            m.extend(rd);
        }
        let saved = apply_in_place(&mut b, &parse(&m).unwrap()).unwrap();
        assert_eq!(diff_saved(&b, &saved), diff(&a, &b));
        assert_eq!(b, zone(V2), "{:?}", diff(&zone(V2), &b));
        // Undone, it is the zone it was.
        crate::update::undo(&mut b, &saved);
        assert_eq!(b, a);
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
