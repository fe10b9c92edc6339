//! A NOTIFY from a primary (RFC 1996 3.7-3.11): which zone, signed by
//! whom, the serial it announces; and the answer: the same ID and
//! question, QR and AA set, signed with the request's key (RFC 8945 5.3),
//! or an error RCODE (NOTAUTH with the TSIG error, RFC 8945 5.2).

use crate::keys::Key;
use crate::message::{parse_request, Rcode, Request, OPCODE_NOTIFY};
use crate::name::Name;
use crate::rtype::SOA;
use crate::tsig::{self, TsigError, TsigRr, Verified};
use crate::wire::{Reader, Writer};
use alloc::vec::Vec;

/// A NOTIFY as received.
pub struct Notify<'m> {
    pub msg: &'m [u8],
    pub req: Request,
    pub zone: Name,
    /// The serial of the SOA in the answer section, when the primary put
    /// one (Knot and BIND do).
    pub serial: Option<u32>,
}

/// Parse a NOTIFY for a SOA (anything else: None, dropped).
pub fn parse(msg: &[u8]) -> Option<Notify<'_>> {
    let req = parse_request(msg).ok()?;
    if req.header.opcode() != OPCODE_NOTIFY {
        return None;
    }
    let q = req.question.as_ref()?;
    if q.qtype != SOA {
        return None;
    }
    let zone = q.name.clone();
    let serial = announced(msg, &req, &zone);
    Some(Notify {
        msg,
        req,
        zone,
        serial,
    })
}

/// RFC 1996 3.7: the answer section may hold the zone's new SOA.
fn announced(msg: &[u8], req: &Request, zone: &Name) -> Option<u32> {
    let mut r = Reader::message(msg, 12);
    r.name().ok()?;
    r.u32().ok()?;
    for _ in 0..req.header.ancount {
        let owner = r.name().ok()?;
        let (t, _class, _ttl) = (r.u16().ok()?, r.u16().ok()?, r.u32().ok()?);
        let len = r.u16().ok()? as usize;
        let end = r.pos() + len;
        if t == SOA && owner == *zone {
            r.name().ok()?;
            r.name().ok()?;
            return r.u32().ok();
        }
        r = Reader::message(msg, end);
    }
    None
}

/// Check the NOTIFY's TSIG against `key` at wall-clock `wall`.
#[allow(clippy::result_large_err)] // tsig's own error type, as tsig::verify returns it
pub fn verify(n: &Notify, key: &Key, wall: u64) -> Result<Verified, TsigError> {
    let zone = n.zone.clone();
    tsig::verify(
        n.msg,
        &n.req,
        core::slice::from_ref(key),
        || Some(zone),
        wall,
    )
}

/// How to sign an answer.
pub enum Signer<'a> {
    None,
    /// Signed with the request's key (success, BADTIME).
    Key(&'a Key, &'a TsigRr, u16),
    /// An unsigned TSIG carrying this error (BADSIG, BADKEY).
    Error(&'a TsigRr, u16),
}

/// The answer to NOTIFY `n` with `rcode`.
pub fn answer(n: &Notify, rcode: Rcode, signer: Signer, wall: u64) -> Vec<u8> {
    let mut buf = alloc::vec![0u8; 1024];
    let mut w = Writer::new(&mut buf);
    let h = &n.req.header;
    let aa = if rcode == Rcode::NoError { 0x0400 } else { 0 };
    let flags = 0x8000 | (h.flags & 0x7800) | aa | rcode as u16;
    let write = |w: &mut Writer| -> Result<(), crate::wire::Full> {
        w.u16(h.id)?;
        w.u16(flags)?;
        w.u16(1)?;
        w.bytes(&[0; 6])?;
        w.name(&n.zone, true)?;
        w.u16(SOA)?;
        w.u16(crate::rtype::IN)?;
        match signer {
            Signer::None => Ok(()),
            Signer::Key(k, t, e) => tsig::sign_response(w, k, t, wall, e),
            Signer::Error(t, e) => tsig::unsigned_error(w, t, wall, e),
        }
    };
    // 1024 bytes hold a question and a TSIG (two names of at most 255).
    let _ = write(&mut w);
    let len = w.len();
    buf.truncate(len);
    buf
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;
    use crate::message::Header;

    fn key(b: u8) -> Key {
        Key {
            name: Name::parse("10.0.0.1.10.0.0.2._transfer.example.org.", &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![b; 32],
        }
    }

    #[test]
    fn parse_verify_answer() {
        let z = crate::zone::Zone::from_records(
            Name::parse("example.org.", &Name::root()).unwrap(),
            &crate::zone::parser::parse_str(
                "z",
                "$TTL 60\n@ SOA ns hm 42 1 2 3 4\n@ NS ns\nns A 192.0.2.1\n",
                &Name::parse("example.org.", &Name::root()).unwrap(),
            )
            .unwrap()
            .records,
        );
        let plain = crate::notify_out::request(&z, 77);
        let signed = tsig::sign_request(&plain, &key(1), 1000);
        let n = parse(&signed).unwrap();
        assert_eq!(
            (n.zone.to_text(), n.serial),
            ("example.org.".into(), Some(42))
        );
        let v = verify(&n, &key(1), 1000).unwrap();
        let a = answer(&n, Rcode::NoError, Signer::Key(&v.key, &v.tsig, 0), 1000);
        let h = Header::parse(&mut Reader::message(&a, 0)).unwrap();
        assert_eq!((h.id, h.flags, h.qdcount, h.arcount), (77, 0xa400, 1, 1));
        assert!(
            tsig::verify_response(&a, &h, a.len() - tsig_len(&a), &key(1), &v.tsig.mac).is_ok()
        );
        // Another secret: BADSIG, answered NOTAUTH with an unsigned TSIG.
        let Err(TsigError::NotAuth {
            error,
            tsig: Some(t),
            ..
        }) = verify(&n, &key(2), 1000)
        else {
            panic!("verified with the wrong key")
        };
        assert_eq!(error, tsig::BADSIG);
        let a = answer(&n, Rcode::NotAuth, Signer::Error(&t, error), 1000);
        let h = Header::parse(&mut Reader::message(&a, 0)).unwrap();
        assert_eq!((h.flags & 0xf, h.flags & 0x0400), (9, 0));
        // Not a NOTIFY.
        let mut q = plain.clone();
        q[2] = 0;
        assert!(parse(&q).is_none());
    }

    /// Length of the TSIG RR at the end of `a` (the answer has one).
    fn tsig_len(a: &[u8]) -> usize {
        // Question ends after the 12-byte header, the name and 4 bytes.
        let mut r = Reader::message(a, 12);
        r.name().unwrap();
        r.u32().unwrap();
        a.len() - r.pos()
    }
}
