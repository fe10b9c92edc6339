//! The HTTP/1.1 response parser on arbitrary server bytes, fed in pieces
//! whose sizes the input chooses: never panics, never keeps more than its
//! limits, and the same bytes give the same verdict however they are split.
#![no_main]

use gitns_https::http::Method;
use gitns_https::response::{Limits, ResponseParser};
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits { max_head_bytes: 4096, max_headers: 32, max_body_bytes: 16 * 1024 };

/// Feed `data` in pieces of `piece` bytes (0: all at once), then the end
/// of the connection; returns the outcome as comparable values.
fn parse(data: &[u8], method: Method, piece: usize) -> (bool, Option<(u16, usize)>) {
    let mut p = ResponseParser::new(method, LIMITS);
    let mut ok = true;
    let step = if piece == 0 { data.len().max(1) } else { piece };
    for chunk in data.chunks(step) {
        match p.feed(chunk) {
            Ok(n) => assert!(n <= chunk.len()),
            Err(_) => {
                ok = false;
                break;
            }
        }
        if p.is_done() {
            break;
        }
    }
    if ok && !p.is_done() {
        ok = p.finish_eof().is_ok();
    }
    let resp = p.take_response().map(|r| {
        assert!(r.body.len() <= LIMITS.max_body_bytes);
        assert!(r.headers.len() <= LIMITS.max_headers);
        (r.status, r.body.len())
    });
    (ok, resp)
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, data)) = data.split_first() else { return };
    let method = match ctl & 3 {
        0 => Method::Get,
        1 => Method::Head,
        _ => Method::Post,
    };
    let whole = parse(data, method, 0);
    let split = parse(data, method, 1 + (ctl >> 2) as usize);
    assert_eq!(whole, split, "the split changed the verdict");
});
