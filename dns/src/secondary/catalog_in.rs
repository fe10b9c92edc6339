//! A catalog zone read by a consumer (RFC 9432 5): one version of the
//! catalog in, the member set's changes out. Pure: the secondary
//! ([`super::catalog_follow`]) follows and drops the zones.
//!
//! - Members (RFC 9432 4.1) are `<unique-N>.zones.<catalog> PTR <member>`;
//!   the `unique-N` label is the member's id, kept to see a member whose id
//!   changed (5.4: its state is reset, 5.6).
//! - A catalog without `version.<catalog> TXT "2"` (4.2.1), with more than
//!   one PTR at a member node (4.1) or at a `coo` property (4.3.1) is
//!   broken: it is not processed, the members stay as they were.
//! - Properties honoured: none changes what we do. `group` (4.3.2) is
//!   ignored: every member is followed the same way, from the catalog's
//!   primary with its key. `coo` (4.3.1) is checked for shape only: we
//!   consume one catalog, so a member that leaves it is dropped wherever
//!   its `coo` points (5.5 migrates only between catalogs one consumes).
//! - Clashes (5.2): a member named like a zone configured otherwise (a
//!   key of its own), like the catalog itself, the root, or listed twice,
//!   is ignored, the existing instance kept.

use crate::name::Name;
use crate::rtype::{PTR, TXT};
use crate::zone::Zone;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::fmt;

/// The only catalog schema version we process (RFC 9432 4.2.1).
const VERSION_TXT: &[u8] = b"\x012";

/// One member: its zone and its id (the `unique-N` label, lower case).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    pub id: Vec<u8>,
    pub zone: Name,
}

/// Why a catalog version is not processed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Broken {
    /// `version.<catalog>` is missing or not exactly one TXT "2".
    Version,
    /// A member node or a `coo` property with more than one PTR.
    Ptrs(Name),
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broken::Version => f.write_str("no version.CATALOG TXT \"2\" (RFC 9432 4.2.1)"),
            Broken::Ptrs(n) => write!(f, "more than one PTR at {n} (RFC 9432 4.1)"),
        }
    }
}

/// The member list of one catalog version, in the catalog's node order.
pub fn read(cat: &Zone) -> Result<Vec<Member>, Broken> {
    let origin = &cat.origin;
    let version = Name::parse("version", origin).map_err(|_| Broken::Version)?;
    let txt = cat.node(&version).and_then(|n| n.get(TXT));
    if !txt.is_some_and(|t| t.rdatas.len() == 1 && t.rdatas.first() == Some(VERSION_TXT)) {
        return Err(Broken::Version);
    }
    let Ok(zones) = Name::parse("zones", origin) else {
        return Ok(Vec::new());
    };
    let mut members = Vec::new();
    for node in cat.nodes() {
        let Some(ptr) = node.get(PTR) else { continue };
        let name = node.name();
        let Some(rel) = name.strip_suffix(&zones) else {
            continue;
        };
        let labels: Vec<&[u8]> = rel.labels().collect();
        let coo = labels.len() == 2 && labels[0].eq_ignore_ascii_case(b"coo");
        if (labels.len() == 1 || coo) && ptr.rdatas.len() != 1 {
            return Err(Broken::Ptrs(name));
        }
        let target = ptr.rdatas.first().and_then(Name::from_wire);
        if let (1, Some(zone)) = (labels.len(), target) {
            let id = labels[0].to_ascii_lowercase();
            members.push(Member { id, zone });
        }
    }
    Ok(members)
}

/// What a new catalog version changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// New members: follow them.
    pub added: Vec<Name>,
    /// Gone from the catalog: stop serving them, drop their data (5.3).
    pub removed: Vec<Name>,
    /// Listed under another id: drop, then follow afresh (5.4, 5.6).
    pub reset: Vec<Name>,
    /// Ignored members (5.2): named like the catalog, the root, a zone
    /// configured otherwise, or another member.
    pub clashes: Vec<Name>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.reset.is_empty()
    }
}

/// The consumer of one catalog: its name and the members applied last.
pub struct Consumer {
    pub name: Name,
    /// Member zone key -> member.
    members: BTreeMap<Vec<u8>, Member>,
}

