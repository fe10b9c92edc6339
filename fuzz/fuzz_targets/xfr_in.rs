//! An incoming zone transfer (dns/src/secondary): arbitrary bytes as the
//! TCP stream (two-byte length, message, ...) answering our AXFR or IXFR.
//! Never panics; a whole zone received streams out again through our own
//! outgoing side and back in unchanged but for the case of compressed
//! names (round trip); differences either
//! apply or leave the zone exactly as it was.
#![no_main]

use gitns_dns::message::parse_request;
use gitns_dns::name::Name;
use gitns_dns::secondary::request::{self, HeldSoa};
use gitns_dns::secondary::xfr_in::{Limits, Received, XfrIn};
use gitns_dns::secondary::ixfr_apply;
use gitns_dns::zone::{printer, Zone};
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

fn origin() -> Name {
    Name::parse("example.org.", &Name::root()).unwrap()
}

/// The zone we hold at serial 1 (for IXFR).
fn base() -> &'static Zone {
    static Z: OnceLock<Zone> = OnceLock::new();
    Z.get_or_init(|| {
        let text = "$TTL 60\n@ SOA ns hm 1 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.2\nwww TXT \"x\"\n";
        let p = gitns_dns::zone::parser::parse_str("z", text, &origin()).unwrap();
        Zone::from_records(origin(), &p.records)
    })
}

/// The messages of a length-framed stream (a short tail is dropped).
fn frames(mut data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while data.len() >= 2 {
        let n = u16::from_be_bytes([data[0], data[1]]) as usize;
        let Some(m) = data.get(2..2 + n) else { break };
        out.push(m);
        data = &data[2 + n..];
    }
    out
}

fn receive(sent: request::Sent, have: Option<u32>, msgs: &[&[u8]]) -> Option<Received> {
    let limits = Limits {
        records: 50_000,
        bytes: 1 << 22,
    };
    let mut x = XfrIn::new(sent, have, limits);
    for m in msgs {
        if x.message(m, 0).is_err() {
            return None;
        }
    }
    x.finish().ok()
}

/// A zone out through our AXFR and back in: the same zone.
fn round_trip(z: Zone) {
    let sent = request::axfr(&origin(), 0, None, 0);
    let req = parse_request(&sent.msg).unwrap();
    let mut msgs = Vec::new();
    let z = Arc::new(z);
    let sent_ok = gitns_dns::transfer::stream(z.clone(), None, &req, None, 0, None, &mut |m| {
        msgs.push(m.to_vec())
    });
    if sent_ok.is_none() {
        return; // a record too large for any message
    }
    let refs: Vec<&[u8]> = msgs.iter().map(|m| m.as_slice()).collect();
    match receive(sent, None, &refs) {
        // Our writer compresses names case-insensitively (answers take the
        // question's case), so a name inside RDATA may come back in the
        // case of an earlier one: the same name (RFC 4343), other bytes.
        Some(Received::Full(back)) => assert_eq!(
            printer::print(&back).to_lowercase(),
            printer::print(&z).to_lowercase()
        ),
        other => panic!("our own AXFR did not come back: {other:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else { return };
    let msgs = frames(rest);
    let sent = if mode & 1 == 0 {
        request::axfr(&origin(), 0, None, 0)
    } else {
        let soa = base().soa().unwrap();
        let held = HeldSoa {
            ttl: soa.ttl,
            rdata: soa.rdatas.first().unwrap().to_vec(),
        };
        request::ixfr(&origin(), 0, &held, None, 0)
    };
    match receive(sent, Some(1), &msgs) {
        Some(Received::Full(z)) => round_trip(z),
        Some(Received::Incremental(d)) => {
            let mut z = base().clone();
            if ixfr_apply::apply(&mut z, &d).is_err() {
                assert_eq!(&z, base(), "a failed IXFR changed the zone");
            }
        }
        _ => {}
    }
});
