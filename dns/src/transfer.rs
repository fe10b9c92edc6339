//! Zone transfers out (RFC 5936 AXFR; RFC 1995 IXFR answered from the
//! zone's history when it reaches back to the client's serial, else with
//! the full zone, or just the SOA when the client is current): over TCP,
//! SOA first and last, many records per message with compression, TSIG on
//! every message (RFC 8945 5.3.1). Keys live in `_keys` files, never in
//! zones, so they are never transferred.
//!
//! A [`Transfer`] is produced one message at a time, so the server builds
//! the next message only when the connection has room for it: a
//! million-name zone never sits in memory as 34 MB of messages. It holds
//! the zone version it started with (shared), so a change made while it
//! streams does not tear it (RFC 5936 6: one consistent version).

use crate::journal::{Diff, DiffRr, Journal};
use crate::message::Request;
use crate::name::Name;
use crate::rtype::*;
use crate::tsig::{self, Verified};
use crate::wire::{Reader, Writer};
use crate::zone::Zone;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// Target size of one transfer message (RFC 5936 allows up to 65535).
const MESSAGE: usize = 16 * 1024;

/// The size a message may grow to when one record does not fit
/// [`MESSAGE`], leaving room for the TSIG record (the loader refuses RRs
/// that cannot fit this, `rdata::max_rdata`).
const LARGEST: usize = 65_535 - 512;

/// One record to send.
struct Rr<'z> {
    owner: &'z Name,
    rtype: u16,
    ttl: u32,
    rdata: &'z [u8],
}

/// The serial of an IXFR request's SOA in the authority section (RFC 1995
/// 3), read where parsing the request found that section.
pub fn ixfr_serial(msg: &[u8], req: &Request) -> Option<u32> {
    if req.header.nscount == 0 {
        return None;
    }
    let mut r = Reader::message(msg, req.authority_at);
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
    crate::respond::record(w, r.owner, r.rtype, r.ttl, r.rdata)
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

/// Where a whole-zone transfer stands: the node (by key) and the record
/// inside it that the next message starts with.
#[derive(Clone, Debug, Default)]
struct Cursor {
    key: Vec<u8>,
    set: usize,
    rd: usize,
}

/// What comes between the opening and closing SOA.
#[derive(Clone, Debug)]
enum Body {
    /// Every record of the zone but the SOA, in canonical order.
    Full(Option<Cursor>),
    /// RFC 1995 4: each version as old SOA, deleted RRs, new SOA, added
    /// RRs; `usize` is the next record of the flattened list.
    Incremental(Vec<Diff>, usize),
    /// The client is current: the SOA alone.
    Nothing,
}

/// Where the stream is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    OpeningSoa,
    Body,
    ClosingSoa,
    Done,
}

/// A zone transfer being sent, one message per [`Transfer::next`].
#[derive(Clone, Debug)]
pub struct Transfer {
    zone: Arc<Zone>,
    req: Request,
    signed: Option<Verified>,
    prior_mac: Option<Vec<u8>>,
    now: u64,
    body: Body,
    phase: Phase,
    first: bool,
    pub kind: Kind,
}

impl Transfer {
    /// Start the transfer of `zone` for `req`, signed when the request was.
    /// `client_serial`: for IXFR, the serial the client has (current ->
    /// just the SOA; in `journal` -> the differences). None when the zone
    /// has no SOA.
    pub fn new(
        zone: Arc<Zone>,
        journal: Option<&Journal>,
        req: &Request,
        signed: Option<&Verified>,
        now: u64,
        client_serial: Option<u32>,
    ) -> Option<Transfer> {
        let serial = zone.serial()?;
        let current = client_serial.is_some_and(|c| crate::serial::ge(c, serial));
        let chain = client_serial
            .filter(|_| !current)
            .and_then(|c| journal?.chain(c, serial));
        let (kind, body) = match (current, chain) {
            (true, _) => (Kind::Current, Body::Nothing),
            (false, Some(c)) => (
                Kind::Incremental(c.len()),
                Body::Incremental(c.into_iter().cloned().collect(), 0),
            ),
            (false, None) => (Kind::Full, Body::Full(Some(Cursor::default()))),
        };
        Some(Transfer {
            zone,
            req: req.clone(),
            signed: signed.cloned(),
            prior_mac: None,
            now,
            body,
            phase: Phase::OpeningSoa,
            first: true,
            kind,
        })
    }