impl Consumer {
    pub fn new(name: Name) -> Consumer {
        Consumer {
            name,
            members: BTreeMap::new(),
        }
    }

    /// Is `zone` a member we follow?
    pub fn has(&self, zone: &Name) -> bool {
        self.members.contains_key(&zone.key()[..])
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Take up catalog version `cat`: the member set's changes, or why
    /// the version is broken (the members stay). `other(zone)`: is a zone
    /// that is not a member configured otherwise?
    pub fn apply(&mut self, cat: &Zone, other: &dyn Fn(&Name) -> bool) -> Result<Changes, Broken> {
        let listed = read(cat)?;
        let mut next: BTreeMap<Vec<u8>, Member> = BTreeMap::new();
        let mut ch = Changes::default();
        for m in listed {
            let key = m.zone.key().to_vec();
            let ours = self.members.get(&key);
            let foreign = ours.is_none() && other(&m.zone);
            if m.zone.is_root() || m.zone.is_at_or_below(&self.name) || foreign {
                ch.clashes.push(m.zone);
                continue;
            }
            match next.get(&key) {
                // Listed twice: the instance we had wins (5.2), else the first.
                Some(first) if ours.is_none_or(|o| o.id != m.id || o.id == first.id) => {
                    ch.clashes.push(m.zone);
                }
                Some(_) => {
                    ch.clashes.push(m.zone.clone());
                    next.insert(key, m);
                }
                None => {
                    next.insert(key, m);
                }
            }
        }
        for (key, old) in &self.members {
            match next.get(key) {
                None => ch.removed.push(old.zone.clone()),
                Some(new) if new.id != old.id => ch.reset.push(new.zone.clone()),
                Some(_) => {}
            }
        }
        let added = next.iter().filter(|(k, _)| !self.members.contains_key(*k));
        ch.added = added.map(|(_, m)| m.zone.clone()).collect();
        self.members = next;
        Ok(ch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{member_id, Catalog};
    use crate::zone::parser::parse_str;
    use alloc::format;
    use alloc::string::String;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    const HEAD: &str = "$ORIGIN cat.example.\n@ 0 SOA invalid. invalid. 1 3600 600 2147483646 0\n@ 0 NS invalid.\n";

    /// A catalog of `body` (relative names) with version "2".
    fn cat(body: &str) -> Zone {
        let t = format!("{HEAD}version 0 TXT \"2\"\n{body}");
        let o = n("cat.example.");
        Zone::from_records(o.clone(), &parse_str("c", &t, &o).unwrap().records)
    }

    fn names(v: &[Name]) -> Vec<String> {
        v.iter().map(|z| z.to_text()).collect()
    }

    #[test]
    fn the_producers_catalog_reads_back() {
        let mut p = Catalog::new(n("catalog.invalid."));
        let zones = [n("a.test."), n("B.test.")];
        let z = p.update(zones.iter(), 1000).unwrap();
        let mut got = read(&z).unwrap();
        got.sort_by_key(|m| m.zone.key());
        let ids: Vec<Vec<u8>> = zones.iter().map(|z| member_id(z).into_bytes()).collect();
        assert_eq!(
            got,
            [
                Member {
                    id: ids[0].clone(),
                    zone: n("a.test.")
                },
                Member {
                    id: ids[1].clone(),
                    zone: n("b.test.")
                }
            ]
        );
    }

    #[test]
    fn broken_catalogs_are_not_processed() {
        let o = n("cat.example.");
        let no_version = Zone::from_records(
            o.clone(),
            &parse_str("c", &format!("{HEAD}m1.zones 0 PTR a.test.\n"), &o)
                .unwrap()
                .records,
        );
        assert_eq!(read(&no_version), Err(Broken::Version));
        let v1 = format!("{HEAD}version 0 TXT \"1\"\n");
        let v1 = Zone::from_records(o.clone(), &parse_str("c", &v1, &o).unwrap().records);
        assert_eq!(read(&v1), Err(Broken::Version));
        let two = cat("m1.zones 0 PTR a.test.\nm1.zones 0 PTR b.test.\n");
        assert_eq!(read(&two), Err(Broken::Ptrs(n("m1.zones.cat.example."))));
        let coo = cat("m1.zones 0 PTR a.test.\ncoo.m1.zones 0 PTR x.\ncoo.m1.zones 0 PTR y.\n");
        assert!(matches!(read(&coo), Err(Broken::Ptrs(_))));
        // A broken version leaves the members as they were.
        let mut c = Consumer::new(o);
        c.apply(&cat("m1.zones 0 PTR a.test.\n"), &|_| false)
            .unwrap();
        assert!(c.apply(&two, &|_| false).is_err());
        assert!(c.has(&n("a.test.")) && c.len() == 1);
    }

    #[test]
    fn properties_and_other_names_are_not_members() {
        let c = cat("m1.zones 0 PTR a.test.\ngroup.m1.zones 0 TXT \"g\"\ncoo.m1.zones 0 PTR other.example.\next 0 PTR x.test.\nm2.zones 0 TXT \"no ptr\"\nzones 0 PTR y.test.\n");
        let got = read(&c).unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(
            (got[0].zone.to_text(), &got[0].id[..]),
            ("a.test.".into(), &b"m1"[..])
        );
    }

    #[test]
    fn added_removed_and_reset() {
        let mut c = Consumer::new(n("cat.example."));
        let ch = c
            .apply(
                &cat("m1.zones 0 PTR a.test.\nM2.zones 0 PTR b.test.\n"),
                &|_| false,
            )
            .unwrap();
        assert_eq!(names(&ch.added), ["a.test.", "b.test."]);
        assert!(ch.removed.is_empty() && ch.reset.is_empty());
        // The same list, ids in another case: nothing.
        let ch = c
            .apply(
                &cat("M1.zones 0 PTR A.test.\nm2.zones 0 PTR b.test.\n"),
                &|_| false,
            )
            .unwrap();
        assert!(ch.is_empty(), "{ch:?}");
        // b.test leaves, a.test gets another id, c.test comes.
        let ch = c
            .apply(
                &cat("m9.zones 0 PTR a.test.\nm3.zones 0 PTR c.test.\n"),
                &|_| false,
            )
            .unwrap();
        assert_eq!(names(&ch.added), ["c.test."]);
        assert_eq!(names(&ch.removed), ["b.test."]);
        assert_eq!(names(&ch.reset), ["a.test."]);
        assert!(c.has(&n("c.test.")) && !c.has(&n("b.test.")) && c.len() == 2);
    }

    #[test]
    fn clashes_keep_the_existing_instance() {
        let mut c = Consumer::new(n("cat.example."));
        let fixed = |z: &Name| *z == n("mine.test.");
        let ch = c
            .apply(
                &cat("m1.zones 0 PTR a.test.\nm2.zones 0 PTR mine.test.\nm3.zones 0 PTR cat.example.\nm4.zones 0 PTR .\nm5.zones 0 PTR x.cat.example.\n"),
                &fixed,
            )
            .unwrap();
        assert_eq!(names(&ch.added), ["a.test."]);
        assert_eq!(
            names(&ch.clashes),
            ["mine.test.", "cat.example.", ".", "x.cat.example."]
        );
        // a.test listed again under a new id beside its old one: the
        // existing instance stays, whichever comes first in the catalog.
        for body in [
            "m0.zones 0 PTR a.test.\nm1.zones 0 PTR a.test.\n",
            "m1.zones 0 PTR a.test.\nm8.zones 0 PTR a.test.\n",
        ] {
            let ch = c.apply(&cat(body), &fixed).unwrap();
            assert!(ch.is_empty(), "{body}: {ch:?}");
            assert_eq!(names(&ch.clashes), ["a.test."]);
        }
        // A new zone listed twice: the first one.
        let ch = c
            .apply(
                &cat("m1.zones 0 PTR a.test.\nn1.zones 0 PTR b.test.\nn2.zones 0 PTR b.test.\n"),
                &fixed,
            )
            .unwrap();
        assert_eq!(names(&ch.added), ["b.test."]);
        let ch = c
            .apply(
                &cat("m1.zones 0 PTR a.test.\nn1.zones 0 PTR b.test.\n"),
                &fixed,
            )
            .unwrap();
        assert!(ch.is_empty(), "n1 was kept: {ch:?}");
    }
}
