//! The IXFR history (dns/src/journal.rs) and the outgoing IXFR built from
//! it (dns/src/transfer.rs), driven by a random sequence of UPDATEs, some
//! of them rolled back. After every step:
//! - an UPDATE applied in place and replayed on the version before it
//!   (`update::replay`, the storage journal at boot) give the same zone;
//!   rolled back (`undo_update`), the zone is the version before it;
//! - for every kept version the history reaches, its diffs applied to that
//!   version give the current zone, every deleted RR existing and every
//!   added one new (RFC 1995 4);
//! - the IXFR a client at that version is sent, applied to its copy, gives
//!   the current zone too (or, when the history cannot reach it, the
//!   whole zone arrives).
#![no_main]

use gitns_dns::journal::Diff;
use gitns_dns::message::{parse_request, Header};
use gitns_dns::name::Name;
use gitns_dns::update::{UpRr, UpdateMsg};
use gitns_dns::wire::Reader;
use gitns_dns::zone::Zone;
use gitns_dns::zoneset::ZoneSet;
use gitns_dns::{rdata, rtype, transfer, update};
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeSet;
use std::sync::Arc;

const ORIGIN: &str = "example.org.";
const ZONE: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nc CNAME www\n";
const NAMES: [&str; 6] = ["", "a", "b", "www", "c", "x.y"];
/// Versions kept to check against (the journal keeps 32 diffs).
const KEPT: usize = 40;

/// A zone as a set of (owner key, type, TTL, RDATA), the SOA apart.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Model {
    soa: (u32, Vec<u8>),
    rrs: BTreeSet<(Vec<u8>, u16, u32, Vec<u8>)>,
}

fn model(z: &Zone) -> Model {
    let soa = z.soa().expect("zone has a SOA");
    let mut rrs = BTreeSet::new();
    for n in z.nodes() {
        for s in n.rrsets().filter(|s| s.rtype != rtype::SOA) {
            for rd in s.rdatas.iter() {
                rrs.insert((n.name().key().to_vec(), s.rtype, s.ttl, rd.to_vec()));
            }
        }
    }
    Model {
        soa: (soa.ttl, soa.rdatas.first().expect("SOA rdata").to_vec()),
        rrs,
    }
}

fn serial_of(soa_rdata: &[u8]) -> u32 {
    let mut r = Reader::new(soa_rdata);
    r.name().unwrap();
    r.name().unwrap();
    r.u32().unwrap()
}

/// Apply one diff: every deleted RR must be there, every added one new.
fn apply(m: &mut Model, d: &Diff) {
    assert_eq!(serial_of(&m.soa.1), d.from, "diff starts at another version");
    assert_eq!(m.soa, d.old_soa);
    for r in &d.deleted {
        let k = (r.owner.key().to_vec(), r.rtype, r.ttl, r.rdata.clone());
        assert!(m.rrs.remove(&k), "diff {}->{} deletes a missing RR", d.from, d.to);
    }
    for r in &d.added {
        let k = (r.owner.key().to_vec(), r.rtype, r.ttl, r.rdata.clone());
        assert!(m.rrs.insert(k), "diff {}->{} adds a present RR", d.from, d.to);
    }
    m.soa = d.new_soa.clone();
}

/// Bytes drawn from the front of the input.
#[path = "common/source.rs"]
mod source;
use source::Source;

fn name(i: u8) -> Name {
    let origin = Name::parse(ORIGIN, &Name::root()).unwrap();
    match NAMES[i as usize % NAMES.len()] {
        "" => origin,
        n => Name::parse(n, &origin).unwrap(),
    }
}

/// One update RR from three bytes: the operation, the name, a value.
fn up_rr(op: u8, n: u8, v: u8, current_serial: u32) -> UpRr {
    let name = name(n);
    let (rtype, class, rdata): (u16, u16, Vec<u8>) = match op % 9 {
        0 | 1 => (rtype::A, rtype::IN, vec![192, 0, 2, v]),
        2 => (rtype::TXT, rtype::IN, vec![1, v]),
        3 => (rtype::CNAME, rtype::IN, self::name(v).wire().to_vec()),
        4 => (rtype::A, rtype::NONE, vec![192, 0, 2, v]),
        5 => (rtype::A, rtype::CLASS_ANY, vec![]),
        6 => (rtype::ANY, rtype::CLASS_ANY, vec![]),
        7 => (rtype::NS, rtype::IN, self::name(v).wire().to_vec()),
        _ => {
            // The SOA with a new serial (a small step, up or down).
            let mut rd = self::name(0).wire().to_vec();
            rd.extend_from_slice(self::name(0).wire());
            let s = current_serial.wrapping_add(v as u32).wrapping_sub(16);
            for x in [s, 2, 3, 4, 5] {
                rd.extend_from_slice(&x.to_be_bytes());
            }
            (rtype::SOA, rtype::IN, rd)
        }
    };
    let ttl = if class == rtype::IN { 60 + (v as u32 & 1) * 60 } else { 0 };
    UpRr { name, rtype, class, ttl, rdata }
}

fn ixfr_request() -> gitns_dns::message::Request {
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(name(0).wire());
    q.extend_from_slice(&[0, 251, 0, 1]);
    parse_request(&q).ok().expect("IXFR request")
}

