//! Zones kept signed after their load (issue 26): the [`Signer`] of each
//! zone the appliance signed stays beside the zone (`Signers`, in the
//! [`ZoneSet`]); an UPDATE's change is signed into the zone at its own
//! serial before it is served ([`sign_update`]), and signatures are
//! refreshed before they expire ([`refresh`], RFC 6781 4.4.2) in a new
//! version of the zone (serial raised, the change in the IXFR history).
//! Only the names the signer changed are written into the served zone.
//! Time (seconds since the epoch) is passed in.

use super::signer::Signer;
use crate::name::Name;
use crate::rtype::{IN, NSEC, NSEC3, NSEC3PARAM, RRSIG, SOA};
use crate::zone::parser::Record;
use crate::zone::{Saved, Zone};
use crate::zoneset::ZoneSet;
use alloc::vec::Vec;

/// Types the signer makes itself (never taken from the zone's records).
fn generated(t: u16) -> bool {
    matches!(t, RRSIG | NSEC | NSEC3 | NSEC3PARAM)
}

fn record(name: &Name, rtype: u16, ttl: u32, rdata: &[u8]) -> Record {
    Record {
        name: name.clone(),
        rtype,
        class: IN,
        ttl,
        rdata: rdata.to_vec(),
        file: 0,
        line: 0,
        col: 0,
    }
}

/// The records at `name` the signer signs (not the ones it makes), from
/// the zone.
fn zone_records(z: &Zone, name: &Name) -> Vec<Record> {
    let Some(node) = z.node(name) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for set in node.rrsets().filter(|s| !generated(s.rtype)) {
        for rd in set.rdatas.iter() {
            out.push(record(name, set.rtype, set.ttl, rd));
        }
    }
    out
}

/// The same from the signer.
fn signer_records(s: &Signer, name: &Name) -> Vec<Record> {
    let mut out = Vec::new();
    s.for_each_at(name, &mut |r| {
        if !generated(r.rtype) {
            out.push(record(name, r.rtype, r.ttl, r.rdata));
        }
    });
    out
}

/// Write the signer's records at `owners` into `z` (each node replaced
/// whole); the nodes as they were.
fn write(z: &mut Zone, s: &Signer, owners: &[Name]) -> Vec<Saved> {
    let mut saved = Vec::with_capacity(owners.len());
    for name in owners {
        let Some(before) = z.save(name) else {
            continue;
        };
        let mut rrs: Vec<(u16, u32, Vec<u8>)> = Vec::new();
        s.for_each_at(name, &mut |r| rrs.push((r.rtype, r.ttl, r.rdata.to_vec())));
        let view: Vec<(u16, u32, &[u8])> = rrs.iter().map(|(t, l, d)| (*t, *l, &d[..])).collect();
        z.replace_node(name, &view);
        if !z.unchanged(&before) {
            saved.push(before);
        }
    }
    saved
}

fn merge(mut a: Vec<Name>, b: Vec<Name>) -> Vec<Name> {
    for n in b {
        if !a.contains(&n) {
            a.push(n);
        }
    }
    a
}

/// An UPDATE changed zone `origin` at the names `names` (the apex with
/// its SOA among them) and was kept, its nodes as they were `earlier`:
/// sign the change (RFC 4035 2: the changed RRsets, the NSEC or NSEC3
/// records around them, the SOA) and anything due for refresh, in the
/// same version of the zone. Nothing when the zone is not signed here.
pub fn sign_update(zs: &mut ZoneSet, origin: &Name, names: &[Name], earlier: &[Saved], now: u64) {
    let Some(mut kept) = zs.signers.take(origin) else {
        return;
    };
    let Some(z) = zs.zone(origin) else {
        return;
    };
    let (mut removed, mut added) = (Vec::new(), Vec::new());
    for name in names {
        let (was, is) = (signer_records(&kept.signer, name), zone_records(z, name));
        removed.extend(was.iter().filter(|r| !is.contains(r)).cloned());
        added.extend(is.iter().filter(|r| !was.contains(r)).cloned());
    }
    let changed = kept.signer.change(&removed, &added, now);
    let owners = merge(changed, kept.signer.refresh(now));
    let s = &kept.signer;
    zs.amend_in_place(origin, earlier, |z| write(z, s, &owners));
    zs.signers.put(origin, kept, now);
}

