//! Signed UPDATEs through the whole authority path with a valid TSIG and a
//! fixed clock, so the signed code is reached: the input is the UPDATE
//! (header + sections), signed here with the zone's update key. Properties:
//! every answer is a signed response; a prepared change withdrawn leaves
//! the zone exactly as it was (the in-place undo); one kept raised the
//! serial and kept the SOA and apex NS; then an IXFR from the old serial
//! streams messages that all fit TCP's 64 KiB.
#![no_main]

use gitns_dns::authority::{serve, Ctx, Event, Policy, Transport};
use gitns_dns::keys::{Algorithm, Key};
use gitns_dns::message::parse_request;
use gitns_dns::name::Name;
use gitns_dns::zone::printer::print;
use gitns_dns::zoneset::ZoneSet;
use gitns_dns::{rtype, serial, tsig};
use libfuzzer_sys::fuzz_target;

const NOW: u64 = 1_700_000_000;
const ZONE: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nc CNAME www\nsub NS ns.sub\nns.sub A 192.0.2.3\n";

fn key() -> Key {
    Key { name: Name::parse("k._update.example.org.", &Name::root()).unwrap(), algorithm: Algorithm::Sha256, secret: vec![9; 32] }
}

fn zones() -> ZoneSet {
    let (mut zs, _) = ZoneSet::load(&[("example.org".to_string(), ZONE.as_bytes().to_vec())], None);
    zs.keys.push(key());
    zs
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, body)) = data.split_first() else { return };
    let Ok(r) = parse_request(body) else { return };
    if r.header.arcount != 0 {
        return;
    }
    let msg = tsig::sign_request(body, &key(), NOW);
    let origin = Name::parse("example.org.", &Name::root()).unwrap();
    let mut zs = zones();
    let before = print(zs.zone(&origin).unwrap());
    let commit_ok = ctl & 1 == 1;
    let mut out = vec![0u8; 65_535];
    let mut answers = 0;
    let policy = Policy::default();
    let event = serve(&mut zs, &msg, &mut Ctx::new(Transport::Tcp, NOW, &policy), &mut out, &mut |m| {
        answers += 1;
        assert!(m.len() >= 12 && m[2] & 0x80 != 0, "a response");
    });
    assert!(answers <= 1, "an UPDATE gets one answer");
    let Some(Event::Prepared(mut p)) = event else {
        assert_eq!(print(zs.zone(&origin).unwrap()), before, "nothing prepared, nothing changed");
        return;
    };
    assert_eq!(answers, 0, "a prepared UPDATE is answered by the caller");
    for m in [&p.ok, &p.fail] {
        assert!(m.len() >= 12 && m[2] & 0x80 != 0, "a response");
    }
    if !commit_ok {
        p.withdraw(&mut zs);
        assert_eq!(print(zs.zone(&origin).unwrap()), before, "a withdrawn change is undone exactly");
        return;
    }
    let to = p.to;
    if ctl & 2 != 0 {
        // Durable later (a git push): withdrawn, then installed again.
        p.withdraw(&mut zs);
        assert!(p.install(&mut zs, NOW).is_some(), "installed again, it changes the zone again");
    } else {
        let _ = p.keep(&mut zs, NOW);
    }
    let z = zs.zone(&origin).unwrap();
    assert_eq!(z.serial(), Some(to), "the serial it was prepared with");
    assert!(serial::gt(z.serial().unwrap(), 1));
    assert!(z.node(&z.origin).and_then(|n| n.get(rtype::NS)).is_some());
    // The journal serves the change: IXFR from serial 1, signed.
    let ixfr = b"\x00\x01\x00\x00\x00\x01\x00\x00\x00\x01\x00\x00\x07example\x03org\x00\x00\xfb\x00\x01\x07example\x03org\x00\x00\x06\x00\x01\x00\x00\x00\x3c\x00\x1e\x02ns\xc0\x0c\x02hm\xc0\x0c\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04\x00\x00\x00\x05";
    let signed = tsig::sign_request(ixfr, &key(), NOW);
    serve(&mut zs, &signed, &mut Ctx::new(Transport::Tcp, NOW, &policy), &mut out, &mut |m| {
        assert!(m.len() >= 12 && m.len() <= 65_535);
    });
});
