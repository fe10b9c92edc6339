//! The authoritative server, sans-I/O: a request in, a response written
//! into the caller's buffer. No clock, socket or allocation of its own
//! beyond the lookup's bookkeeping.

use crate::lookup::{lookup, AnyPolicy, Answer, Out};
use crate::message::{parse_request, Header, Rcode, Request, RequestError, OPCODE_QUERY};
use crate::rdata;
use crate::rtype::*;
use crate::wire::{Full, Writer};
use crate::zoneset::ZoneSet;

/// How the request arrived.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    Udp,
    Tcp,
}

/// Our EDNS UDP payload size (DNS flag day 2020 recommendation).
pub const EDNS_PAYLOAD: u16 = 1232;
/// Classic UDP limit without EDNS (RFC 1035 4.2.1).
const UDP_MIN: usize = 512;

/// Answer `msg`. Returns the response length in `out`, or None to drop.
pub fn handle(zs: &ZoneSet, msg: &[u8], transport: Transport, out: &mut [u8]) -> Option<usize> {
    let req = match parse_request(msg) {
        Ok(r) => r,
        Err(RequestError::Drop) => return None,
        Err(RequestError::FormErr(h)) => return error(&h, None, Rcode::FormErr, out),
    };
    let limit = size_limit(&req, transport, out.len());
    let out = &mut out[..limit];
    // RFC 6891 6.1.3: an unknown EDNS version gets BADVERS.
    if req.edns.is_some_and(|e| e.version > 0) {
        return error(&req.header, Some(&req), Rcode::BadVers, out);
    }
    if req.header.opcode() != OPCODE_QUERY {
        return error(&req.header, Some(&req), Rcode::NotImp, out);
    }
    let Some(q) = req.question.as_ref() else { return error(&req.header, Some(&req), Rcode::FormErr, out) };
    if q.qclass != IN {
        // CH version.bind and friends: we disclose nothing (documented policy).
        return error(&req.header, Some(&req), Rcode::Refused, out);
    }
    match q.qtype {
        AXFR | IXFR if transport == Transport::Udp => return error(&req.header, Some(&req), Rcode::FormErr, out),
        AXFR | IXFR | OPT | TSIG => return error(&req.header, Some(&req), Rcode::Refused, out),
        _ => {}
    }
    let any = if transport == Transport::Tcp { AnyPolicy::All } else { AnyPolicy::One };
    let Some(ans) = lookup(zs, &q.name, q.qtype, any) else {
        return error(&req.header, Some(&req), Rcode::Refused, out);
    };
    write_answer(&req, &ans, out)
}

/// Response size limit: TCP 65535; UDP the client's EDNS payload (at least
/// 512, at most our buffer), or 512 without EDNS.
fn size_limit(req: &Request, t: Transport, buf: usize) -> usize {
    let want = match (t, req.edns) {
        (Transport::Tcp, _) => 65_535,
        (Transport::Udp, Some(e)) => (e.payload as usize).max(UDP_MIN),
        (Transport::Udp, None) => UDP_MIN,
    };
    want.min(buf)
}

/// Header flags of a response: QR, opcode and RD echoed, AA, rcode low bits.
fn flags(h: &Header, aa: bool, rcode: u16) -> u16 {
    0x8000 | (h.flags & 0x7900) | if aa { 0x0400 } else { 0 } | (rcode & 0xf)
}

fn header(w: &mut Writer, h: &Header, flags: u16, qd: u16) -> Result<(), Full> {
    w.u16(h.id)?;
    w.u16(flags)?;
    w.u16(qd)?;
    w.u16(0)?;
    w.u16(0)?;
    w.u16(0)
}

fn question(w: &mut Writer, req: &Request) -> Result<u16, Full> {
    match &req.question {
        Some(q) => {
            w.name(&q.name, true)?;
            w.u16(q.qtype)?;
            w.u16(q.qclass)?;
            Ok(1)
        }
        None => Ok(0),
    }
}

/// OPT in a response (RFC 6891 6.1.3), carrying the upper rcode bits.
fn opt(w: &mut Writer, rcode: u16) -> Result<(), Full> {
    w.u8(0)?;
    w.u16(OPT)?;
    w.u16(EDNS_PAYLOAD)?;
    w.u32(((rcode as u32 >> 4) & 0xff) << 24)?;
    w.u16(0)
}

/// An error response: header, question when it parsed, OPT when asked.
fn error(h: &Header, req: Option<&Request>, rcode: Rcode, out: &mut [u8]) -> Option<usize> {
    let rc = rcode as u16;
    let mut w = Writer::new(out);
    header(&mut w, h, flags(h, false, rc), 0).ok()?;
    let qd = match req {
        Some(r) => question(&mut w, r).ok()?,
        None => 0,
    };
    w.set_u16(4, qd);
    if req.is_some_and(|r| r.edns.is_some()) || rcode == Rcode::BadVers {
        opt(&mut w, rc).ok()?;
        w.set_u16(10, 1);
    }
    Some(w.len())
}

fn rrset(w: &mut Writer, o: &Out) -> Result<u16, Full> {
    let mut n = 0;
    for rd in o.iter() {
        w.name(&o.owner, true)?;
        w.u16(o.rtype)?;
        w.u16(IN)?;
        w.u32(o.ttl)?;
        let len_at = w.len();
        w.u16(0)?;
        rdata::write(o.rtype, rd, w)?;
        let len = w.len() - len_at - 2;
        w.set_u16(len_at, len as u16);
        n += 1;
    }
    Ok(n)
}

/// Write a section; None when it did not fit (the writer is rolled back to
/// the last whole RRset).
fn section(w: &mut Writer, outs: &[Out]) -> (u16, bool) {
    let mut count = 0;
    for o in outs {
        let mark = w.len();
        match rrset(w, o) {
            Ok(n) => count += n,
            Err(Full) => {
                w.truncate(mark);
                return (count, false);
            }
        }
    }
    (count, true)
}

fn write_answer(req: &Request, ans: &Answer, out: &mut [u8]) -> Option<usize> {
    let edns = req.edns.is_some();
    // Keep room for the OPT record (11 bytes) when the client sent one.
    let room = out.len().saturating_sub(if edns { 11 } else { 0 });
    let (body, rest) = out.split_at_mut(room);
    let _ = rest;
    let mut w = Writer::new(body);
    let h = &req.header;
    header(&mut w, h, 0, 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    let after_question = w.len();
    let (an, ok_an) = section(&mut w, &ans.answer);
    let (ns, ok_ns) = if ok_an { section(&mut w, &ans.authority) } else { (0, false) };
    let mut tc = false;
    let (an, ns, ar) = if ok_an && ok_ns {
        // Additional data may be dropped without TC (RFC 2181 9).
        let (ar, _) = section(&mut w, &ans.additional);
        (an, ns, ar)
    } else {
        // RFC 2181 9: set TC and send what fits of nothing partial.
        tc = true;
        w.truncate(after_question);
        (0, 0, 0)
    };
    let mut f = flags(h, ans.authoritative, ans.rcode);
    if tc {
        f |= 0x0200;
    }
    w.set_u16(2, f);
    w.set_u16(4, qd);
    w.set_u16(6, an);
    w.set_u16(8, ns);
    w.set_u16(10, ar);
    let mut len = w.len();
    if edns {
        let mut w2 = Writer::new(&mut out[len..]);
        opt(&mut w2, ans.rcode).ok()?;
        len += w2.len();
        out[10..12].copy_from_slice(&(ar + 1).to_be_bytes());
    }
    Some(len)
}
