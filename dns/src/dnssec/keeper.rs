//! Zones kept signed after their load (issue 26): the [`Signer`] of each
//! zone the appliance signed stays beside the zone (`Signers`, in the
//! [`ZoneSet`]); an UPDATE's change is signed into the zone at its own
//! serial before it is served ([`sign_update`]), and signatures are
//! refreshed before they expire ([`refresh`], RFC 6781 4.4.2) in a new
//! version of the zone (serial raised, the change in the IXFR history).
//! Only the names the signer changed are written into the served zone.
//! Time (seconds since the epoch) is passed in.

use super::kasp::Event;
use super::signer::Signer;
use super::signers::Kept;
use crate::name::Name;
use crate::rtype::{IN, NSEC, NSEC3, NSEC3PARAM, RRSIG, SOA};
use crate::zone::parser::Record;
use crate::zone::{Saved, Zone};
use crate::zoneset::ZoneSet;
use alloc::string::String;
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

/// What [`refresh`] did to a zone.
#[derive(Debug)]
pub struct Refreshed {
    pub zone: Name,
    /// The new version's serials, before and after; None: no new version
    /// (a key step that changed nothing served).
    pub serials: Option<(u32, u32)>,
    /// The key steps taken (RFC 7583), for the log and the status page.
    pub log: Vec<String>,
    /// The key file's name and new text (keys made, key steps taken), to
    /// commit to the private remote.
    pub key_file: Option<(String, String)>,
}

/// Take the key steps and refresh the signatures of every zone due at
/// `now` (RFC 6781 4.4.2), keys made from `random`: each zone whose
/// served records changed (keys published or withdrawn, signed by other
/// keys, signatures refreshed) in a new version (the serial raised, RFC
/// 1982), recorded in its IXFR history.
pub fn refresh(zs: &mut ZoneSet, now: u64, random: &mut dyn FnMut(&mut [u8])) -> Vec<Refreshed> {
    let due = zs.signers.due_at(now);
    let mut out = Vec::new();
    for origin in due {
        let Some(mut kept) = zs.signers.take(&origin) else {
            continue;
        };
        let (log, rekeyed) = roll(&mut kept, now, random);
        let serials = new_version(zs, &origin, &mut kept.signer, rekeyed, now);
        out.push(Refreshed {
            zone: origin.clone(),
            serials,
            log,
            key_file: kept.roll.unsaved(),
        });
        zs.signers.put(&origin, kept, now);
    }
    out
}

/// The key steps due at `now`: their log lines, and the owners the
/// signer changed when the keys' uses did.
fn roll(kept: &mut Kept, now: u64, random: &mut dyn FnMut(&mut [u8])) -> (Vec<String>, Vec<Name>) {
    if kept.roll.next.is_none_or(|n| n > now) {
        return (Vec::new(), Vec::new());
    }
    match kept.roll.turn(now, Event::Tick, random) {
        Ok(t) if t.rekey => (t.log, kept.signer.rekey(kept.roll.keyset(), now)),
        Ok(t) => (t.log, Vec::new()),
        Err(e) => (
            alloc::vec![alloc::format!("a key could not be made: {e}")],
            Vec::new(),
        ),
    }
}

