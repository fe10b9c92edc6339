//! The pieces every response starts and ends with (RFC 1035 4.1.1 header,
//! 4.1.2 question; RFC 6891 6.1 OPT), and the error response built from
//! them alone: a leaf the authority and the CHAOS answers share.

use crate::ctx::EDNS_PAYLOAD;
use crate::edns::Reply;
use crate::message::{Header, Rcode, Request};
use crate::name::Name;
use crate::wire::{Full, Writer};

/// Header flags of a response: QR, opcode and RD echoed, AA, rcode low bits.
pub fn flags(h: &Header, aa: bool, rcode: u16) -> u16 {
    0x8000 | (h.flags & 0x7900) | if aa { 0x0400 } else { 0 } | (rcode & 0xf)
}

/// The response header: the request's ID, `flags`, `qd` questions, no records yet.
pub fn header(w: &mut Writer, h: &Header, flags: u16, qd: u16) -> Result<(), Full> {
    w.u16(h.id)?;
    w.u16(flags)?;
    w.u16(qd)?;
    w.u16(0)?;
    w.u16(0)?;
    w.u16(0)
}

/// The request's question echoed, if it parsed; the count written.
pub fn question(w: &mut Writer, req: &Request) -> Result<u16, Full> {
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

/// One record of class IN (RFC 1035 4.1.3), names compressed where the
/// type allows (RFC 3597 4).
pub fn record(
    w: &mut Writer,
    owner: &Name,
    rtype: u16,
    ttl: u32,
    rdata: &[u8],
) -> Result<(), Full> {
    w.name(owner, true)?;
    w.u16(rtype)?;
    w.u16(crate::rtype::IN)?;
    w.u32(ttl)?;
    let at = w.len();
    w.u16(0)?;
    crate::rdata::write(rtype, rdata, w)?;
    w.set_u16(at, (w.len() - at - 2) as u16);
    Ok(())
}

/// Append the OPT of the response, if any, to a message whose additional
/// section has `ar` records so far, with the upper bits of `rcode`.
pub fn end_opt(w: &mut Writer, opt: Option<&Reply>, rcode: u16, ar: u16) -> Result<(), Full> {
    if let Some(o) = opt {
        o.write(w, rcode)?;
        w.set_u16(10, ar + 1);
    }
    Ok(())
}

/// An error response: header, question when it parsed, OPT when asked.
pub fn error(
    h: &Header,
    req: Option<&Request>,
    opt: Option<&Reply>,
    rcode: Rcode,
    out: &mut [u8],
) -> Option<usize> {
    let rc = rcode as u16;
    let mut w = Writer::new(out);
    header(&mut w, h, flags(h, false, rc), 0).ok()?;
    let qd = match req {
        Some(r) => question(&mut w, r).ok()?,
        None => 0,
    };
    w.set_u16(4, qd);
    // RFC 6891 6.1.3: an extended RCODE needs an OPT to carry it.
    let fallback = Reply {
        payload: EDNS_PAYLOAD,
        ..Default::default()
    };
    let opt = opt.or((rc > 15).then_some(&fallback));
    end_opt(&mut w, opt, rc, 0).ok()?;
    Some(w.len())
}