/// Refresh the signatures of every zone due at `now` (RFC 6781 4.4.2):
/// each in a new version (the serial raised, RFC 1982), recorded in its
/// IXFR history. The zones refreshed, with their serials before and after.
pub fn refresh(zs: &mut ZoneSet, now: u64) -> Vec<(Name, u32, u32)> {
    let due = zs.signers.due_at(now);
    let mut out = Vec::new();
    for origin in due {
        let Some(mut kept) = zs.signers.take(&origin) else {
            continue;
        };
        if let Some(serials) = refresh_zone(zs, &origin, &mut kept.signer, now) {
            out.push(serials);
        }
        zs.signers.put(&origin, kept, now);
    }
    out
}

fn refresh_zone(
    zs: &mut ZoneSet,
    origin: &Name,
    s: &mut Signer,
    now: u64,
) -> Option<(Name, u32, u32)> {
    let z = zs.zone(origin)?;
    let soa = z.soa()?;
    let (ttl, old) = (soa.ttl, soa.rdatas.first()?.to_vec());
    let from = z.serial()?;
    let to = crate::serial::next(from);
    let mut new = old.clone();
    let at = new.len().checked_sub(20)?;
    new[at..at + 4].copy_from_slice(&to.to_be_bytes());
    let changed = s.change(
        &[record(origin, SOA, ttl, &old)],
        &[record(origin, SOA, ttl, &new)],
        now,
    );
    let owners = merge(changed, s.refresh(now));
    zs.edit_in_place(origin, |z| Ok::<_, ()>(write(z, s, &owners)))?
        .ok()?;
    Some((origin.clone(), from, to))
}

