//! Zone transfers out (RFC 5936 AXFR; RFC 1995 IXFR answered with the full
//! zone or, when the client is current, its SOA): over TCP only, SOA first
//! and last, many records per message with compression, TSIG on every
//! message (RFC 8945 5.3.1). Keys live in `_keys` files, never in zones,
//! so they are never transferred.

use crate::message::{Header, Request};
use crate::rdata;
use crate::rtype::*;
use crate::tsig::{self, Verified};
use crate::wire::{Reader, Writer};
use crate::zone::Zone;
use alloc::vec;
use alloc::vec::Vec;

/// Target size of one transfer message (RFC 5936 allows up to 65535).
const MESSAGE: usize = 16 * 1024;

/// One record to send.
struct Rr<'z> {
    owner: &'z crate::name::Name,
    rtype: u16,
    ttl: u32,
    rdata: &'z [u8],
}

fn records(zone: &Zone) -> Vec<Rr<'_>> {
    let mut v = Vec::with_capacity(zone.record_count());
    for node in zone.nodes() {
        for set in node.rrsets.iter().filter(|s| s.rtype != SOA) {
            for rd in &set.rdatas {
                v.push(Rr {
                    owner: &node.name,
                    rtype: set.rtype,
                    ttl: set.ttl,
                    rdata: rd,
                });
            }
        }
    }
    v
}

/// The serial of an IXFR request's SOA in the authority section (RFC 1995 3).
pub fn ixfr_serial(msg: &[u8], h: &Header) -> Option<u32> {
    let mut r = Reader::message(msg, 0);
    Header::parse(&mut r).ok()?;
    for _ in 0..h.qdcount {
        r.name().ok()?;
        r.u32().ok()?;
    }
    for _ in 0..h.ancount {
        crate::message::skip_rr(&mut r).ok()?;
    }
    if h.nscount == 0 {
        return None;
    }
    r.name().ok()?;
    let (t, _c, _ttl) = (r.u16().ok()?, r.u16().ok()?, r.u32().ok()?);
    let _len = r.u16().ok()?;
    if t != SOA {
        return None;
    }
    r.name().ok()?;
    r.name().ok()?;
    r.u32().ok()
}

fn start(w: &mut Writer, req: &Request, first: bool) -> Option<()> {
    let h = &req.header;
    w.u16(h.id).ok()?;
    w.u16(0x8000 | (h.flags & 0x7900) | 0x0400).ok()?;
    w.bytes(&[0; 8]).ok()?;
    if first {
        if let Some(q) = &req.question {
            w.name(&q.name, true).ok()?;
            w.u16(q.qtype).ok()?;
            w.u16(q.qclass).ok()?;
            w.set_u16(4, 1);
        }
    }
    Some(())
}

fn rr(w: &mut Writer, r: &Rr) -> Result<(), crate::wire::Full> {
    w.name(r.owner, true)?;
    w.u16(r.rtype)?;
    w.u16(IN)?;
    w.u32(r.ttl)?;
    let at = w.len();
    w.u16(0)?;
    rdata::write(r.rtype, r.rdata, w)?;
    let len = w.len() - at - 2;
    w.set_u16(at, len as u16);
    Ok(())
}

/// Stream the transfer of `zone` for `req` through `emit`, signing each
/// message when the request was signed. `client_serial`: for IXFR, the
/// serial the client has (current -> just the SOA).
pub fn stream(
    zone: &Zone,
    req: &Request,
    signed: Option<&Verified>,
    now: u64,
    client_serial: Option<u32>,
    emit: &mut dyn FnMut(&[u8]),
) -> Option<()> {
    let soa_set = zone.soa()?;
    let soa = Rr {
        owner: &zone.origin,
        rtype: SOA,
        ttl: soa_set.ttl,
        rdata: soa_set.rdatas.first()?,
    };
    let serial = zone.serial()?;
    let current = client_serial.is_some_and(|c| crate::serial::ge(c, serial));
    let body = if current { Vec::new() } else { records(zone) };
    let mut all: Vec<&Rr> = vec![&soa];
    all.extend(body.iter());
    if !current {
        all.push(&soa);
    }
    let mut buf = vec![0u8; MESSAGE + 2048];
    let mut prior_mac: Option<Vec<u8>> = None;
    let mut i = 0;
    let mut first = true;
    while i < all.len() {
        let mut w = Writer::new(&mut buf[..MESSAGE]);
        start(&mut w, req, first)?;
        let mut count = 0u16;
        while i < all.len() {
            let mark = w.len();
            if rr(&mut w, all[i]).is_err() {
                w.truncate(mark);
                break;
            }
            count += 1;
            i += 1;
        }
        if count == 0 {
            return None; // one record larger than a message: cannot happen with 16 KiB
        }
        w.set_u16(6, count);
        let len = w.len();
        let mut w = Writer::resume(&mut buf, len);
        if let Some(v) = signed {
            let mac = match &prior_mac {
                None => tsig::sign_response_mac(&mut w, &v.key, &v.tsig, now).ok()?,
                Some(p) => tsig::sign_continuation(&mut w, &v.key, &v.tsig, p, now).ok()?,
            };
            prior_mac = Some(mac);
        }
        emit(w.written());
        first = false;
    }
    Some(())
}
