//! The secondary TXT probe's answer check on arbitrary datagrams: never
//! panics, and a response only counts when it is ours (ID and question)
//! and holds the value.
#![no_main]

use gitns_dns::name::Name;
use gitns_dns::notify_out::Target;
use gitns_dns::probe::TxtProbe;
use libfuzzer_sys::fuzz_target;

const T: Target = Target {
    addr: [10, 0, 0, 3],
    port: 53,
};

fuzz_target!(|data: &[u8]| {
    let name = Name::parse("_acme-challenge.www.example.org.", &Name::root()).unwrap();
    let mut p = TxtProbe::new(&[T], &[(name, b"tok".to_vec())], 0, &mut || 0x4242);
    let q = p.due(0).pop().unwrap().1;
    // As it came off the wire.
    let _ = p.clone().on_response(T, data);
    // Our ID and question (OPT left out), flags and counts from the
    // input, then the input as the answer section.
    let mut m = q[..q.len() - 11].to_vec();
    m[2] = 0x84;
    m[3] = data.first().copied().unwrap_or(0) & 0x8f;
    m[6..8].copy_from_slice(&u16::from(data.get(1).copied().unwrap_or(1) % 8).to_be_bytes());
    m[10..12].fill(0);
    m.extend_from_slice(data.get(2..).unwrap_or(&[]));
    let served = p.on_response(T, &m);
    assert_eq!(served, p.done());
    if served {
        assert!(m.windows(4).any(|w| w == b"\x03tok"));
    }
});
