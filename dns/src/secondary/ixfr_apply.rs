//! Applying the differences of an IXFR (RFC 1995 4) to the zone in place:
//! for each version, from the serial the zone has, delete the RRs the
//! primary deleted (each must be there, or our copy is not the version the
//! primary thinks we have, and the caller falls back to AXFR), add the
//! added ones, and put the new SOA. All or nothing: every node is saved
//! before its first change and put back when a later step fails, so a
//! bad IXFR leaves the zone as it was. No copy of the zone is made.

use crate::journal::Diff;
use crate::name::Name;
use crate::rtype::SOA;
use crate::zone::{Saved, Zone};
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

/// Why the differences do not apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApplyError {
    /// The zone is at `have`; the next difference starts from `from`.
    NotFrom { have: Option<u32>, from: u32 },
    /// A deleted RR is not in the zone.
    Missing { owner: Name, rtype: u16 },
    /// A record outside the zone, or a SOA among the changes.
    Misplaced { owner: Name, rtype: u16 },
}

/// The nodes saved before their first change.
struct Undo {
    saved: Vec<Saved>,
    keys: BTreeSet<Vec<u8>>,
}

impl Undo {
    fn save(&mut self, z: &Zone, owner: &Name) -> bool {
        let Some(s) = z.save(owner) else {
            return false;
        };
        if self.keys.insert(s.key().to_vec()) {
            self.saved.push(s);
        }
        true
    }
}

/// Apply `diffs` to `zone`. On success, the nodes as they were before
/// (for [`crate::journal::Journal::record_saved`], so the zone can serve
/// IXFR onwards); on failure the zone is unchanged.
pub fn apply(zone: &mut Zone, diffs: &[Diff]) -> Result<Vec<Saved>, ApplyError> {
    let mut undo = Undo {
        saved: Vec::new(),
        keys: BTreeSet::new(),
    };
    let origin = zone.origin.clone();
    undo.save(zone, &origin);
    for d in diffs {
        if let Err(e) = one(zone, d, &mut undo) {
            for s in &undo.saved {
                zone.restore(s);
            }
            return Err(e);
        }
    }
    Ok(undo.saved)
}

fn one(zone: &mut Zone, d: &Diff, undo: &mut Undo) -> Result<(), ApplyError> {
    if zone.serial() != Some(d.from) {
        return Err(ApplyError::NotFrom {
            have: zone.serial(),
            from: d.from,
        });
    }
    let misplaced = |owner: &Name, rtype| ApplyError::Misplaced {
        owner: owner.clone(),
        rtype,
    };
    for r in &d.deleted {
        if r.rtype == SOA || !undo.save(zone, &r.owner) {
            return Err(misplaced(&r.owner, r.rtype));
        }
        let there = zone
            .node(&r.owner)
            .and_then(|n| n.get(r.rtype))
            .is_some_and(|s| s.rdatas.contains(&r.rdata));
        if !there {
            return Err(ApplyError::Missing {
                owner: r.owner.clone(),
                rtype: r.rtype,
            });
        }
        zone.delete_rr(&r.owner, r.rtype, &r.rdata);
    }
    for r in &d.added {
        if r.rtype == SOA || !undo.save(zone, &r.owner) {
            return Err(misplaced(&r.owner, r.rtype));
        }
        zone.add_rr(&r.owner, r.rtype, r.ttl, &r.rdata, false);
    }
    let origin = zone.origin.clone();
    let (ttl, rdata) = (&d.new_soa.0, &d.new_soa.1);
    zone.replace_rrset(&origin, SOA, *ttl, &[rdata.as_slice()]);
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::journal;
    use crate::zone::parser::parse_str;
    use alloc::format;

    pub(crate) fn origin() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    /// example.org at `serial` with `body` besides the apex and `ns`.
    pub(crate) fn zone(serial: u32, body: &str) -> Zone {
        let t = format!(
            "$TTL 60\n@ SOA ns hm {serial} 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\n{body}"
        );
        let p = parse_str("z", &t, &origin()).unwrap();
        Zone::from_records(origin(), &p.records)
    }

    #[test]
    fn a_chain_of_versions_applies_to_the_primary_s_zone() {
        let v1 = zone(1, "a A 192.0.2.10\nb TXT \"x\"\n");
        let v2 = zone(2, "a A 192.0.2.11\nb TXT \"x\"\nc A 192.0.2.12\n");
        let v3 = zone(3, "a A 192.0.2.11\nc A 192.0.2.12\nc AAAA ::1\n");
        let d = [
            journal::diff(&v1, &v2).unwrap(),
            journal::diff(&v2, &v3).unwrap(),
        ];
        let mut z = v1.clone();
        let saved = apply(&mut z, &d).unwrap();
        assert_eq!(z, v3);
        assert_eq!(z.serial(), Some(3));
        // The saved nodes give the journal the whole change.
        let mut j = journal::Journal::default();
        j.record_saved(&z, &saved);
        assert_eq!(j.chain(1, 3).map(|c| c.len()), Some(1));
    }

    #[test]
    fn a_diff_that_does_not_fit_leaves_the_zone_as_it_was() {
        let v1 = zone(1, "a A 192.0.2.10\n");
        let v2 = zone(2, "a A 192.0.2.11\nnew A 192.0.2.99\n");
        let v3 = zone(3, "a A 192.0.2.12\n");
        let good = journal::diff(&v1, &v2).unwrap();
        // Deletes an RR we do not have (our copy is not the primary's v2).
        let mut bad = journal::diff(&v2, &v3).unwrap();
        bad.deleted[0].rdata = alloc::vec![10, 9, 9, 9];
        let mut z = v1.clone();
        let e = apply(&mut z, &[good.clone(), bad]).unwrap_err();
        assert!(matches!(e, ApplyError::Missing { .. }), "{e:?}");
        assert_eq!(z, v1, "first version rolled back too");
        // Wrong starting serial.
        let mut z = v2.clone();
        assert_eq!(
            apply(&mut z, core::slice::from_ref(&good)),
            Err(ApplyError::NotFrom {
                have: Some(2),
                from: 1
            })
        );
        assert_eq!(z, v2);
        // A record outside the zone.
        let mut out = good;
        out.added[0].owner = Name::parse("elsewhere.example.", &Name::root()).unwrap();
        let mut z = v1.clone();
        assert!(matches!(
            apply(&mut z, &[out]),
            Err(ApplyError::Misplaced { .. })
        ));
        assert_eq!(z, v1);
    }

    #[test]
    fn serial_wraps_through_zero() {
        let v1 = zone(u32::MAX, "a A 192.0.2.10\n");
        let v2 = zone(5, "a A 192.0.2.11\n");
        let mut z = v1.clone();
        apply(&mut z, &[journal::diff(&v1, &v2).unwrap()]).unwrap();
        assert_eq!(z, v2);
    }
}
