//! The authoritative server, sans-I/O: a request in, a response written
//! into the caller's buffer. No clock, socket or allocation of its own
//! beyond the lookup's bookkeeping.

use crate::edns::Reply;
use crate::lookup::{lookup, Answer, AnyPolicy, Out};
use crate::message::{
    parse_request, Rcode, Request, RequestError, OPCODE_NOTIFY, OPCODE_QUERY, OPCODE_UPDATE,
};
use crate::name::Name;
use crate::rdata;
use crate::respond::{end_opt, error, flags, header, question};
use crate::rrl::Action;
use crate::rtype::*;
use crate::transfer::Transfer;
use crate::tsig::{self, Op, TsigError, Verified};
use crate::wire::{Full, Writer};
use crate::zoneset::ZoneSet;
use alloc::vec::Vec;

pub use crate::ctx::{Ctx, Policy, Transport, EDNS_PAYLOAD};

/// Classic UDP limit without EDNS (RFC 1035 4.2.1).
const UDP_MIN: usize = 512;

/// Something the appliance must act on after a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A signed NOTIFY for this zone: fetch and reload it (RFC 1996).
    Resync(Name),
    /// A signed NOTIFY for this zone's DS (issue 26): the operator says
    /// the parent now serves the DS its CDS asked for (RFC 7344 4.1's
    /// acceptance, told rather than polled): the key rollover goes on.
    DsSeen(Name),
    /// An UPDATE changed this zone (already committed and served).
    Updated(Name),
    /// A signed SOA query over TCP, by a key allowed to transfer the zone:
    /// the sender is a secondary to NOTIFY (DESIGN.md).
    Secondary { zone: Name, key: crate::keys::Key },
    /// A signed SOA query for the root over TCP (seed 001's secondary):
    /// NOTIFY the sender for every zone `key` may transfer, and keep it as
    /// their secondary.
    SecondaryOfAll { key: crate::keys::Key },
    /// A NOTIFY for a zone not served whose TSIG names no key known yet
    /// (or whose MAC no known key verifies): the zone and its keys may
    /// arrive with the next fetch. Nothing was answered; the caller may
    /// reload and run the message again without [`Policy::hold`]. `key`
    /// is the key name it claims (for the rate limit, `notify_hold`).
    Held { zone: Name, key: Name },
    /// An UPDATE passed every check and is applied, not yet durable: the
    /// caller makes it durable, then keeps or withdraws it and sends one
    /// of its two answers (nothing was sent).
    Prepared(alloc::boxed::Box<crate::prepare::Prepared>),
    /// A zone transfer went out (for the log).
    Transferred {
        zone: Name,
        serial: u32,
        kind: crate::transfer::Kind,
    },
}

/// Bytes kept free for a TSIG record on signed responses.
const TSIG_ROOM: usize = 400;

pub use crate::prepare::INTERNAL_KEY;

/// Answer `msg` with one message in `out` (for tests and fuzzing: no TSIG
/// clock, so signed requests get BADTIME; a prepared UPDATE is withdrawn
/// and answered SERVFAIL).
/// Returns the response length, None to drop.
pub fn handle(zs: &mut ZoneSet, msg: &[u8], transport: Transport, out: &mut [u8]) -> Option<usize> {
    let mut first: Option<Vec<u8>> = None;
    let policy = Policy::default();
    let mut ctx = Ctx::new(transport, 0, &policy);
    let event = serve(zs, msg, &mut ctx, out, &mut |m| {
        first.get_or_insert_with(|| m.to_vec());
    });
    if let Some(Event::Prepared(mut p)) = event {
        p.withdraw(zs);
        first = Some(p.fail);
    }
    let m = first?;
    out[..m.len()].copy_from_slice(&m);
    Some(m.len())
}

/// Answer `msg`, sending every response message through `emit` (one for
/// most requests, many for a zone transfer; none to drop). `out` is scratch
/// space of at least 65535 bytes for TCP. Returns the event, if any (an
/// [`Event::Prepared`] UPDATE is the caller's to keep or withdraw).
pub fn serve(
    zs: &mut ZoneSet,
    msg: &[u8],
    ctx: &mut Ctx,
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
) -> Option<Event> {
    let mut pending = None;
    let event = serve_streamed(zs, msg, ctx, out, emit, &mut pending);
    if let Some(mut t) = pending {
        let mut buf = Vec::new();
        while let Some(m) = t.next(&mut buf) {
            emit(m);
        }
    }
    event
}

/// As [`serve`], but a zone transfer is not sent: it is left in `pending`
/// for the caller to send one message at a time, as its connection drains.
pub fn serve_streamed(
    zs: &mut ZoneSet,
    msg: &[u8],
    ctx: &mut Ctx,
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
    pending: &mut Option<Transfer>,
) -> Option<Event> {
    let req = match parse_request(msg) {
        Ok(r) => r,
        Err(RequestError::Drop) => return None,
        Err(RequestError::FormErr(h)) => {
            if let Some(n) = error(&h, None, None, Rcode::FormErr, out) {
                send(ctx, None, None, false, out, n, emit);
            }
            return None;
        }
    };
    let (opt, cookie_ok) = edns_reply(&req, ctx);
    let opt = opt.as_ref();
    let limit = size_limit(&req, ctx, out.len());
    let now = ctx.now;
    let zone = || {
        req.question
            .as_ref()
            .and_then(|q| zs.zone_for(&q.name))
            .map(|z| z.origin.clone())
    };
    // RFC 8945 5.2: verify before anything else.
    let signed = match tsig::verify(msg, &req, &zs.keys, zone, now) {
        Ok(v) => Some(v),
        Err(TsigError::Unsigned) => None,
        Err(e) => {
            if let Some(ev) = held_notify(zs, &req, &e, ctx.hold) {
                return Some(ev);
            }
            if let Some(n) = tsig_failure(&req, opt, e, now, &mut out[..limit]) {
                send(ctx, Some(&req), opt, cookie_ok, out, n, emit);
            }
            return None;
        }
    };
    // RFC 7873 5.2.5 and Knot: a valid server cookie or TSIG proves the
    // source address; such clients are not rate limited.
    let proven = cookie_ok || signed.is_some();
    let room = if signed.is_some() {
        limit.saturating_sub(TSIG_ROOM)
    } else {
        limit
    };
    let a = Asked {
        msg,
        req: &req,
        opt,
        signed: signed.as_ref(),
        proven,
    };
    if req.header.opcode() == OPCODE_UPDATE && req.edns.is_none_or(|e| e.version == 0) {
        return update(zs, &a, ctx, (room, limit), out, emit);
    }
    if let Some(q) = transfer_question(&req, ctx.transport) {
        return transfer(&*zs, &a, q, ctx, &mut out[..limit], emit, pending);
    }
    let (len, event) = dispatch(&*zs, &a, ctx, &mut out[..room])?;
    let event = event.or_else(|| secondary(zs, &a, ctx.transport));
    let len = sign(&mut out[..limit], len, signed.as_ref(), now)?;
    send(ctx, Some(&req), opt, proven, out, len, emit);
    event
}