    pub fn serial(&self) -> u32 {
        self.zone.serial().unwrap_or(0)
    }

    pub fn origin(&self) -> &Name {
        &self.zone.origin
    }

    pub fn is_done(&self) -> bool {
        self.phase == Phase::Done
    }

    /// The next message, or None when the transfer is over (or failed:
    /// a record too large for a message, a signing error).
    pub fn next<'b>(&mut self, buf: &'b mut Vec<u8>) -> Option<&'b [u8]> {
        if self.phase == Phase::Done {
            return None;
        }
        buf.resize(65_535, 0);
        let mut len = 0;
        // A record larger than the usual message gets one of up to 64 KiB.
        for size in [MESSAGE, LARGEST] {
            let mut w = Writer::new(&mut buf[..size]).exact_case();
            let started = start(&mut w, &self.req, self.first);
            let count = started.map(|()| self.fill(&mut w)).unwrap_or(0);
            if count > 0 {
                w.set_u16(6, count);
                len = w.len();
                break;
            }
        }
        if len == 0 {
            self.phase = Phase::Done;
            return None; // a record that fits no message
        }
        let mut w = Writer::resume(buf, len).exact_case();
        if let Some(v) = &self.signed {
            let mac = match &self.prior_mac {
                None => tsig::sign_response_mac(&mut w, &v.key, &v.tsig, self.now),
                Some(p) => tsig::sign_continuation(&mut w, &v.key, &v.tsig, p, self.now),
            };
            let Ok(mac) = mac else {
                self.phase = Phase::Done;
                return None;
            };
            self.prior_mac = Some(mac);
        }
        self.first = false;
        let len = w.len();
        Some(&buf[..len])
    }

    /// Write records until the message is full or the transfer ends;
    /// returns how many.
    fn fill(&mut self, w: &mut Writer) -> u16 {
        let mut count = 0u16;
        loop {
            let wrote = match self.phase {
                Phase::OpeningSoa | Phase::ClosingSoa => self.soa(w),
                Phase::Body => self.body(w, &mut count),
                Phase::Done => return count,
            };
            if !wrote {
                return count;
            }
            if self.phase != Phase::Body {
                count += 1;
            }
            self.phase = match (self.phase, &self.body) {
                (Phase::OpeningSoa, _) => Phase::Body,
                (Phase::Body, Body::Nothing) => Phase::Done,
                (Phase::Body, _) => Phase::ClosingSoa,
                _ => Phase::Done,
            };
        }
    }

    fn soa(&self, w: &mut Writer) -> bool {
        let Some(set) = self.zone.soa() else {
            return false;
        };
        let Some(rdata) = set.rdatas.first() else {
            return false;
        };
        let r = Rr {
            owner: &self.zone.origin,
            rtype: SOA,
            ttl: set.ttl,
            rdata,
        };
        put(w, &r)
    }

    /// Write body records; true when the body is finished.
    fn body(&mut self, w: &mut Writer, count: &mut u16) -> bool {
        match &mut self.body {
            Body::Nothing => true,
            Body::Incremental(diffs, next) => incremental(&self.zone, diffs, next, w, count),
            Body::Full(cursor) => {
                let Some(c) = cursor.take() else { return true };
                *cursor = full(&self.zone, c, w, count);
                cursor.is_none()
            }
        }
    }
}

/// Write one record, or nothing when the message is full.
fn put(w: &mut Writer, r: &Rr) -> bool {
    let mark = w.len();
    if rr(w, r).is_err() {
        w.truncate(mark);
        return false;
    }
    true
}

/// Whole-zone records from `c` on; the cursor to go on from, None when
/// the zone is done. One seek per message, then an in-order walk.
fn full(zone: &Zone, c: Cursor, w: &mut Writer, count: &mut u16) -> Option<Cursor> {
    let (mut set0, mut rd0) = (c.set, c.rd);
    for node in zone.nodes_from(&c.key) {
        let owner = node.name();
        for (si, set) in node.rrsets().enumerate().skip(set0) {
            if set.rtype == SOA {
                continue;
            }
            for (ri, rdata) in set.rdatas.iter().enumerate().skip(rd0) {
                let r = Rr {
                    owner: &owner,
                    rtype: set.rtype,
                    ttl: set.ttl,
                    rdata,
                };
                if !put(w, &r) {
                    let key = node.key().to_vec();
                    return Some(Cursor {
                        key,
                        set: si,
                        rd: ri,
                    });
                }
                *count += 1;
            }
            rd0 = 0;
        }
        set0 = 0;
    }
    None
}

