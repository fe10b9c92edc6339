//! Zone transfers out (RFC 5936 AXFR; RFC 1995 IXFR answered from the
//! zone's history when it reaches back to the client's serial, else with
//! the full zone, or just the SOA when the client is current): over TCP,
//! SOA first and last, many records per message with compression, TSIG on
//! every message (RFC 8945 5.3.1). Keys live in `_keys` files, never in
//! zones, so they are never transferred.

use crate::journal::{Diff, DiffRr, Journal};
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

/// How a transfer was answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The whole zone (AXFR, or IXFR without history).
    Full,
    /// IXFR from the history: this many versions.
    Incremental(usize),
    /// IXFR of a current client: the SOA alone.
    Current,
}

/// RFC 1995 4: the incremental form, newest SOA first and last, each
/// version as old SOA, deleted RRs, new SOA, added RRs.
fn incremental<'j>(zone: &'j Zone, chain: &[&'j Diff]) -> Vec<Rr<'j>> {
    let mut v = Vec::new();
    let soa = |s: &'j (u32, Vec<u8>)| Rr {
        owner: &zone.origin,
        rtype: SOA,
        ttl: s.0,
        rdata: &s.1,
    };
    let rr = |r: &'j DiffRr| Rr {
        owner: &r.owner,
        rtype: r.rtype,
        ttl: r.ttl,
        rdata: &r.rdata,
    };
    for d in chain {
        v.push(soa(&d.old_soa));
        v.extend(d.deleted.iter().map(rr));
        v.push(soa(&d.new_soa));
        v.extend(d.added.iter().map(rr));
    }
    v
}

/// Stream the transfer of `zone` for `req` through `emit`, signing each
/// message when the request was signed. `client_serial`: for IXFR, the
/// serial the client has (current -> just the SOA; in `journal` -> the
/// differences). Returns how it was answered.
pub fn stream(
    zone: &Zone,
    journal: Option<&Journal>,
    req: &Request,
    signed: Option<&Verified>,
    now: u64,
    client_serial: Option<u32>,
    emit: &mut dyn FnMut(&[u8]),
) -> Option<Kind> {
    let soa_set = zone.soa()?;
    let soa = Rr {
        owner: &zone.origin,
        rtype: SOA,
        ttl: soa_set.ttl,
        rdata: soa_set.rdatas.first()?,
    };
    let serial = zone.serial()?;
    let current = client_serial.is_some_and(|c| crate::serial::ge(c, serial));
    let chain = client_serial
        .filter(|_| !current)
        .and_then(|c| journal?.chain(c, serial));
    let (kind, body) = match (current, &chain) {
        (true, _) => (Kind::Current, Vec::new()),
        (false, Some(c)) => (Kind::Incremental(c.len()), incremental(zone, c)),
        (false, None) => (Kind::Full, records(zone)),
    };
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
    Some(kind)
}