/// The records of a transfer's messages: (owner key, type, TTL, RDATA).
fn records(msgs: &[Vec<u8>]) -> Vec<(Vec<u8>, u16, u32, Vec<u8>)> {
    let mut out = Vec::new();
    for m in msgs {
        let mut r = Reader::message(m, 0);
        let h = Header::parse(&mut r).unwrap();
        assert_eq!(h.flags & 0x0f, 0, "transfer message with an error RCODE");
        for _ in 0..h.qdcount {
            r.name().unwrap();
            r.u32().unwrap();
        }
        for _ in 0..h.ancount {
            let owner = r.name().unwrap();
            let (t, _, ttl, len) = (r.u16().unwrap(), r.u16().unwrap(), r.u32().unwrap(), r.u16().unwrap());
            let rd = rdata::from_wire(t, &mut r, len as usize).unwrap();
            out.push((owner.key().to_vec(), t, ttl, rd));
        }
    }
    out
}

/// What a client at `old` has after the IXFR the server sends it.
fn after_ixfr(zs: &ZoneSet, old: &Model) -> Model {
    let origin = name(0);
    let zone = Arc::new(zs.zone(&origin).unwrap().clone());
    let mut msgs = Vec::new();
    let kind = transfer::stream(zone, zs.journal(&origin), &ixfr_request(), None, 0, Some(serial_of(&old.soa.1)), &mut |m| msgs.push(m.to_vec()));
    assert!(kind.is_some(), "no transfer");
    let rrs = records(&msgs);
    let soa = |i: usize| (rrs[i].1 == rtype::SOA).then(|| (rrs[i].2, rrs[i].3.clone()));
    let last = soa(0).expect("IXFR opens with the SOA");
    assert_eq!(soa(rrs.len() - 1), Some(last.clone()), "IXFR closes with the SOA");
    if rrs.len() == 1 {
        return old.clone(); // current already
    }
    let mut m = old.clone();
    if soa(1).is_none() || rrs.len() == 2 {
        // The whole zone (RFC 1995 4: AXFR form).
        m.rrs = rrs[1..rrs.len() - 1].iter().cloned().collect();
        m.soa = last;
        return m;
    }
    // Old SOA, deletions, new SOA, additions; repeated.
    let (mut i, mut deleting) = (1, false);
    while i < rrs.len() - 1 {
        if let Some(s) = soa(i) {
            if deleting {
                m.soa = s; // the new SOA: additions follow
            } else {
                assert_eq!(m.soa, s, "IXFR deletes from another version");
            }
            deleting = !deleting;
        } else if deleting {
            assert!(m.rrs.remove(&rrs[i]), "IXFR deletes a missing RR {:?}", rrs[i]);
        } else {
            assert!(m.rrs.insert(rrs[i].clone()), "IXFR adds a present RR {:?}", rrs[i]);
        }
        i += 1;
    }
    m
}

/// Every kept version the history reaches (`all`, else the one before the
/// current and the oldest): its diffs and its IXFR give the current zone.
fn check(zs: &ZoneSet, versions: &[Model], all: bool) {
    let origin = name(0);
    let current = model(zs.zone(&origin).unwrap());
    let now = serial_of(&current.soa.1);
    let journal = zs.journal(&origin);
    let n = versions.len();
    let picked = versions.iter().enumerate().rev().skip(1);
    for (_, v) in picked.filter(|(i, _)| all || *i == 0 || *i + 2 == n) {
        let s = serial_of(&v.soa.1);
        if let Some(chain) = journal.and_then(|j| j.chain(s, now)) {
            let mut m = v.clone();
            for d in chain {
                apply(&mut m, d);
            }
            assert_eq!(m, current, "history from {s} does not reach {now}");
        }
        assert_eq!(after_ixfr(zs, v), current, "IXFR from {s}");
    }
}

fuzz_target!(|data: &[u8]| {
    let origin = name(0);
    let (mut zs, _) = ZoneSet::load(&[("example.org".to_string(), ZONE.as_bytes().to_vec())], None);
    let mut versions = vec![model(zs.zone(&origin).unwrap())];
    let mut src = Source(data);
    for _ in 0..64 {
        let Some(head) = src.byte() else { break };
        let before = zs.zone(&origin).unwrap().clone();
        let serial = before.serial().unwrap();
        let updates: Vec<UpRr> = (0..=head % 4)
            .filter_map(|_| Some(up_rr(src.byte()?, src.byte()?, src.byte()?, serial)))
            .collect();
        let m = UpdateMsg { zone: origin.clone(), prereqs: vec![], updates };
        if update::prescan(&before, &m).is_err() {
            continue;
        }
        let Some(saved) = zs.update_in_place(&m) else {
            assert!(*zs.zone(&origin).unwrap() == before, "an UPDATE that changed nothing changed the zone");
            continue;
        };
        let after = zs.zone(&origin).unwrap().clone();
        let mut replayed = before.clone();
        assert!(update::replay(&mut replayed, &m).is_some(), "replay failed");
        assert!(replayed == after, "replay differs from the UPDATE");
        if head & 0x80 != 0 {
            zs.undo_update(&origin, &saved);
            assert!(*zs.zone(&origin).unwrap() == before, "undo did not restore the zone");
        } else {
            versions.push(model(&after));
            if versions.len() > KEPT {
                versions.remove(0);
            }
        }
        check(&zs, &versions, false);
    }
    check(&zs, &versions, true);
});