/// The UPDATE (RFC 2136 2) that raises zone `origin`'s SOA to `rdata`
/// (TTL `ttl`): how a refresh's new version is written to the storage
/// journal, so the UPDATEs after it replay at the serials they were made at.
pub fn soa_update(origin: &Name, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut m = alloc::vec![0, 0, 0x28, 0, 0, 1, 0, 0, 0, 1, 0, 0];
    m.extend_from_slice(origin.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    m.extend_from_slice(origin.wire());
    m.extend_from_slice(&[0, 6, 0, 1]);
    m.extend_from_slice(&ttl.to_be_bytes());
    m.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    m.extend_from_slice(rdata);
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::zone_sign;
    use crate::lookup::{lookup, AnyPolicy};
    use crate::rtype::{A, TXT};
    use alloc::string::{String, ToString};

    const NOW: u64 = 1_796_000_000;
    const ZONE: &str = "$TTL 3600\n@ SOA ns1 hm 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.3\n";
    const POLICY: &str = "validity 60\nrefresh 20\njitter 5\ninception 5\n";

    fn f(name: &str, text: &str) -> (String, Vec<u8>) {
        (name.to_string(), text.as_bytes().to_vec())
    }

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    /// The zone loaded and signed at NOW with a 60 s validity.
    fn signed() -> ZoneSet {
        let mut c = 0u8;
        let mut random = |b: &mut [u8]| {
            c += 1;
            b.fill(c)
        };
        let files = [f("example.org", ZONE), f("example.org._dnssec", POLICY)];
        let keys = zone_sign::setup(&files, "example.org", NOW, &mut random)
            .unwrap()
            .unwrap()
            .keys_made
            .unwrap();
        let files = [&files[..], &[f("example.org._dnssec_keys", &keys)]].concat();
        let (mut zs, _) = ZoneSet::load(&files, None);
        for r in zone_sign::sign_zones(&mut zs, &files, NOW, 3) {
            r.unwrap();
        }
        zs
    }

    /// The earliest expiration of the RRSIGs served in zone `o`.
    fn earliest(zs: &ZoneSet, o: &Name, now: u64) -> u64 {
        let z = zs.zone(o).unwrap();
        z.nodes()
            .flat_map(|n| n.rrsets().collect::<Vec<_>>())
            .filter(|s| s.rtype == RRSIG)
            .flat_map(|s| {
                s.rdatas
                    .iter()
                    .map(|rd| crate::dnssec::canon::expiration(rd, now))
                    .collect::<Vec<_>>()
            })
            .min()
            .unwrap()
    }

    #[test]
    fn refresh_comes_before_expiry_raises_the_serial_and_keeps_ixfr() {
        let mut zs = signed();
        let o = n("example.org.");
        assert!(zs.signers.signs(&o));
        let due = zs.signers.next_due().unwrap();
        assert!(due > NOW + 30 && due <= NOW + 40, "{due}");
        assert!(refresh(&mut zs, due - 1).is_empty(), "nothing before due");
        let mut now = NOW;
        // Three validities with a refresh each time one is due: the
        // signatures served never come within 20 s of expiring.
        while now < NOW + 180 {
            now = zs.signers.next_due().unwrap();
            let done = refresh(&mut zs, now);
            assert_eq!(done.len(), 1);
            assert!(earliest(&zs, &o, now) > now + 20, "at {now}");
        }
        let serial = zs.zone(&o).unwrap().serial().unwrap();
        assert!(serial >= 4, "{serial}");
        // The journal's record of a refresh replays to its serial.
        let soa = zs.zone(&o).unwrap().soa().unwrap();
        let msg = soa_update(&o, soa.ttl, soa.rdatas.first().unwrap());
        let (mut plain, _) = ZoneSet::load(&[f("example.org", ZONE)], None);
        assert_eq!(plain.replay_update(&msg, 1, serial), Ok(o.clone()));
        let chain = zs.journal(&o).unwrap().chain(1, serial).unwrap();
        assert_eq!(chain.len() as u32, serial - 1);
        assert!(chain
            .iter()
            .all(|d| d.added.iter().any(|r| r.rtype == RRSIG)));
    }

    #[test]
    fn a_broken_key_file_keeps_the_last_good_signed_version() {
        let prev = signed();
        let o = n("example.org.");
        let files = [
            f("example.org", &ZONE.replace("192.0.2.3", "192.0.2.4")),
            f("example.org._dnssec", POLICY),
            f("example.org._dnssec_keys", "csk 13 1 AA==\n"),
        ];
        let (zs, rep) = ZoneSet::load_then(&files, Some(&prev), |zs, _| {
            let done = zone_sign::sign_zones(zs, &files, NOW + 5, 3);
            assert!(done[0].is_err(), "{done:?}");
        });
        assert!(
            rep.warnings
                .iter()
                .any(|w| w.contains("keeping the last good signed version")),
            "{rep:?}"
        );
        let (a, b) = (zs.shared(&o).unwrap(), prev.shared(&o).unwrap());
        assert!(
            alloc::sync::Arc::ptr_eq(&a, &b),
            "the signed version served before"
        );
        assert!(zs.signers.signs(&o), "and kept signed");
        // A zone never signed before is served as loaded.
        let (zs, _) = ZoneSet::load_then(&files, Some(&ZoneSet::default()), |zs, _| {
            zone_sign::sign_zones(zs, &files, NOW + 5, 3);
        });
        assert!(!crate::dnssec::signed_offline(zs.zone(&o).unwrap()));
    }

    #[test]
    fn an_update_is_served_signed_with_its_proofs() {
        let mut zs = signed();
        let o = n("example.org.");
        let mail = n("mail.example.org.");
        let www = n("www.example.org.");
        // The UPDATE's edits, as update::apply_in_place makes them.
        let names = [mail.clone(), www.clone(), o.clone()];
        let earlier: Vec<Saved> = names
            .iter()
            .map(|x| zs.zone(&o).unwrap().save(x).unwrap())
            .collect();
        zs.edit_in_place(&o, |z| {
            z.add_rr(&mail, TXT, 60, b"\x02hi", false);
            z.delete_name(&www, &[]);
            z.set_serial(2);
            Ok::<_, ()>(earlier.clone())
        });
        sign_update(&mut zs, &o, &names, &earlier, NOW + 1);
        let a = lookup(&zs, &mail, TXT, AnyPolicy::One, true).unwrap();
        let types: Vec<u16> = a.answer.iter().map(|x| x.rtype).collect();
        assert_eq!(types, [TXT, RRSIG]);
        let gone = lookup(&zs, &www, A, AnyPolicy::One, true).unwrap();
        assert_eq!(gone.rcode, 3);
        let auth: Vec<u16> = gone.authority.iter().map(|x| x.rtype).collect();
        assert!(auth.contains(&NSEC) && auth.contains(&RRSIG), "{auth:?}");
        // One version in the history: 1 -> 2, with the new signatures.
        let chain = zs.journal(&o).unwrap().chain(1, 2).unwrap();
        assert_eq!(chain.len(), 1);
        assert!(chain[0]
            .added
            .iter()
            .any(|r| r.rtype == RRSIG && r.owner == mail));
        assert!(chain[0]
            .deleted
            .iter()
            .any(|r| r.rtype == NSEC && r.owner == www));
        assert!(crate::dnssec::signed_offline(zs.zone(&o).unwrap()));
    }
}