/// The answer to a request whose TSIG failed (RFC 8945 5.2): NOTAUTH with
/// the TSIG error, or FORMERR.
fn tsig_failure(
    req: &Request,
    opt: Option<&Reply>,
    e: TsigError,
    now: u64,
    out: &mut [u8],
) -> Option<usize> {
    match e {
        TsigError::NotAuth {
            error: code,
            key,
            tsig: Some(t),
        } => tsig_error(req, opt, code, key.as_ref(), &t, now, out),
        TsigError::FormErr => error(&req.header, Some(req), opt, Rcode::FormErr, out),
        _ => error(&req.header, Some(req), opt, Rcode::NotAuth, out),
    }
}

/// The question of a zone transfer request over TCP (RFC 5936 4.2: TCP
/// only; an UDP IXFR is answered by `query`).
fn transfer_question(req: &Request, transport: Transport) -> Option<&crate::message::Question> {
    if transport != Transport::Tcp
        || req.header.opcode() != OPCODE_QUERY
        || req.edns.is_some_and(|e| e.version != 0)
    {
        return None;
    }
    req.question
        .as_ref()
        .filter(|q| matches!(q.qtype, AXFR | IXFR) && q.qclass == IN)
}

/// A signed SOA query over TCP by a key allowed to transfer the zone: the
/// sender is a secondary to NOTIFY (DESIGN.md).
fn secondary(zs: &ZoneSet, a: &Asked, transport: Transport) -> Option<Event> {
    let (v, q) = (a.signed?, a.req.question.as_ref()?);
    let soa_query = a.req.header.opcode() == OPCODE_QUERY && q.qtype == SOA;
    if transport != Transport::Tcp
        || !soa_query
        || zs.zone(&q.name).is_none()
        || !tsig::allows(&v.key.name, Op::Transfer, &q.name)
    {
        return None;
    }
    Some(Event::Secondary {
        zone: q.name.to_lowercase(),
        key: v.key.clone(),
    })
}

/// A request (the message, parsed once) with what its answer carries
/// besides the records: the OPT of the response (when the query had one)
/// and the verified TSIG.
struct Asked<'r> {
    msg: &'r [u8],
    req: &'r Request,
    opt: Option<&'r Reply<'r>>,
    signed: Option<&'r Verified>,
    /// A valid server cookie or TSIG proved the source (no rate limit).
    proven: bool,
}

/// The OPT of the response (RFC 6891 6.1.1: whenever the query had one)
/// and whether the query carried a valid server cookie of ours.
fn edns_reply<'p>(req: &Request, ctx: &Ctx<'p>) -> (Option<Reply<'p>>, bool) {
    let Some(e) = req.edns else {
        return (None, false);
    };
    let mut cookie_ok = false;
    let cookie = match (e.opts.cookie, ctx.cookies) {
        (Some(c), Some(s)) => {
            cookie_ok = s.verify(&c, ctx.client, ctx.now) == crate::cookie::Verdict::Valid;
            // RFC 7873 5.2.3-5.2.5: every answer carries a fresh server
            // cookie for the client cookie it got.
            Some(s.reply(&c.client, ctx.client, ctx.now))
        }
        _ => None,
    };
    let reply = Reply {
        payload: ctx.policy.edns_udp_size,
        // RFC 3225 3: the DO bit is copied into the response.
        dnssec_ok: e.dnssec_ok,
        nsid: ctx.policy.nsid.as_deref().filter(|_| e.opts.nsid),
        cookie,
        // RFC 7828 3.3.2: only over TCP, only when the client sent it.
        keepalive: ctx
            .keepalive
            .filter(|_| e.opts.keepalive && ctx.transport == Transport::Tcp),
    };
    (Some(reply), cookie_ok)
}

/// Send a response of `len` bytes in `out`, through the rate limiter for
/// UDP from a client that proved nothing (RFC 7873 5.2.3, Knot's RRL).
fn send(
    ctx: &mut Ctx,
    req: Option<&Request>,
    opt: Option<&Reply>,
    proven: bool,
    out: &mut [u8],
    len: usize,
    emit: &mut dyn FnMut(&[u8]),
) {
    let mut len = len;
    if let (Transport::Udp, false, Some(rrl)) = (ctx.transport, proven, ctx.rrl.as_deref_mut()) {
        let name = req
            .and_then(|r| r.question.as_ref())
            .map_or(&[0u8][..], |q| q.name.wire());
        let class = crate::rrl::Class::of(&out[..len]);
        match rrl.check(ctx.client, class, name, ctx.mono_ms) {
            Action::Send => {}
            Action::Drop => return,
            Action::Slip => match slip(req, opt, out) {
                Some(n) => len = n,
                None => return,
            },
        }
    }
    emit(&out[..len]);
}

