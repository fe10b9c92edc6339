//! An UPDATE sent to a secondary: answered NOTAUTH (RFC 2136 3.1.1: the
//! server is not the zone's primary), not forwarded (docs/design.md, "The
//! secondary in the appliance"). Signed with the request's key when it
//! verifies with one we hold (RFC 8945 5.3), so nsupdate reads the answer.

use crate::keys::Key;
use crate::message::{parse_request, Rcode};
use crate::tsig;
use crate::wire::Writer;
use alloc::vec::Vec;

/// The NOTAUTH answer to `msg` (None: not a request, dropped). `wall`:
/// seconds since the epoch.
pub fn notauth(msg: &[u8], keys: &[Key], wall: u64) -> Option<Vec<u8>> {
    let req = parse_request(msg).ok()?;
    let mut out = alloc::vec![0u8; 1024];
    let len = crate::respond::error(&req.header, Some(&req), None, Rcode::NotAuth, &mut out)?;
    let zone = req.question.as_ref().map(|q| q.name.clone());
    let signed = tsig::verify(msg, &req, keys, || zone, wall);
    let mut w = Writer::resume(&mut out, len);
    if let Ok(v) = signed {
        tsig::sign_response(&mut w, &v.key, &v.tsig, wall, 0).ok()?;
    }
    let n = w.len();
    out.truncate(n);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;
    use crate::message::Header;
    use crate::name::Name;
    use crate::wire::Reader;

    #[test]
    fn notauth_signed_when_the_key_is_ours() {
        let key = Key {
            name: Name::parse("10.0.0.1.10.0.0.2._update.example.org.", &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![5; 32],
        };
        // UPDATE example.org (opcode 5), zone section only.
        let mut m = alloc::vec![0xab, 0xcd, 5 << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(Name::parse("example.org.", &Name::root()).unwrap().wire());
        m.extend_from_slice(&[0, 6, 0, 1]);
        let signed = tsig::sign_request(&m, &key, 1000);
        let a = notauth(&signed, core::slice::from_ref(&key), 1000).unwrap();
        let h = Header::parse(&mut Reader::message(&a, 0)).unwrap();
        assert_eq!(
            (h.id, h.qr(), h.opcode(), h.flags & 0xf),
            (0xabcd, true, 5, 9)
        );
        assert_eq!(h.arcount, 1, "the TSIG");
        // Another key: NOTAUTH unsigned.
        let a = notauth(&signed, &[], 1000).unwrap();
        let h = Header::parse(&mut Reader::message(&a, 0)).unwrap();
        assert_eq!((h.flags & 0xf, h.arcount), (9, 0));
        assert_eq!(notauth(&a, &[], 1000), None, "a response is dropped");
    }
}
