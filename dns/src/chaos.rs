//! CHAOS class TXT queries for the server's identity and version
//! (`version.bind`, `version.server`, `id.server` (RFC 4892 2.1),
//! `hostname.bind`): answered only with what the operator configured
//! (`--version`, `--identity`), REFUSED otherwise, so nothing is disclosed
//! by default.

use crate::ctx::Policy;
use crate::edns::Reply;
use crate::message::{Rcode, Request};
use crate::respond::{end_opt, error};
use crate::rtype::{CH, TXT};
use crate::wire::Writer;

/// Which configured text a CH TXT name asks for.
fn text<'p>(name: &[u8], policy: &'p Policy) -> Option<&'p [u8]> {
    let is = |n: &[u8]| name.eq_ignore_ascii_case(n);
    if is(b"\x07version\x04bind\x00") || is(b"\x07version\x06server\x00") {
        policy.version.as_deref()
    } else if is(b"\x02id\x06server\x00") || is(b"\x08hostname\x04bind\x00") {
        policy.identity.as_deref()
    } else {
        None
    }
}

/// Answer a CH query: one TXT record with TTL 0, without AA (as Knot does:
/// CH is not a zone we are authoritative for).
pub fn answer(
    req: &Request,
    opt: Option<&Reply>,
    policy: &Policy,
    out: &mut [u8],
) -> Option<usize> {
    let q = req.question.as_ref()?;
    let h = &req.header;
    let Some(t) = text(q.name.wire(), policy).filter(|_| q.qtype == TXT) else {
        return error(h, Some(req), opt, Rcode::Refused, out);
    };
    let mut w = Writer::new(out);
    let flags = 0x8000 | (h.flags & 0x7900);
    for v in [h.id, flags, 1, 1, 0, 0] {
        w.u16(v).ok()?;
    }
    w.name(&q.name, true).ok()?;
    w.u16(q.qtype).ok()?;
    w.u16(q.qclass).ok()?;
    w.name(&q.name, true).ok()?;
    w.u16(TXT).ok()?;
    w.u16(CH).ok()?;
    w.u32(0).ok()?;
    let chunks = t.chunks(255);
    let rdlen = t.len() + chunks.len().max(1);
    w.u16(u16::try_from(rdlen).ok()?).ok()?;
    if t.is_empty() {
        w.u8(0).ok()?;
    }
    for c in t.chunks(255) {
        w.u8(c.len() as u8).ok()?;
        w.bytes(c).ok()?;
    }
    end_opt(&mut w, opt, 0, 0).ok()?;
    Some(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_configured_texts() {
        let p = Policy {
            version: Some(b"gitns 1".to_vec()),
            ..Default::default()
        };
        assert_eq!(text(b"\x07VERSION\x04bind\x00", &p), Some(&b"gitns 1"[..]));
        assert_eq!(
            text(b"\x07version\x06server\x00", &p),
            Some(&b"gitns 1"[..])
        );
        assert_eq!(
            text(b"\x02id\x06server\x00", &p),
            None,
            "identity not configured"
        );
        assert_eq!(text(b"\x07version\x03org\x00", &p), None);
    }
}