/// RFC 1995 4: the incremental form, newest SOA first and last, each
/// version as old SOA, deleted RRs, new SOA, added RRs. `next` indexes the
/// flattened list; true when it is all written.
fn incremental(
    zone: &Zone,
    diffs: &[Diff],
    next: &mut usize,
    w: &mut Writer,
    count: &mut u16,
) -> bool {
    fn soa(s: &(u32, Vec<u8>)) -> (u32, &[u8]) {
        (s.0, s.1.as_slice())
    }
    let mut i = 0;
    for d in diffs {
        let parts: [(&[DiffRr], Option<(u32, &[u8])>); 2] = [
            (&d.deleted, Some(soa(&d.old_soa))),
            (&d.added, Some(soa(&d.new_soa))),
        ];
        for (rrs, head) in parts {
            let (ttl, rdata) = head.unwrap_or((0, &[]));
            let items = core::iter::once(Rr {
                owner: &zone.origin,
                rtype: SOA,
                ttl,
                rdata,
            })
            .chain(rrs.iter().map(|r| Rr {
                owner: &r.owner,
                rtype: r.rtype,
                ttl: r.ttl,
                rdata: &r.rdata,
            }));
            for r in items {
                if i >= *next {
                    if !put(w, &r) {
                        return false;
                    }
                    *count += 1;
                    *next += 1;
                }
                i += 1;
            }
        }
    }
    true
}

