//! Packfile, delta and pkt-line parsing on arbitrary bytes: never panics,
//! never exceeds the limits. A pack whose checksum we fix up still has to
//! survive everything after the checksum check.
#![no_main]

use gitns_git::{delta, pack, pktline};
use libfuzzer_sys::fuzz_target;
use sha1::{Digest, Sha1};

fuzz_target!(|data: &[u8]| {
    let limits = pack::Limits { max_objects: 64, max_object_size: 1 << 20, max_total: 4 << 20 };
    let _ = pack::parse(data, limits, &|_| None);
    if data.len() >= 12 {
        let mut p = b"PACK\0\0\0\x02".to_vec();
        p.extend_from_slice(&data[..data.len().min(4096)]);
        let sum: [u8; 20] = Sha1::digest(&p).into();
        p.extend_from_slice(&sum);
        let _ = pack::parse(&p, limits, &|_| None);
    }
    let (a, b) = data.split_at(data.len() / 2);
    let _ = delta::apply(a, b, 1 << 20);
    let mut rest = data;
    while let Ok(Some((_, n))) = pktline::decode(rest) {
        rest = &rest[n..];
    }
});
