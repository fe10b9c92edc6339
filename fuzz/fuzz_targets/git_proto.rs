//! The client side of the git protocol on hostile server bytes: fetch (v0
//! and v2, clone and incremental) and push state machines, the checkout of
//! whatever pack a fetch accepted, and `--remote` parsing. Never panics;
//! a fetch never holds more than its pack limit.
#![no_main]

use gitns_git::checkout::Checkout;
use gitns_git::oid::Oid;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::proto::push::Push;
use gitns_git::remote::Remote;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let haves = if mode & 2 != 0 { vec![Oid([1; 20])] } else { vec![] };
    let mut f = Fetch::new("main", haves, mode & 1 != 0, 1 << 16);
    // Feed in chunks of varying size, as TCP would.
    let step = 1 + (mode as usize >> 2);
    for chunk in rest.chunks(step) {
        if f.input(chunk).is_err() {
            break;
        }
        let _ = f.take_output();
    }
    if let Some(Fetched::Pack { head, pack }) = f.result() {
        assert!(pack.len() <= (1 << 16) + 65_536);
        let limits = Limits { max_objects: 64, max_object_size: 1 << 20, max_total: 4 << 20 };
        let _ = Checkout::from_pack(pack, *head, limits, None);
    }
    let mut p = Push::new("main", Oid([1; 20]), Oid([2; 20]), b"PACK".to_vec());
    for chunk in rest.chunks(step) {
        if p.input(chunk).is_err() {
            break;
        }
        let _ = p.take_output();
    }
    if let Ok(s) = core::str::from_utf8(rest) {
        if let Ok(r) = Remote::parse(s) {
            assert!(!r.host.is_empty() && !r.path.is_empty() && !r.command("x").contains('\n'));
        }
    }
});