/// Send the whole transfer through `emit` at once (tests, fuzzing, and
/// callers without flow control). Returns how it was answered.
pub fn stream(
    zone: Arc<Zone>,
    journal: Option<&Journal>,
    req: &Request,
    signed: Option<&Verified>,
    now: u64,
    client_serial: Option<u32>,
    emit: &mut dyn FnMut(&[u8]),
) -> Option<Kind> {
    let mut t = Transfer::new(zone, journal, req, signed, now, client_serial)?;
    let mut buf = Vec::new();
    let mut sent = false;
    while let Some(m) = t.next(&mut buf) {
        emit(m);
        sent = true;
    }
    sent.then_some(t.kind)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{parse_request, skip_rr};
    use crate::zone::parser::parse_str;
    use alloc::format;
    use alloc::string::String;

    fn origin() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    fn zone(text: &str) -> Arc<Zone> {
        let p = parse_str("z", text, &origin()).unwrap();
        Arc::new(Zone::from_records(origin(), &p.records))
    }

    /// 3000 names and one name with 1500 TXT records: a transfer of many
    /// messages, with a node and an RRset split across messages.
    fn big_zone(serial: u32) -> Arc<Zone> {
        let mut t = format!("$TTL 60\n@ SOA ns hm {serial} 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
        for i in 0..3000 {
            t += &format!("h{i} A 10.0.{}.{}\n", i / 256, i % 256);
        }
        for i in 0..1500 {
            t += &format!("big TXT \"record number {i:05}\"\n");
        }
        zone(&t)
    }

    fn query(qtype: u16) -> Request {
        let mut m = alloc::vec![0, 7, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(origin().wire());
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&IN.to_be_bytes());
        parse_request(&m).unwrap()
    }

    /// Every message of a transfer, and the (owner, type) of each answer RR.
    fn run(mut t: Transfer) -> (usize, Vec<(String, u16)>) {
        let mut buf = Vec::new();
        let (mut msgs, mut rrs) = (0, Vec::new());
        while let Some(m) = t.next(&mut buf) {
            msgs += 1;
            let mut r = Reader::message(m, 0);
            let h = crate::message::Header::parse(&mut r).unwrap();
            assert!(m.len() <= LARGEST, "message of {} bytes", m.len());
            assert_eq!((h.id, h.qdcount), (7, (msgs == 1) as u16));
            for _ in 0..h.qdcount {
                r.name().unwrap();
                r.u32().unwrap();
            }
            for _ in 0..h.ancount {
                let at = r.pos();
                let owner = Reader::message(m, at).name().unwrap().to_text();
                let (ty, _, _) = skip_rr(&mut r).unwrap();
                rrs.push((owner, ty));
            }
        }
        assert!(t.is_done());
        (msgs, rrs)
    }

    #[test]
    fn axfr_streams_every_record_once_soa_first_and_last() {
        let z = big_zone(9);
        let t = Transfer::new(z.clone(), None, &query(AXFR), None, 0, None).unwrap();
        assert_eq!(t.kind, Kind::Full);
        let (msgs, rrs) = run(t);
        assert!(msgs > 5, "{msgs} messages");
        assert!(
            msgs >= z.record_count() * 20 / MESSAGE,
            "messages of 16 KiB"
        );
        assert_eq!(rrs.len(), z.record_count() + 1);
        assert_eq!(rrs.first().unwrap().1, SOA);
        assert_eq!(rrs.last().unwrap().1, SOA);
        let txt = rrs
            .iter()
            .filter(|(o, t)| o == "big.example.org." && *t == TXT);
        assert_eq!(txt.count(), 1500);
        let mut hosts: Vec<&String> = rrs.iter().filter(|r| r.1 == A).map(|r| &r.0).collect();
        hosts.dedup();
        assert_eq!(hosts.len(), 3001, "each name once, in order");
    }

    #[test]
    fn the_transfer_keeps_its_version_when_the_zone_moves_on() {
        let mut z = big_zone(9);
        let t = Transfer::new(z.clone(), None, &query(AXFR), None, 0, None).unwrap();
        // The served zone changes (copy on write): the stream does not.
        Arc::make_mut(&mut z).set_serial(10).unwrap();
        assert_eq!(t.serial(), 9);
        let (_, rrs) = run(t);
        assert_eq!(rrs.len(), big_zone(9).record_count() + 1);
    }

    #[test]
    fn ixfr_current_client_gets_the_soa_alone() {
        let z = big_zone(9);
        let t = Transfer::new(z, None, &query(IXFR), None, 0, Some(9)).unwrap();
        assert_eq!(t.kind, Kind::Current);
        let (msgs, rrs) = run(t);
        assert_eq!((msgs, rrs.len(), rrs[0].1), (1, 1, SOA));
    }

    #[test]
    fn ixfr_from_history_spans_messages_in_rfc1995_order() {
        let (old, new) = (big_zone(9), {
            let mut t = String::from("$TTL 60\n@ SOA ns hm 10 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n");
            for i in 0..3000 {
                t += &format!("h{i} A 10.1.{}.{}\n", i / 256, i % 256);
            }
            zone(&t)
        });
        let mut j = Journal::default();
        j.record(&old, &new);
        let t = Transfer::new(new, Some(&j), &query(IXFR), None, 0, Some(9)).unwrap();
        assert_eq!(t.kind, Kind::Incremental(1));
        let (msgs, rrs) = run(t);
        assert!(msgs > 2);
        // new SOA, old SOA, 4500 deleted, new SOA, 3000 added, new SOA.
        assert_eq!(rrs.len(), 1 + 1 + 4500 + 1 + 3000 + 1);
        let soas: Vec<usize> = (0..rrs.len()).filter(|&i| rrs[i].1 == SOA).collect();
        assert_eq!(soas, [0, 1, 4502, 7503]);
    }

    #[test]
    fn a_record_larger_than_a_message_gets_a_message_of_its_own() {
        // The largest TXT the loader takes at this owner, between others.
        let n = crate::rdata::max_rdata(Name::parse("big", &origin()).unwrap().wire().len());
        let mut t =
            String::from("$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nbig TXT");
        let mut left = n;
        while left > 0 {
            let k = left.min(256) - 1;
            t += &format!(" \"{}\"", "y".repeat(k));
            left -= k + 1;
        }
        t += "\nbig A 192.0.2.2\nz A 192.0.2.3\n";
        let z = zone(&t);
        let tr = Transfer::new(z.clone(), None, &query(AXFR), None, 0, None).unwrap();
        let (msgs, rrs) = run(tr);
        assert_eq!(rrs.len(), z.record_count() + 1, "nothing cut off");
        // The first message ends before the big record, which starts a
        // second one of up to 64 KiB.
        assert_eq!(msgs, 2);
        assert_eq!(rrs.last().unwrap().1, SOA);
    }

    #[test]
    fn a_zone_without_soa_has_no_transfer() {
        let z = zone("$TTL 60\n@ NS ns\nns A 192.0.2.1\n");
        assert!(Transfer::new(z, None, &query(AXFR), None, 0, None).is_none());
    }
}
