//! What a secondary asks its primary (RFC 1035 4.1, RFC 1995 3, RFC 5936
//! 2.2.1): the SOA query of a refresh check, IXFR with the SOA of the
//! version we hold in the authority section, AXFR; each signed when the
//! source has a key (RFC 8945 5.1), its MAC kept to check the answer.

use crate::keys::Key;
use crate::message::Header;
use crate::name::Name;
use crate::rtype::{AXFR, IN, IXFR, SOA};
use crate::tsig;
use crate::wire::{Reader, Writer};
use alloc::vec::Vec;

/// A request sent, and what checking its answer needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub id: u16,
    pub zone: Name,
    pub qtype: u16,
    /// The message as sent (signed when `key` was given).
    pub msg: Vec<u8>,
    /// The key and our request's MAC (RFC 8945 4.3.1: the answer's MAC
    /// covers it).
    pub signed: Option<(Key, Vec<u8>)>,
}

/// The SOA a client holds, for the authority section of IXFR.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeldSoa {
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

fn build(zone: &Name, qtype: u16, id: u16, held: Option<&HeldSoa>) -> Vec<u8> {
    // Two names of at most 255 bytes and a SOA RDATA of at most 530.
    let mut buf = alloc::vec![0u8; 1200];
    let mut w = Writer::new(&mut buf);
    let write = |w: &mut Writer| -> Result<(), crate::wire::Full> {
        w.u16(id)?;
        w.u16(0)?; // QUERY, no RD (RFC 1034 4.3.1: we ask the authority).
        w.u16(1)?;
        w.u16(0)?;
        w.u16(held.is_some() as u16)?;
        w.u16(0)?;
        w.name(zone, true)?;
        w.u16(qtype)?;
        w.u16(IN)?;
        if let Some(s) = held {
            crate::respond::record(w, zone, SOA, s.ttl, &s.rdata)?;
        }
        Ok(())
    };
    // The buffer holds the largest question and SOA there can be.
    let _ = write(&mut w);
    let n = w.len();
    buf.truncate(n);
    buf
}

fn sign(zone: &Name, qtype: u16, id: u16, msg: Vec<u8>, key: Option<&Key>, wall: u64) -> Sent {
    let Some(key) = key else {
        return Sent {
            id,
            zone: zone.clone(),
            qtype,
            msg,
            signed: None,
        };
    };
    let unsigned_len = msg.len();
    let signed = tsig::sign_request(&msg, key, wall);
    let mac = Header::parse(&mut Reader::message(&signed, 0))
        .ok()
        .and_then(|h| tsig::find(&signed, &h, unsigned_len).ok().flatten())
        .map(|t| t.mac)
        .unwrap_or_default();
    Sent {
        id,
        zone: zone.clone(),
        qtype,
        msg: signed,
        signed: Some((key.clone(), mac)),
    }
}

/// The SOA query of a refresh check (RFC 1034 4.3.5), over UDP.
pub fn soa_query(zone: &Name, id: u16, key: Option<&Key>, wall: u64) -> Sent {
    sign(zone, SOA, id, build(zone, SOA, id, None), key, wall)
}

/// AXFR (RFC 5936 2.2.1), over TCP.
pub fn axfr(zone: &Name, id: u16, key: Option<&Key>, wall: u64) -> Sent {
    sign(zone, AXFR, id, build(zone, AXFR, id, None), key, wall)
}

/// IXFR from the version whose SOA is `held` (RFC 1995 3), over TCP.
pub fn ixfr(zone: &Name, id: u16, held: &HeldSoa, key: Option<&Key>, wall: u64) -> Sent {
    sign(zone, IXFR, id, build(zone, IXFR, id, Some(held)), key, wall)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;
    use crate::message::parse_request;

    fn zone() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    #[test]
    fn requests_parse_and_verify() {
        let key = Key {
            name: Name::parse("1.2.3.4.5.6.7.8._transfer.example.org.", &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![3; 32],
        };
        let held = HeldSoa {
            ttl: 60,
            rdata: {
                let mut rd = Name::parse("ns.example.org.", &Name::root())
                    .unwrap()
                    .wire()
                    .to_vec();
                rd.extend_from_slice(&[0]);
                rd.extend_from_slice(&[
                    0, 0, 0, 42, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1,
                ]);
                rd
            },
        };
        for (sent, qtype) in [
            (soa_query(&zone(), 7, Some(&key), 1000), SOA),
            (axfr(&zone(), 7, Some(&key), 1000), AXFR),
            (ixfr(&zone(), 7, &held, Some(&key), 1000), IXFR),
        ] {
            let r = parse_request(&sent.msg).unwrap();
            assert_eq!(r.header.id, 7);
            assert!(!r.header.rd());
            let q = r.question.clone().unwrap();
            assert_eq!((q.name, q.qtype, sent.qtype), (zone(), qtype, qtype));
            let v = tsig::verify(
                &sent.msg,
                &r,
                core::slice::from_ref(&key),
                || Some(zone()),
                1000,
            )
            .unwrap();
            assert_eq!(Some(&v.tsig.mac), sent.signed.as_ref().map(|s| &s.1));
            if qtype == IXFR {
                assert_eq!(crate::transfer::ixfr_serial(&sent.msg, &r), Some(42));
            }
        }
        let plain = axfr(&zone(), 9, None, 0);
        assert_eq!(plain.signed, None);
        assert_eq!(parse_request(&plain.msg).unwrap().header.arcount, 0);
    }
}
