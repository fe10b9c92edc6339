//! The stub resolver's answer parser on arbitrary responses: never panics;
//! a response whose header and question match is parsed to the end, and a
//! lookup that finishes with Done has at least one address.
#![no_main]

use gitns_dns::stub::{Lookup, Progress, QType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let q = Lookup::new("www.example.org", QType::A, 0x4242, 0).unwrap();
    // As it came off the wire.
    let _ = q.clone().on_response(data, 0);
    // Our own header and question (OPT left out), flags and counts from
    // the input, then the input as the answer section.
    let query = q.query();
    let mut m = query[..query.len() - 11].to_vec();
    m[2] = 0x81;
    m[3] = data.first().copied().unwrap_or(0x80) & 0x8f;
    let ancount = u16::from(data.get(1).copied().unwrap_or(1) % 8);
    m[6..8].copy_from_slice(&ancount.to_be_bytes());
    m[10..12].fill(0);
    m.extend_from_slice(data.get(2..).unwrap_or(&[]));
    if let Progress::Done(a) = q.clone().on_response(&m, 0) {
        assert!(!a.addrs.is_empty());
    }
});