/// The answer sent instead of a rate-limited one: BADCOOKIE with a fresh
/// cookie to a client that has a cookie (it retries with ours, RFC 7873
/// 5.2.3), else the header and question with TC (it retries over TCP).
fn slip(req: Option<&Request>, opt: Option<&Reply>, out: &mut [u8]) -> Option<usize> {
    let req = req?;
    if opt.is_some_and(|o| o.cookie.is_some()) {
        return error(&req.header, Some(req), opt, Rcode::BadCookie, out);
    }
    let (f, rc) = (u16::from_be_bytes([out[2], out[3]]), (out[3] & 0xf) as u16);
    let mut w = Writer::new(out);
    header(&mut w, &req.header, f | 0x0200, 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    w.set_u16(4, qd);
    if let Some(o) = opt {
        o.write(&mut w, rc).ok()?;
        w.set_u16(10, 1);
    }
    Some(w.len())
}

/// Append the TSIG of the response to a signed request (RFC 8945 4.3)
/// after the `len` bytes in `out`; an unsigned response stays as it is.
/// Returns the new length.
fn sign(out: &mut [u8], len: usize, signed: Option<&Verified>, now: u64) -> Option<usize> {
    let Some(v) = signed else { return Some(len) };
    let mut w = crate::wire::Writer::resume(out, len);
    tsig::sign_response(&mut w, &v.key, &v.tsig, now, 0).ok()?;
    Some(w.len())
}

/// UPDATE (RFC 2136 3, RFC 3007): answered now when it fails a check or
/// changes nothing; else prepared, with its answer for success and for
/// failure (RFC 2136 3.5: acknowledged only once durable), and nothing
/// sent. `sizes`: room for the answer before its TSIG, and in all.
fn update(
    zs: &mut ZoneSet,
    a: &Asked,
    ctx: &mut Ctx,
    sizes: (usize, usize),
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
) -> Option<Event> {
    let (room, limit) = sizes;
    let (req, now) = (a.req, ctx.now);
    let answer = |rcode: Rcode, out: &mut [u8]| {
        let len = error(&req.header, Some(req), a.opt, rcode, &mut out[..room])?;
        sign(&mut out[..limit], len, a.signed, now)
    };
    let change = match crate::prepare::prepare(zs, (a.msg, req), a.signed, ctx.internal) {
        Ok(c) => c,
        Err(rcode) => {
            let len = answer(rcode, out)?;
            send(ctx, Some(req), a.opt, a.proven, out, len, emit);
            return None;
        }
    };
    let mut answers = [Rcode::NoError, Rcode::ServFail, Rcode::Refused]
        .map(|rcode| answer(rcode, out).map(|n| out[..n].to_vec()));
    if answers.iter().any(Option::is_none) {
        change.undo(zs);
        return None;
    }
    let answers = answers.each_mut().map(|a| a.take().unwrap_or_default());
    Some(Event::Prepared(alloc::boxed::Box::new(
        change.answered(answers),
    )))
}

/// May this request transfer the zone `origin`: signed by a key allowed
/// to, or unsigned with `--axfr` (RFC 5936 6, RFC 1995 4 for IXFR alike).
fn may_transfer(signed: Option<&Verified>, origin: &Name, policy: &Policy) -> bool {
    match signed {
        Some(v) => tsig::allows(&v.key.name, Op::Transfer, origin),
        None => policy.unsigned_axfr,
    }
}

/// AXFR/IXFR over TCP (RFC 5936 2.2, RFC 1995): for a zone we serve, with a
/// key allowed to transfer it, or unsigned when the operator said `--axfr`.
fn transfer(
    zs: &ZoneSet,
    a: &Asked,
    q: &crate::message::Question,
    ctx: &mut Ctx,
    out: &mut [u8],
    emit: &mut dyn FnMut(&[u8]),
    pending: &mut Option<Transfer>,
) -> Option<Event> {
    let (req, signed, now) = (a.req, a.signed, ctx.now);
    let refuse = |rcode: Rcode, out: &mut [u8], emit: &mut dyn FnMut(&[u8])| {
        let len = error(&req.header, Some(req), a.opt, rcode, out)
            .and_then(|len| sign(out, len, signed, now));
        if let Some(n) = len {
            emit(&out[..n]);
        }
    };
    let Some(zone) = zs.shared(&q.name) else {
        // An expired copy: SERVFAIL, as for a query (Knot alike).
        let rcode = match zs.is_expired_for(&q.name) {
            true => Rcode::ServFail,
            false => Rcode::NotAuth,
        };
        refuse(rcode, out, emit);
        return None;
    };
    if !may_transfer(signed, &zone.origin, ctx.policy) {
        refuse(Rcode::Refused, out, emit);
        return None;
    }
    let client = if q.qtype == IXFR {
        crate::transfer::ixfr_serial(a.msg, req)
    } else {
        None
    };
    let journal = zs.journal(&zone.origin);
    let Some(t) = Transfer::new(zone, journal, req, signed, now, client) else {
        refuse(Rcode::ServFail, out, emit);
        return None;
    };
    let event = Event::Transferred {
        zone: t.origin().clone(),
        serial: t.serial(),
        kind: t.kind,
    };
    *pending = Some(t);
    Some(event)
}

/// NOTAUTH with the TSIG error; signed only for BADTIME (RFC 8945 5.3.2).
fn tsig_error(
    req: &Request,
    opt: Option<&Reply>,
    e: u16,
    key: Option<&crate::keys::Key>,
    t: &tsig::TsigRr,
    now: u64,
    out: &mut [u8],
) -> Option<usize> {
    let len = error(&req.header, Some(req), opt, Rcode::NotAuth, out)?;
    let mut w = crate::wire::Writer::resume(out, len);
    match key {
        Some(k) if e == tsig::BADTIME => tsig::sign_response(&mut w, k, t, now, e).ok()?,
        _ => tsig::unsigned_error(&mut w, t, now, e).ok()?,
    }
    Some(w.len())
}

fn dispatch(zs: &ZoneSet, a: &Asked, ctx: &Ctx, out: &mut [u8]) -> Option<(usize, Option<Event>)> {
    let req = a.req;
    // RFC 6891 6.1.3: an unknown EDNS version gets BADVERS.
    if req.edns.is_some_and(|e| e.version > 0) {
        return error(&req.header, Some(req), a.opt, Rcode::BadVers, out).map(|n| (n, None));
    }
    match req.header.opcode() {
        OPCODE_QUERY if is_root_soa(req, a.signed) => root_soa(a, ctx.transport, out),
        OPCODE_QUERY => query(zs, a, ctx, out).map(|n| (n, None)),
        OPCODE_NOTIFY => notify(zs, a, out),
        _ => error(&req.header, Some(req), a.opt, Rcode::NotImp, out).map(|n| (n, None)),
    }
}

/// Incoming NOTIFY (RFC 1996 3.7, 4.7): only signed by a key allowed to
/// notify the zone; answered with AA and the question, and a resync event.
fn notify(zs: &ZoneSet, a: &Asked, out: &mut [u8]) -> Option<(usize, Option<Event>)> {
    let req = a.req;
    let Some(q) = req.question.as_ref() else {
        return error(&req.header, Some(req), a.opt, Rcode::FormErr, out).map(|n| (n, None));
    };
    let ours = zs.zone(&q.name).is_some();
    let allowed = a
        .signed
        .is_some_and(|v| tsig::allows(&v.key.name, Op::Notify, &q.name));
    if !allowed || q.name.is_root() {
        return error(&req.header, Some(req), a.opt, Rcode::NotAuth, out).map(|n| (n, None));
    }
    // A zone not served yet, by a key that covers it (a key of the root or
    // of a zone above): it may be new in the source. Acknowledged without
    // AA (we do not serve it yet), and fetched (seed 001: "dynamic
    // addition of zones").
    let mut w = Writer::new(out);
    header(&mut w, &req.header, flags(&req.header, ours, 0), 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    w.set_u16(4, qd);
    end_opt(&mut w, a.opt, 0, 0).ok()?;
    let zone = q.name.to_lowercase();
    let event = match q.qtype {
        crate::rtype::DS if ours => Event::DsSeen(zone),
        _ => Event::Resync(zone),
    };
    Some((w.len(), Some(event)))
}

/// Should this failed verification hold the NOTIFY for a reload (see
/// [`Event::Held`])? Only for a zone not served, only when the key is
/// unknown or its MAC did not verify (a new zone's own `ZONE._keys` comes
/// with the zone), and only when the caller asked for it.
fn held_notify(zs: &ZoneSet, req: &Request, e: &TsigError, hold: bool) -> Option<Event> {
    let q = req.question.as_ref()?;
    let TsigError::NotAuth {
        error: tsig::BADKEY | tsig::BADSIG,
        tsig: Some(t),
        ..
    } = e
    else {
        return None;
    };
    let fits = hold
        && req.header.opcode() == OPCODE_NOTIFY
        && q.qtype == SOA
        && !q.name.is_root()
        && zs.zone(&q.name).is_none();
    fits.then(|| Event::Held {
        zone: q.name.to_lowercase(),
        key: t.key_name.clone(),
    })
}

/// A signed SOA query for the root zone, by a key that may transfer: the
/// seed's secondary asks it to learn every zone of the primary.
fn is_root_soa(req: &Request, signed: Option<&Verified>) -> bool {
    let may_transfer = signed
        .is_some_and(|v| tsig::permission(&v.key.name).is_some_and(|(op, _)| op >= Op::Transfer));
    may_transfer
        && req
            .question
            .as_ref()
            .is_some_and(|q| q.name.is_root() && q.qtype == SOA && q.qclass == IN)
}

/// The SOA answered for the root: we serve no root zone, so the answer is
/// not authoritative (no AA: a secondary must not transfer it) and the SOA
/// is made up: `. 0 SOA ns. hostmaster. 0 16384 2048 1048576 300`, the
/// values ocaml-dns gives the root in its key store.
const ROOT_SOA: [u32; 5] = [0, 16384, 2048, 1_048_576, 300];

/// Answer [`is_root_soa`] (seed 001: "responds to a signed SOA for the
/// root zone with the SOA response (not authoritative), and additionally
/// notifications for all domains"). Over TCP only the sender is taken as
/// a secondary: a UDP source could be forged, and one query would send a
/// NOTIFY per zone to it.
fn root_soa(a: &Asked, transport: Transport, out: &mut [u8]) -> Option<(usize, Option<Event>)> {
    let (req, signed) = (a.req, a.signed?);
    let name = |s| Name::parse(s, &Name::root()).ok();
    let mut w = Writer::new(out);
    header(&mut w, &req.header, flags(&req.header, false, 0), 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    w.set_u16(4, qd);
    let mut rd = Vec::with_capacity(64);
    rd.extend_from_slice(name("ns.")?.wire());
    rd.extend_from_slice(name("hostmaster.")?.wire());
    ROOT_SOA
        .iter()
        .for_each(|v| rd.extend_from_slice(&v.to_be_bytes()));
    w.name(&Name::root(), false).ok()?;
    w.u16(SOA).ok()?;
    w.u16(IN).ok()?;
    w.u32(0).ok()?;
    w.u16(rd.len() as u16).ok()?;
    w.bytes(&rd).ok()?;
    w.set_u16(6, 1);
    end_opt(&mut w, a.opt, 0, 0).ok()?;
    let event = (transport == Transport::Tcp).then(|| Event::SecondaryOfAll {
        key: signed.key.clone(),
    });
    Some((w.len(), event))
}

/// IXFR over UDP (RFC 1995 4): refused exactly like a transfer over TCP
/// would be; allowed, it gets our SOA (a current client stops, any other
/// retries over TCP).
fn ixfr_udp(zs: &ZoneSet, a: &Asked, policy: &Policy, out: &mut [u8]) -> Option<usize> {
    let req = a.req;
    let q = req.question.as_ref()?;
    let Some(zone) = zs.zone(&q.name) else {
        return error(&req.header, Some(req), a.opt, Rcode::NotAuth, out);
    };
    if !may_transfer(a.signed, &zone.origin, policy) {
        return error(&req.header, Some(req), a.opt, Rcode::Refused, out);
    }
    let mut w = Writer::new(out);
    header(&mut w, &req.header, flags(&req.header, true, 0), 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    w.set_u16(4, qd);
    let soa = zone.soa()?;
    let o = Out {
        owner: zone.origin.clone(),
        rtype: SOA,
        ttl: soa.ttl,
        rdatas: crate::lookup::OutData::Zone(soa.rdatas),
    };
    let n = rrset(&mut w, &o).ok()?;
    w.set_u16(6, n);
    end_opt(&mut w, a.opt, 0, 0).ok()?;
    Some(w.len())
}

fn query(zs: &ZoneSet, a: &Asked, ctx: &Ctx, out: &mut [u8]) -> Option<usize> {
    let req = a.req;
    let Some(q) = req.question.as_ref() else {
        return error(&req.header, Some(req), a.opt, Rcode::FormErr, out);
    };
    if q.qclass == CH {
        return crate::chaos::answer(a.req, a.opt, ctx.policy, out);
    }
    if q.qclass != IN {
        return error(&req.header, Some(req), a.opt, Rcode::Refused, out);
    }
    match q.qtype {
        AXFR if ctx.transport == Transport::Udp => {
            return error(&req.header, Some(req), a.opt, Rcode::FormErr, out)
        }
        IXFR if ctx.transport == Transport::Udp => return ixfr_udp(zs, a, ctx.policy, out),
        AXFR | IXFR | OPT | TSIG => {
            return error(&req.header, Some(req), a.opt, Rcode::Refused, out)
        }
        _ => {}
    }
    let any = if ctx.transport == Transport::Tcp {
        AnyPolicy::All
    } else {
        AnyPolicy::One
    };
    if zs.is_expired_for(&q.name) {
        return error(&req.header, Some(req), a.opt, Rcode::ServFail, out);
    }
    let dnssec = req.edns.is_some_and(|e| e.dnssec_ok);
    let Some(ans) = lookup(zs, &q.name, q.qtype, any, dnssec) else {
        return error(&req.header, Some(req), a.opt, Rcode::Refused, out);
    };
    write_answer(req, a.opt, &ans, out)
}

/// Response size limit: TCP 65535. UDP with EDNS: the client's payload
/// (at least 512, RFC 6891 6.2.5) but no more than `--edns-udp-size`;
/// without EDNS 512 (RFC 1035 4.2.1). Never more than one IP packet on
/// the path (no fragments), nor than the buffer.
fn size_limit(req: &Request, ctx: &Ctx, buf: usize) -> usize {
    let want = match (ctx.transport, req.edns) {
        (Transport::Tcp, _) => return 65_535.min(buf),
        (Transport::Udp, Some(e)) => (e.payload as usize)
            .max(UDP_MIN)
            .min(ctx.policy.edns_udp_size as usize),
        (Transport::Udp, None) => UDP_MIN,
    };
    want.min(ctx.path_max).min(buf)
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

fn write_answer(req: &Request, opt: Option<&Reply>, ans: &Answer, out: &mut [u8]) -> Option<usize> {
    // Keep room for the OPT record when the client sent one.
    let room = out.len().saturating_sub(opt.map_or(0, |o| o.len()));
    let mut w = Writer::new(&mut out[..room]);
    let h = &req.header;
    header(&mut w, h, 0, 0).ok()?;
    let qd = question(&mut w, req).ok()?;
    let after_question = w.len();
    let (an, ok_an) = section(&mut w, &ans.answer);
    let (ns, ok_ns) = if ok_an {
        section(&mut w, &ans.authority)
    } else {
        (0, false)
    };
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
    let len = w.len();
    let mut w = Writer::resume(out, len);
    end_opt(&mut w, opt, ans.rcode, ar).ok()?;
    Some(w.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::Header;
    use crate::name::Name;
    use crate::wire::Reader;
    use alloc::string::String;
    use alloc::vec::Vec;

    const ZONE: &str = "$TTL 3600
@ SOA ns hm 1 2 3 4 60
@ NS ns
@ MX 10 mail
ns A 192.0.2.1
mail A 192.0.2.2
www A 192.0.2.3
alias CNAME www
out CNAME www.elsewhere.net.
l1 CNAME l2
l2 CNAME l1
*.w A 192.0.2.9
a.b.ent TXT \"x\"
d DNAME t.example.org.
t A 192.0.2.10
x.t A 192.0.2.11
sub NS ns.sub
ns.sub A 192.0.2.53
two A 192.0.2.20
two A 192.0.2.21
two TXT \"t\"
five TXT \"%1\"
five TXT \"%2\"
five TXT \"%3\"
five TXT \"%4\"
five TXT \"%5\"
";

    fn zs() -> ZoneSet {
        // "five": five TXT records of 200 bytes (about 1.1 KB of answer).
        let mut zone = String::from(ZONE);
        for i in 1..=5 {
            let long: String = core::iter::repeat_n(char::from(b'a' + i), 200).collect();
            zone = zone.replace(&alloc::format!("%{i}"), &long);
        }
        ZoneSet::load(&[(String::from("example.org"), zone.into_bytes())], None).0
    }

    /// A query with an OPT: payload, DO and raw options.
    fn edns_query(name: &str, qtype: u16, payload: u16, dnssec_ok: bool, opts: &[u8]) -> Vec<u8> {
        let mut m = query(name, qtype, None);
        m[11] = 1;
        m.extend_from_slice(&[0, 0, 41]);
        m.extend_from_slice(&payload.to_be_bytes());
        m.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
        m.extend_from_slice(&(opts.len() as u16).to_be_bytes());
        m.extend_from_slice(opts);
        m
    }

    /// The options in an OPT RDATA.
    fn options(rd: &[u8]) -> Vec<(u16, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at + 4 <= rd.len() {
            let code = u16::from_be_bytes([rd[at], rd[at + 1]]);
            let len = u16::from_be_bytes([rd[at + 2], rd[at + 3]]) as usize;
            out.push((code, rd[at + 4..at + 4 + len].to_vec()));
            at += 4 + len;
        }
        out
    }

    fn query(name: &str, qtype: u16, edns: Option<u8>) -> Vec<u8> {
        let mut m = alloc::vec![
            0xab,
            0xcd,
            0x01,
            0x00,
            0,
            1,
            0,
            0,
            0,
            0,
            0,
            edns.is_some() as u8
        ];
        m.extend_from_slice(Name::parse(name, &Name::root()).unwrap().wire());
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&IN.to_be_bytes());
        if let Some(v) = edns {
            m.extend_from_slice(&[0, 0, 41, 0x10, 0x00, 0, v, 0, 0, 0, 0]);
        }
        m
    }

    /// (flags, rcode incl. extended, sections of "owner TYPE rdata-text").
    struct Resp {
        flags: u16,
        rcode: u16,
        sec: [Vec<String>; 3],
        /// The OPT's TTL field and RDATA.
        opt: Option<(u32, Vec<u8>)>,
        len: usize,
    }

    fn ask(msg: &[u8], t: Transport, size: usize) -> Option<Resp> {
        let mut out = alloc::vec![0u8; size];
        let n = handle(&mut zs(), msg, t, &mut out)?;
        Some(parse(&out[..n]))
    }

    /// Every response message to `msg` in `ctx`.
    fn run(zs: &mut ZoneSet, msg: &[u8], ctx: &mut Ctx) -> Option<Vec<u8>> {
        let mut out = alloc::vec![0u8; 65535];
        let mut first = None;
        serve(zs, msg, ctx, &mut out, &mut |m| {
            first.get_or_insert_with(|| m.to_vec());
        });
        first
    }

    fn parse(b: &[u8]) -> Resp {
        let mut r = Reader::new(b);
        let h = Header::parse(&mut r).unwrap();
        for _ in 0..h.qdcount {
            r.name().unwrap();
            r.u32().unwrap();
        }
        let mut sec: [Vec<String>; 3] = Default::default();
        let mut rcode = h.flags & 0xf;
        let mut opt = None;
        for (i, count) in [h.ancount, h.nscount, h.arcount].into_iter().enumerate() {
            for _ in 0..count {
                let owner = r.name().unwrap();
                let (ty, _class, ttl) = (r.u16().unwrap(), r.u16().unwrap(), r.u32().unwrap());
                let len = r.u16().unwrap() as usize;
                if ty == OPT {
                    rcode |= ((ttl >> 24) as u16) << 4;
                    opt = Some((ttl, r.bytes(len).unwrap().to_vec()));
                    sec[i].push(String::from("OPT"));
                    continue;
                }
                let rd = crate::rdata::from_wire(ty, &mut r, len).unwrap();
                sec[i].push(alloc::format!(
                    "{} {} {} {}",
                    owner,
                    ttl,
                    to_text(ty),
                    crate::rdata::to_text_rdata(ty, &rd)
                ));
            }
        }
        Resp {
            flags: h.flags,
            rcode,
            sec,
            opt,
            len: b.len(),
        }
    }

    fn udp(name: &str, t: u16) -> Resp {
        ask(&query(name, t, None), Transport::Udp, 4096).unwrap()
    }

    fn aa(r: &Resp) -> bool {
        r.flags & 0x0400 != 0
    }

    #[test]
    fn exact_and_case_preserving() {
        let r = udp("WWW.example.ORG.", A);
        assert!(aa(&r) && r.rcode == 0);
        assert_eq!(r.sec[0], ["WWW.example.ORG. 3600 A 192.0.2.3"]);
        assert_eq!(r.flags & 0x0100, 0x0100, "RD echoed");
    }

    #[test]
    fn cnames_chase_inside_stop_outside_and_loops_end() {
        assert_eq!(
            udp("alias.example.org.", A).sec[0],
            [
                "alias.example.org. 3600 CNAME www.example.org.",
                "www.example.org. 3600 A 192.0.2.3"
            ]
        );
        assert_eq!(
            udp("out.example.org.", A).sec[0],
            ["out.example.org. 3600 CNAME www.elsewhere.net."]
        );
        let r = udp("l1.example.org.", A);
        assert!(r.sec[0].len() <= 16 + 1 && r.rcode == 0);
        assert_eq!(
            udp("alias.example.org.", CNAME).sec[0],
            ["alias.example.org. 3600 CNAME www.example.org."]
        );
    }

    #[test]
    fn wildcards_and_empty_non_terminals() {
        assert_eq!(
            udp("q.w.example.org.", A).sec[0],
            ["q.w.example.org. 3600 A 192.0.2.9"]
        );
        assert_eq!(
            udp("deep.q.w.example.org.", A).sec[0],
            ["deep.q.w.example.org. 3600 A 192.0.2.9"]
        );
        let r = udp("q.w.example.org.", MX);
        assert_eq!(
            (r.rcode, r.sec[0].len(), r.sec[1].len()),
            (0, 0, 1),
            "NODATA at a wildcard"
        );
        let r = udp("b.ent.example.org.", A);
        assert_eq!(
            (r.rcode, r.sec[0].len()),
            (0, 0),
            "ENT: NODATA, not NXDOMAIN"
        );
        let r = udp("nope.example.org.", A);
        assert_eq!(r.rcode, 3);
        assert_eq!(
            r.sec[1],
            ["example.org. 60 SOA ns.example.org. hm.example.org. 1 2 3 4 60"],
            "SOA TTL = min(TTL, MINIMUM)"
        );
    }

    #[test]
    fn referrals_and_ds() {
        let r = udp("host.sub.example.org.", A);
        assert!(!aa(&r));
        assert_eq!(r.sec[1], ["sub.example.org. 3600 NS ns.sub.example.org."]);
        assert_eq!(r.sec[2], ["ns.sub.example.org. 3600 A 192.0.2.53"]);
        let r = udp("sub.example.org.", DS);
        assert!(
            aa(&r) && r.sec[0].is_empty() && r.sec[1].len() == 1,
            "DS at the cut is the parent's, authoritative NODATA"
        );
    }

    #[test]
    fn dname_substitutes() {
        let r = udp("x.d.example.org.", A);
        assert_eq!(
            r.sec[0],
            [
                "d.example.org. 3600 DNAME t.example.org.",
                "x.d.example.org. 3600 CNAME x.t.example.org.",
                "x.t.example.org. 3600 A 192.0.2.11"
            ]
        );
    }

    #[test]
    fn additional_and_any() {
        assert_eq!(
            udp("example.org.", MX).sec[2],
            ["mail.example.org. 3600 A 192.0.2.2"]
        );
        assert_eq!(
            udp("two.example.org.", ANY).sec[0].len(),
            2,
            "UDP: the lowest-type RRset only"
        );
        let tcp = ask(&query("two.example.org.", ANY, None), Transport::Tcp, 65535).unwrap();
        assert_eq!(tcp.sec[0].len(), 3, "TCP: every RRset");
    }

    #[test]
    fn an_expired_zone_is_servfail_until_installed_again() {
        let mut zs = zs();
        let text = "$TTL 300\n@ SOA ns hm 1 2 1 6 300\n@ NS ns\nns A 192.0.2.8\nwww A 192.0.2.9\n";
        let file = [(String::from("sub.example.org"), text.as_bytes().to_vec())];
        let sub = ZoneSet::load(&file, None).0.zones().next().unwrap().clone();
        zs.insert(sub.clone());
        let ask_in = |zs: &mut ZoneSet, name: &str| {
            let mut out = alloc::vec![0u8; 4096];
            let n = handle(zs, &query(name, A, None), Transport::Udp, &mut out).unwrap();
            parse(&out[..n])
        };
        assert_eq!(ask_in(&mut zs, "www.sub.example.org.").rcode, 0);
        zs.expire(&sub.origin);
        assert_eq!(ask_in(&mut zs, "www.sub.example.org.").rcode, 2, "SERVFAIL");
        assert_eq!(ask_in(&mut zs, "sub.example.org.").rcode, 2, "the apex too");
        assert_eq!(
            ask_in(&mut zs, "www.example.org.").rcode,
            0,
            "the parent still"
        );
        assert_eq!(
            ask_in(&mut zs, "example.com.").rcode,
            5,
            "not ours: REFUSED"
        );
        zs.replace(sub);
        assert_eq!(ask_in(&mut zs, "www.sub.example.org.").rcode, 0, "back");
    }

    #[test]
    fn edns_badvers_and_errors() {
        let r = ask(&query("www.example.org.", A, Some(0)), Transport::Udp, 4096).unwrap();
        assert_eq!(r.sec[2], ["OPT"]);
        let r = ask(&query("www.example.org.", A, Some(1)), Transport::Udp, 4096).unwrap();
        assert_eq!(r.rcode, 16, "BADVERS");
        assert_eq!(udp("example.com.", A).rcode, 5, "not ours: REFUSED");
        let mut ch = query("version.bind.", TXT, None);
        let l = ch.len();
        ch[l - 1] = 3;
        assert_eq!(
            ask(&ch, Transport::Udp, 4096).unwrap().rcode,
            5,
            "CH: REFUSED"
        );
        let mut two = query("www.example.org.", A, None);
        two[5] = 2;
        assert_eq!(
            ask(&two, Transport::Udp, 4096).unwrap().rcode,
            1,
            "QDCOUNT 2: FORMERR"
        );
        let mut resp = query("www.example.org.", A, None);
        resp[2] |= 0x80;
        assert!(
            ask(&resp, Transport::Udp, 4096).is_none(),
            "responses are dropped"
        );
        let mut status = query("www.example.org.", A, None);
        status[2] = 0x10; // opcode 2 (STATUS)
        assert_eq!(
            ask(&status, Transport::Udp, 4096).unwrap().rcode,
            4,
            "NOTIMP"
        );
        assert_eq!(udp("example.org.", AXFR).rcode, 1, "AXFR over UDP: FORMERR");
    }

    #[test]
    fn truncation_sets_tc_and_empties_sections() {
        let r = ask(&query("example.org.", MX, None), Transport::Udp, 40).unwrap();
        assert_eq!(r.flags & 0x0200, 0x0200);
        assert!(r.sec[0].is_empty() && r.sec[1].is_empty());
    }

    const TC: u16 = 0x0200;

    #[test]
    fn udp_size_is_the_smallest_of_client_ours_and_the_path() {
        let mut z = zs();
        let policy = Policy::default();
        let ctx = |p| Ctx::new(Transport::Udp, 0, p);
        // About 1.1 KB: TC without EDNS (512), fits in 1232.
        let r = parse(
            &run(
                &mut z,
                &query("five.example.org.", TXT, None),
                &mut ctx(&policy),
            )
            .unwrap(),
        );
        assert!(r.flags & TC != 0 && r.sec[0].is_empty() && r.len <= 512);
        let q = edns_query("five.example.org.", TXT, 4096, false, &[]);
        let r = parse(&run(&mut z, &q, &mut ctx(&policy)).unwrap());
        assert!(
            r.flags & TC == 0 && r.sec[0].len() == 5 && r.len <= 1232,
            "{}",
            r.len
        );
        // A client payload below 512 counts as 512 (RFC 6891 6.2.5).
        let r = parse(
            &run(
                &mut z,
                &edns_query("five.example.org.", TXT, 100, false, &[]),
                &mut ctx(&policy),
            )
            .unwrap(),
        );
        assert!(r.flags & TC != 0 && r.opt.is_some(), "TC with the OPT");
        // Ours below the client's: ours wins.
        let small = Policy {
            edns_udp_size: 1000,
            ..Default::default()
        };
        let r = parse(&run(&mut z, &q, &mut ctx(&small)).unwrap());
        assert!(r.flags & TC != 0 && r.len <= 1000);
        // The path: never more than one packet, whatever both sides say.
        let big = Policy {
            edns_udp_size: 4096,
            ..Default::default()
        };
        let mut c = ctx(&big);
        c.path_max = crate::ctx::udp_path_max(1100, c.client);
        let r = parse(&run(&mut z, &q, &mut c).unwrap());
        assert!(r.flags & TC != 0 && r.len <= 1072, "{}", r.len);
        assert_eq!(
            crate::ctx::udp_path_max(1500, core::net::IpAddr::V6(core::net::Ipv6Addr::LOCALHOST)),
            1452
        );
        // TCP is not limited by any of it.
        let r = parse(&run(&mut z, &q, &mut Ctx::new(Transport::Tcp, 0, &small)).unwrap());
        assert!(r.flags & TC == 0 && r.sec[0].len() == 5);
    }

    #[test]
    fn do_bit_copied_and_opt_whenever_asked() {
        let mut z = zs();
        let policy = Policy::default();
        let mut ctx = Ctx::new(Transport::Udp, 0, &policy);
        for (name, t) in [
            ("www.example.org.", A),
            ("nope.example.org.", A),
            ("example.com.", A),
        ] {
            let r = parse(&run(&mut z, &edns_query(name, t, 1232, true, &[]), &mut ctx).unwrap());
            let (ttl, _) = r.opt.expect("an OPT");
            assert_eq!(ttl & 0x8000, 0x8000, "DO copied for {name}");
            let r = parse(&run(&mut z, &edns_query(name, t, 1232, false, &[]), &mut ctx).unwrap());
            assert_eq!(r.opt.unwrap().0 & 0x8000, 0, "no DO unless asked");
        }
        // Unknown options are ignored (RFC 6891 6.1.2); a bad cookie length is FORMERR.
        let mut with = |opts: &[u8]| {
            let q = edns_query("www.example.org.", A, 1232, false, opts);
            parse(&run(&mut z, &q, &mut ctx).unwrap())
        };
        let r = with(&[0xfd, 0xe9, 0, 2, 1, 2]);
        assert_eq!((r.rcode, r.sec[0].len()), (0, 1));
        let r = with(&[0, 10, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
        assert_eq!(r.rcode, 1, "FORMERR");
        let mut v1 = edns_query("www.example.org.", A, 1232, true, &[]);
        let l = v1.len();
        v1[l - 5] = 1; // version 1
        let r = parse(&run(&mut z, &v1, &mut ctx).unwrap());
        assert_eq!(r.rcode, 16, "BADVERS");
        assert_eq!(r.opt.unwrap().0 >> 16 & 0xff, 0, "our version is 0");
    }

    #[test]
    fn unsigned_ixfr_is_refused_like_axfr() {
        let mut z = zs();
        let policy = Policy::default();
        let mut udp = Ctx::new(Transport::Udp, 0, &policy);
        assert_eq!(
            parse(&run(&mut z, &query("example.org.", IXFR, None), &mut udp).unwrap()).rcode,
            5
        );
        let mut tcp = Ctx::new(Transport::Tcp, 0, &policy);
        assert_eq!(
            parse(&run(&mut z, &query("example.org.", IXFR, None), &mut tcp).unwrap()).rcode,
            5
        );
        assert_eq!(
            parse(&run(&mut z, &query("example.org.", AXFR, None), &mut tcp).unwrap()).rcode,
            5
        );
        let open = Policy {
            unsigned_axfr: true,
            ..Default::default()
        };
        let r = parse(
            &run(
                &mut z,
                &query("example.org.", IXFR, None),
                &mut Ctx::new(Transport::Udp, 0, &open),
            )
            .unwrap(),
        );
        assert_eq!((r.rcode, r.sec[0].len()), (0, 1), "--axfr: the SOA");
    }

    #[test]
    fn chaos_identity_only_when_configured() {
        let mut z = zs();
        let ch = |name: &str| {
            let mut m = query(name, TXT, None);
            let l = m.len();
            m[l - 1] = 3;
            m
        };
        let none = Policy::default();
        for n in [
            "version.bind.",
            "id.server.",
            "hostname.bind.",
            "version.server.",
        ] {
            let r = parse(&run(&mut z, &ch(n), &mut Ctx::new(Transport::Udp, 0, &none)).unwrap());
            assert_eq!(r.rcode, 5, "{n}");
        }
        let set = Policy {
            version: Some(b"gitns".to_vec()),
            identity: Some(b"ns1.example".to_vec()),
            ..Default::default()
        };
        let mut ctx = Ctx::new(Transport::Udp, 0, &set);
        let r = parse(&run(&mut z, &ch("VERSION.bind."), &mut ctx).unwrap());
        assert!(!aa(&r) && r.rcode == 0, "no AA, as Knot");
        assert_eq!(r.sec[0], ["VERSION.bind. 0 TXT \"gitns\""]);
        let r = parse(&run(&mut z, &ch("hostname.bind."), &mut ctx).unwrap());
        assert_eq!(r.sec[0], ["hostname.bind. 0 TXT \"ns1.example\""]);
        assert_eq!(
            parse(&run(&mut z, &ch("other.bind."), &mut ctx).unwrap()).rcode,
            5
        );
    }

    #[test]
    fn nsid_and_keepalive() {
        let mut z = zs();
        let policy = Policy {
            nsid: Some(b"ns1".to_vec()),
            ..Default::default()
        };
        let q = edns_query(
            "www.example.org.",
            A,
            1232,
            false,
            &[0, 3, 0, 0, 0, 11, 0, 0],
        );
        let mut tcp = Ctx::new(Transport::Tcp, 0, &policy);
        tcp.keepalive = Some(100);
        let r = parse(&run(&mut z, &q, &mut tcp).unwrap());
        assert_eq!(
            options(&r.opt.unwrap().1),
            [(3, b"ns1".to_vec()), (11, alloc::vec![0, 100])]
        );
        let mut udp = Ctx::new(Transport::Udp, 0, &policy);
        udp.keepalive = Some(100);
        let r = parse(&run(&mut z, &q, &mut udp).unwrap());
        assert_eq!(
            options(&r.opt.unwrap().1),
            [(3, b"ns1".to_vec())],
            "no keepalive over UDP"
        );
        let plain = edns_query("www.example.org.", A, 1232, false, &[]);
        let r = parse(&run(&mut z, &plain, &mut tcp).unwrap());
        assert!(options(&r.opt.unwrap().1).is_empty(), "only when asked");
    }

    /// A COOKIE option with this client cookie and server cookie.
    fn cookie_opt(client: [u8; 8], server: &[u8]) -> Vec<u8> {
        let mut o = alloc::vec![0, 10, 0, 8 + server.len() as u8];
        o.extend_from_slice(&client);
        o.extend_from_slice(server);
        o
    }

    #[test]
    fn cookies_and_rate_limiting() {
        use crate::cookie::Secrets;
        use crate::rrl::{Config, Rrl};
        let mut z = zs();
        let policy = Policy::default();
        let secrets = Secrets::new([3; 16], 5000);
        let mut rrl = Rrl::new(
            Config {
                rate: 1,
                slip: 2,
                exempt: Vec::new(),
            },
            64,
            [4; 16],
        );
        let client = core::net::IpAddr::V4(core::net::Ipv4Addr::new(198, 51, 100, 7));
        let mut go = |msg: &[u8], ms: u64, rrl: &mut Rrl| {
            let mut ctx = Ctx::new(Transport::Udp, 5000, &policy);
            (ctx.cookies, ctx.rrl, ctx.client, ctx.mono_ms) =
                (Some(&secrets), Some(rrl), client, ms);
            run(&mut z, msg, &mut ctx).map(|b| parse(&b))
        };
        // A client cookie alone gets a fresh server cookie (RFC 7873 5.2.3).
        let first = go(
            &edns_query("www.example.org.", A, 1232, false, &cookie_opt([1; 8], &[])),
            0,
            &mut rrl,
        )
        .unwrap();
        assert_eq!(first.rcode, 0);
        let opts = options(&first.opt.unwrap().1);
        assert_eq!(
            (opts[0].0, opts[0].1.len(), &opts[0].1[..8]),
            (10, 24, &[1u8; 8][..])
        );
        let server = opts[0].1[8..].to_vec();
        // Over the rate, a cookie-only client is slipped BADCOOKIE (then dropped, every other).
        let q = edns_query("www.example.org.", A, 1232, false, &cookie_opt([1; 8], &[]));
        assert!(go(&q, 0, &mut rrl).is_none(), "dropped");
        let slipped = go(&q, 0, &mut rrl).unwrap();
        assert_eq!((slipped.rcode, slipped.sec[0].len()), (23, 0), "BADCOOKIE");
        assert_eq!(
            options(&slipped.opt.unwrap().1)[0].1.len(),
            24,
            "with a cookie to retry with"
        );
        // With our server cookie it is never limited, and gets NOERROR.
        let proven = edns_query(
            "www.example.org.",
            A,
            1232,
            false,
            &cookie_opt([1; 8], &server),
        );
        for _ in 0..10 {
            let r = go(&proven, 0, &mut rrl).unwrap();
            assert_eq!((r.rcode, r.sec[0].len()), (0, 1));
        }
        // Without a cookie, a limited answer slips as TC with the question only.
        let plain = query("www.example.org.", A, None);
        let mut got = Vec::new();
        for _ in 0..4 {
            got.push(go(&plain, 0, &mut rrl).map(|r| (r.flags & TC != 0, r.sec[0].len())));
        }
        assert_eq!(got, [None, Some((true, 0)), None, Some((true, 0))]);
        assert_eq!(
            go(&plain, 1000, &mut rrl).map(|r| (r.flags & TC, r.sec[0].len())),
            Some((0, 1)),
            "a second later"
        );
        assert_eq!((rrl.counters.slipped, rrl.counters.dropped), (3, 3));
    }
}

/// Keys of the root, NOTIFY for zones not served yet, the root SOA.
#[cfg(test)]
mod zoneset_tests {
    use super::*;
    use crate::keys::{Algorithm, Key};
    use alloc::string::String;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    fn key(name: &str) -> Key {
        Key {
            name: n(name),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![9; 32],
        }
    }

    fn zs() -> ZoneSet {
        let zone = "$TTL 60\n@ SOA ns hm 7 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
        let mut zs = ZoneSet::load(&[(String::from("example.org"), zone.into())], None).0;
        zs.keys = alloc::vec![
            key("all._update."),
            key("sec._transfer."),
            key("n._notify.")
        ];
        zs
    }

    /// `name TYPE` with `opcode`, signed by `k` at time 0.
    fn msg(opcode: u8, name: &str, qtype: u16, k: Option<&Key>) -> Vec<u8> {
        let mut m = alloc::vec![0x12, 0x34, opcode << 3, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(n(name).wire());
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&IN.to_be_bytes());
        match k {
            Some(k) => crate::tsig::sign_request(&m, k, 0),
            None => m,
        }
    }

    /// Header flags, ANCOUNT and the bytes of a response.
    type Resp = (u16, u16, Vec<u8>);

    /// The first response and the event.
    fn run(m: &[u8], t: Transport, hold: bool) -> (Option<Resp>, Option<Event>) {
        let mut out = alloc::vec![0u8; 65535];
        let mut first = None;
        let policy = Policy::default();
        let mut ctx = Ctx::new(t, 0, &policy);
        ctx.hold = hold;
        let ev = serve(&mut zs(), m, &mut ctx, &mut out, &mut |r| {
            first.get_or_insert_with(|| r.to_vec());
        });
        let head = first.map(|r| {
            (
                u16::from_be_bytes([r[2], r[3]]),
                u16::from_be_bytes([r[6], r[7]]),
                r,
            )
        });
        (head, ev)
    }

    #[test]
    fn a_root_key_notifies_any_zone_even_one_not_served_yet() {
        let all = key("all._update.");
        let (r, ev) = run(
            &msg(4, "example.org.", SOA, Some(&all)),
            Transport::Udp,
            false,
        );
        assert_eq!(r.unwrap().0 & 0x040f, 0x0400, "NOERROR, AA");
        assert_eq!(ev, Some(Event::Resync(n("example.org."))));
        let (r, ev) = run(&msg(4, "New.Zone.", SOA, Some(&all)), Transport::Udp, true);
        assert_eq!(r.unwrap().0 & 0x040f, 0, "NOERROR without AA");
        assert_eq!(ev, Some(Event::Resync(n("new.zone."))));
        // NOTIFY for a served zone's DS: the parent's DS is in place.
        let (r, ev) = run(
            &msg(4, "Example.org.", DS, Some(&all)),
            Transport::Udp,
            false,
        );
        assert_eq!(r.unwrap().0 & 0x040f, 0x0400, "NOERROR, AA");
        assert_eq!(ev, Some(Event::DsSeen(n("example.org."))));
        // A _notify root key may notify; nobody may notify the root.
        let (r, _) = run(
            &msg(4, "x.", SOA, Some(&key("n._notify."))),
            Transport::Udp,
            true,
        );
        assert_eq!(r.unwrap().0 & 0xf, 0);
        let (r, ev) = run(&msg(4, ".", SOA, Some(&all)), Transport::Udp, true);
        assert_eq!((r.unwrap().0 & 0xf, ev), (9, None), "NOTAUTH");
    }

    #[test]
    fn an_unknown_key_for_a_zone_not_served_is_held_when_asked() {
        let stranger = key("personal._update.");
        let m = msg(4, "new.zone.", SOA, Some(&stranger));
        let (r, ev) = run(&m, Transport::Udp, true);
        let held = Event::Held {
            zone: n("new.zone."),
            key: n("personal._update."),
        };
        assert_eq!((r, ev), (None, Some(held)));
        // Run again without holding: the TSIG error.
        let (r, ev) = run(&m, Transport::Udp, false);
        assert_eq!((r.unwrap().0 & 0xf, ev), (9, None));
        // Never for a served zone, nor for a query.
        let (r, _) = run(
            &msg(4, "example.org.", SOA, Some(&stranger)),
            Transport::Udp,
            true,
        );
        assert_eq!(r.unwrap().0 & 0xf, 9);
        let (r, _) = run(
            &msg(0, "new.zone.", SOA, Some(&stranger)),
            Transport::Udp,
            true,
        );
        assert_eq!(r.unwrap().0 & 0xf, 9);
    }

    #[test]
    fn a_signed_root_soa_query_gets_a_soa_without_aa_and_notifies_over_tcp() {
        let sec = key("sec._transfer.");
        let (r, ev) = run(&msg(0, ".", SOA, Some(&sec)), Transport::Tcp, false);
        let (flags, an, r) = r.unwrap();
        assert_eq!((flags & 0x040f, an), (0, 1), "NOERROR, no AA, one SOA");
        let soa_at = 12 + 1 + 4 + 1 + 10;
        assert_eq!(
            crate::rdata::to_text_rdata(SOA, &r[soa_at..soa_at + 4 + 12 + 20]),
            "ns. hostmaster. 0 16384 2048 1048576 300"
        );
        assert_eq!(ev, Some(Event::SecondaryOfAll { key: sec.clone() }));
        // Over UDP: the answer, no NOTIFYs.
        let (r, ev) = run(&msg(0, ".", SOA, Some(&sec)), Transport::Udp, false);
        assert_eq!((r.unwrap().1, ev), (1, None));
        // Unsigned, or by a key that may only notify: REFUSED as any name
        // not served (Knot and NSD do the same for the unsigned query).
        let (r, ev) = run(&msg(0, ".", SOA, None), Transport::Tcp, false);
        assert_eq!((r.unwrap().0 & 0xf, ev), (5, None));
        let (r, ev) = run(
            &msg(0, ".", SOA, Some(&key("n._notify."))),
            Transport::Tcp,
            false,
        );
        assert_eq!((r.unwrap().0 & 0xf, ev), (5, None));
        // Wrongly signed: NOTAUTH (with BADSIG, RFC 8945 5.2.2).
        let mut bad = sec.clone();
        bad.secret[0] ^= 1;
        let (r, ev) = run(&msg(0, ".", SOA, Some(&bad)), Transport::Tcp, false);
        assert_eq!((r.unwrap().0 & 0xf, ev), (9, None));
    }
}
