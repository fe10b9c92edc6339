//! Query handling on arbitrary messages: never panics, never writes more
//! than the transport allows, and never answers a response (no loops).
#![no_main]

use gitns_dns::authority::{handle, Transport};
use gitns_dns::zoneset::ZoneSet;
use libfuzzer_sys::fuzz_target;
use std::sync::{Mutex, OnceLock};

const ZONE: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n@ MX 10 mail\nns A 192.0.2.1\nmail A 192.0.2.2\n*.w TXT \"x\"\nc CNAME ns\nd DNAME other.example.org.\nsub NS ns.sub\nns.sub A 192.0.2.3\nbig TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n";

fn zones() -> &'static Mutex<ZoneSet> {
    static Z: OnceLock<Mutex<ZoneSet>> = OnceLock::new();
    Z.get_or_init(|| {
        let files = vec![("example.org".to_string(), ZONE.as_bytes().to_vec()), ("other.example.org".to_string(), ZONE.as_bytes().to_vec())];
        Mutex::new(ZoneSet::load(&files, None).0)
    })
}

fuzz_target!(|data: &[u8]| {
    let mut out = vec![0u8; 65_535];
    for t in [Transport::Udp, Transport::Tcp] {
        let mut zs = zones().lock().unwrap();
        if let Some(n) = handle(&mut zs, data, t, &mut out) {
            assert!(n >= 12 && n <= out.len());
            assert!(out[2] & 0x80 != 0, "responses have QR set");
            if t == Transport::Udp {
                let edns = n > 512;
                assert!(!edns || data.len() > 12, "large UDP answers only with EDNS");
            }
        }
    }
});