/// Write `changed` and what is due for refresh at `now` into zone
/// `origin` as a new version, its SOA serial raised; None when nothing
/// changed.
fn new_version(
    zs: &mut ZoneSet,
    origin: &Name,
    s: &mut Signer,
    changed: Vec<Name>,
    now: u64,
) -> Option<(u32, u32)> {
    let owners = merge(changed, s.refresh(now));
    if owners.is_empty() {
        return None;
    }
    let z = zs.zone(origin)?;
    let soa = z.soa()?;
    let (ttl, old) = (soa.ttl, soa.rdatas.first()?.to_vec());
    let from = z.serial()?;
    let to = crate::serial::next(from);
    let mut new = old.clone();
    let at = new.len().checked_sub(20)?;
    new[at..at + 4].copy_from_slice(&to.to_be_bytes());
    let soa_changed = s.change(
        &[record(origin, SOA, ttl, &old)],
        &[record(origin, SOA, ttl, &new)],
        now,
    );
    let owners = merge(owners, soa_changed);
    zs.edit_in_place(origin, |z| Ok::<_, ()>(write(z, s, &owners)))?
        .ok()?;
    Some((from, to))
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
        for r in zone_sign::sign_at(&mut zs, &files, NOW, 3).lines {
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
        assert!(
            refresh(&mut zs, due - 1, &mut |_| {}).is_empty(),
            "nothing before due"
        );
        let mut now = NOW;
        // Three validities with a refresh each time one is due: the
        // signatures served never come within 20 s of expiring.
        while now < NOW + 180 {
            now = zs.signers.next_due().unwrap();
            let done = refresh(&mut zs, now, &mut |_| {});
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

    /// The tags of the zone's DNSKEYs, and of the keys its RRSIGs name.
    fn tags(zs: &ZoneSet, o: &Name) -> (Vec<u16>, Vec<u16>) {
        let z = zs.zone(o).unwrap();
        let keys = z.node(o).unwrap().get(crate::rtype::DNSKEY).unwrap();
        let mut dnskeys: Vec<u16> = keys
            .rdatas
            .iter()
            .map(crate::dnssec::key::key_tag)
            .collect();
        let mut signers: Vec<u16> = z
            .nodes()
            .flat_map(|n| n.rrsets().collect::<Vec<_>>())
            .filter(|s| s.rtype == RRSIG)
            .flat_map(|s| {
                s.rdatas
                    .iter()
                    .map(|rd| u16::from_be_bytes([rd[16], rd[17]]))
                    .collect::<Vec<_>>()
            })
            .collect();
        dnskeys.sort_unstable();
        signers.sort_unstable();
        signers.dedup();
        (dnskeys, signers)
    }

    /// A zone with a policy and no keys: keys made at load; the ZSK
    /// rolls at its lifetime by pre-publication (RFC 7583 3.2), each
    /// step a new version; every signature always names a published key.
    #[test]
    fn a_zsk_rolls_in_new_versions() {
        let zone = "$TTL 5\n@ SOA ns1 hm 1 7200 3600 1209600 5\n@ NS ns1\nns1 A 10.0.0.2\n";
        let policy = "keys ksk+zsk\nvalidity 60\nrefresh 20\njitter 5\ninception 5\n\
            zsk-lifetime 30\npropagation-delay 2\nparent-ds-ttl 4\nparent-propagation-delay 2\n";
        let files = [f("example.org", zone), f("example.org._dnssec", policy)];
        let (mut zs, _) = ZoneSet::load(&files, None);
        let done = zone_sign::sign_at(&mut zs, &files, NOW, 3);
        assert_eq!(done.key_files.len(), 1, "{done:?}");
        let o = n("example.org.");
        let (first, _) = tags(&zs, &o);
        assert_eq!(first.len(), 2);
        let mut c = 100u8;
        let mut random = |b: &mut [u8]| {
            c += 1;
            b.fill(c)
        };
        let (mut now, mut most, mut log) = (NOW, 0, Vec::new());
        while now < NOW + 100 {
            now = zs.signers.next_due().unwrap();
            for r in refresh(&mut zs, now, &mut random) {
                log.extend(r.log);
            }
            let (dnskeys, signers) = tags(&zs, &o);
            assert!(
                signers.iter().all(|t| dnskeys.contains(t)),
                "at {now}: {signers:?} {dnskeys:?}"
            );
            assert_eq!(signers.len(), 2, "one KSK, one ZSK sign at {now}");
            most = most.max(dnskeys.len());
        }
        assert_eq!(most, 3, "the new ZSK pre-published");
        assert!(
            log.iter()
                .any(|l| l.contains("(zsk ed25519") || l.contains("(zsk ecdsap256sha256")),
            "{log:?}"
        );
        assert!(
            log.iter()
                .any(|l| l.contains("removed from the DNSKEY RRset")),
            "{log:?}"
        );
        let (last, _) = tags(&zs, &o);
        assert_ne!(last, first, "the ZSK changed");
        let serial = zs.zone(&o).unwrap().serial().unwrap();
        assert_eq!(
            zs.journal(&o).unwrap().chain(1, serial).unwrap().len() as u32,
            serial - 1
        );
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
            let done = zone_sign::sign_at(zs, &files, NOW + 5, 3).lines;
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
            zone_sign::sign_at(zs, &files, NOW + 5, 3);
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
