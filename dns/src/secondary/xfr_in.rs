//! A zone transfer coming in (RFC 5936 AXFR, RFC 1995 IXFR), one message
//! at a time as TCP delivers them, TSIG checked on each (RFC 8945 5.3.1).
//!
//! The first record is the primary's SOA. After it:
//! - IXFR of a client that is current: nothing (RFC 1995 2).
//! - the SOA of the version we hold: the incremental form, versions as
//!   (old SOA, deleted RRs, new SOA, added RRs), closed by the new SOA
//!   again (RFC 1995 4). The differences are kept (they are the change,
//!   not the zone) and applied by [`super::ixfr_apply`] once the stream
//!   is complete and authenticated.
//! - anything else: the whole zone (AXFR, or IXFR answered in full),
//!   closed by the same SOA (RFC 5936 2.2). Records go straight into a
//!   [`ZoneBuilder`], so the zone being received is the only copy besides
//!   the one still served until the swap.

use super::request::Sent;
use super::response::{self, Rr, XfrError};
use super::timers::SoaTimes;
use super::tsig_chain::Chain;
use crate::journal::{Diff, DiffRr};
use crate::name::Name;
use crate::rtype::{IXFR, SOA};
use crate::serial;
use crate::zone::{Src, Zone, ZoneBuilder};
use alloc::boxed::Box;
use alloc::vec::Vec;

/// How much one transfer may bring (records, and bytes of messages).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub records: u64,
    pub bytes: u64,
}

impl Default for Limits {
    /// Ten million records and 1 GiB: past any zone the appliance serves.
    fn default() -> Self {
        Limits {
            records: 10_000_000,
            bytes: 1 << 30,
        }
    }
}

/// What a finished transfer brought.
#[derive(Debug)]
pub enum Received {
    /// IXFR: we are current; the primary's serial.
    Current(u32),
    /// The whole zone.
    Full(Zone),
    /// Differences from the version we hold, oldest first.
    Incremental(Vec<Diff>),
}

/// A SOA as it came: TTL, RDATA and its serial.
#[derive(Clone, Debug)]
struct Soa {
    ttl: u32,
    rdata: Vec<u8>,
    serial: u32,
}

enum Stream {
    /// Before the first record.
    Start,
    /// The opening SOA read; the next record tells the form.
    Opened(Soa),
    Full(Soa, Box<ZoneBuilder>),
    /// The differences so far and the one being read (`adding`: past its
    /// new SOA).
    Incremental {
        last: Soa,
        done: Vec<Diff>,
        cur: Diff,
        adding: bool,
    },
    Done(Received),
    Failed,
}

/// One incoming transfer.
pub struct XfrIn {
    sent: Sent,
    origin: Name,
    /// The serial we hold (IXFR starts from it; AXFR may not go below it).
    have: Option<u32>,
    chain: Option<Chain>,
    limits: Limits,
    records: u64,
    bytes: u64,
    messages: u64,
    stream: Stream,
    /// The record being read: its RDATA buffer is reused.
    rr: Rr,
}

impl XfrIn {
    /// Receive the answer to `sent` (AXFR or IXFR of `sent.zone`) while
    /// holding serial `have`.
    pub fn new(sent: Sent, have: Option<u32>, limits: Limits) -> XfrIn {
        let chain = sent
            .signed
            .as_ref()
            .map(|(k, mac)| Chain::new(k.clone(), mac.clone()));
        XfrIn {
            origin: sent.zone.clone(),
            sent,
            have,
            chain,
            limits,
            records: 0,
            bytes: 0,
            messages: 0,
            stream: Stream::Start,
            rr: Rr::empty(),
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self.stream, Stream::Done(_))
    }

    /// The request this transfer answers.
    pub fn sent(&self) -> &Sent {
        &self.sent
    }

    /// Take one message at wall-clock `wall` (TSIG time). `Ok(true)` once
    /// the closing SOA has arrived. After an error the transfer is dead.
    pub fn message(&mut self, msg: &[u8], wall: u64) -> Result<bool, XfrError> {
        let r = self.take(msg, wall);
        if r.is_err() {
            self.stream = Stream::Failed;
        }
        r
    }

    fn take(&mut self, msg: &[u8], wall: u64) -> Result<bool, XfrError> {
        if matches!(self.stream, Stream::Done(_)) {
            return Err(XfrError::Trailing);
        }
        if matches!(self.stream, Stream::Failed) {
            return Err(XfrError::Truncated);
        }
        self.messages += 1;
        self.bytes += msg.len() as u64;
        if self.bytes > self.limits.bytes {
            return Err(XfrError::Limit);
        }
        let (h, mut r) = response::open(msg, &self.sent, self.messages == 1)?;
        let mut rr = core::mem::replace(&mut self.rr, Rr::empty());
        for _ in 0..h.ancount {
            if matches!(self.stream, Stream::Done(_)) {
                return Err(XfrError::Trailing);
            }
            response::read_rr_into(&mut r, &mut rr)?;
            self.records += 1;
            if self.records > self.limits.records {
                return Err(XfrError::Limit);
            }
            self.record(&rr)?;
        }
        self.rr = rr;
        let additional_at = response::skip_authority(&mut r, &h)?;
        if let Some(c) = &mut self.chain {
            c.message(msg, &h, additional_at, wall)
                .map_err(XfrError::Tsig)?;
        }
        self.end_of_message()?;
        if self.is_done() {
            if let Some(c) = &self.chain {
                c.finish().map_err(XfrError::Tsig)?;
            }
        }
        Ok(self.is_done())
    }

    /// The answer, once done; [`XfrError::Truncated`] when the stream ended
    /// (connection closed) before its closing SOA.
    pub fn finish(self) -> Result<Received, XfrError> {
        match self.stream {
            Stream::Done(r) => Ok(r),
            _ => Err(XfrError::Truncated),
        }
    }

    /// The opening SOA alone at the end of a message: an IXFR answer for
    /// a current client (RFC 1995 2).
    fn end_of_message(&mut self) -> Result<(), XfrError> {
        if let Stream::Opened(soa) = &self.stream {
            let current = self.have.filter(|h| !serial::gt(soa.serial, *h));
            if let (IXFR, Some(_)) = (self.sent.qtype, current) {
                self.stream = Stream::Done(Received::Current(soa.serial));
            }
        }
        Ok(())
    }

    fn soa_of(&self, rr: &Rr) -> Result<Option<Soa>, XfrError> {
        if rr.rtype != SOA {
            return Ok(None);
        }
        if rr.owner != self.origin {
            return Err(XfrError::BadSoa);
        }
        let t = SoaTimes::of_rdata(&rr.rdata).ok_or(XfrError::Malformed)?;
        Ok(Some(Soa {
            ttl: rr.ttl,
            rdata: rr.rdata.clone(),
            serial: t.serial,
        }))
    }

    fn record(&mut self, rr: &Rr) -> Result<(), XfrError> {
        if !rr.owner.is_at_or_below(&self.origin) {
            return Err(XfrError::OutOfZone(rr.owner.clone()));
        }
        let soa = self.soa_of(rr)?;
        let stream = core::mem::replace(&mut self.stream, Stream::Failed);
        self.stream = match stream {
            Stream::Start => self.opening(soa.ok_or(XfrError::BadSoa)?)?,
            Stream::Opened(first) => self.second(first, rr, soa)?,
            Stream::Full(first, b) => full(first, b, rr, soa)?,
            Stream::Incremental {
                last,
                done,
                cur,
                adding,
            } => incremental(last, done, cur, adding, rr, soa)?,
            Stream::Done(_) | Stream::Failed => return Err(XfrError::Trailing),
        };
        Ok(())
    }

    /// The first record: the primary's SOA. A whole zone older than ours
    /// is refused (an IXFR answer that old is "current", see above).
    fn opening(&self, soa: Soa) -> Result<Stream, XfrError> {
        if let Some(have) = self.have {
            if self.sent.qtype != IXFR && serial::gt(have, soa.serial) {
                return Err(XfrError::SerialBack {
                    have,
                    got: soa.serial,
                });
            }
        }
        Ok(Stream::Opened(soa))
    }

    /// The second record decides the form.
    fn second(&self, first: Soa, rr: &Rr, soa: Option<Soa>) -> Result<Stream, XfrError> {
        let incremental = self.sent.qtype == IXFR;
        match soa {
            // RFC 1995 4: the old SOA, the version we hold.
            Some(old)
                if incremental && Some(old.serial) == self.have && old.serial != first.serial =>
            {
                if !serial::gt(first.serial, old.serial) {
                    return Err(XfrError::SerialBack {
                        have: old.serial,
                        got: first.serial,
                    });
                }
                let cur = diff_from(&old);
                Ok(Stream::Incremental {
                    last: first,
                    done: Vec::new(),
                    cur,
                    adding: false,
                })
            }
            // A zone of just its SOA: opened and closed.
            Some(s) if s.serial == first.serial && s.rdata == first.rdata => {
                let mut b = Box::new(ZoneBuilder::new(self.origin.clone()));
                add(&mut b, &self.origin, &first);
                Ok(Stream::Done(Received::Full(b.finish())))
            }
            Some(_) => Err(XfrError::BadSoa),
            None => {
                if let Some(have) = self.have.filter(|h| serial::gt(*h, first.serial)) {
                    return Err(XfrError::SerialBack {
                        have,
                        got: first.serial,
                    });
                }
                let mut b = Box::new(ZoneBuilder::new(self.origin.clone()));
                add(&mut b, &self.origin, &first);
                full(first, b, rr, None)
            }
        }
    }
}

fn add(b: &mut ZoneBuilder, origin: &Name, soa: &Soa) {
    b.add(origin, SOA, soa.ttl, &soa.rdata, Src::default());
}

fn diff_from(old: &Soa) -> Diff {
    Diff {
        from: old.serial,
        to: old.serial,
        old_soa: (old.ttl, old.rdata.clone()),
        new_soa: (old.ttl, old.rdata.clone()),
        deleted: Vec::new(),
        added: Vec::new(),
    }
}

fn diff_rr(rr: &Rr) -> DiffRr {
    DiffRr {
        owner: rr.owner.clone(),
        rtype: rr.rtype,
        ttl: rr.ttl,
        rdata: rr.rdata.clone(),
    }
}

/// A record of a whole-zone answer: the SOA again closes it (RFC 5936
/// 2.2: the same SOA).
fn full(
    first: Soa,
    mut b: Box<ZoneBuilder>,
    rr: &Rr,
    soa: Option<Soa>,
) -> Result<Stream, XfrError> {
    match soa {
        Some(s) if s.serial == first.serial && s.rdata == first.rdata => {
            Ok(Stream::Done(Received::Full(b.finish())))
        }
        Some(_) => Err(XfrError::BadSoa),
        None => {
            b.add(&rr.owner, rr.rtype, rr.ttl, &rr.rdata, Src::default());
            Ok(Stream::Full(first, b))
        }
    }
}

/// A record of the incremental form (RFC 1995 4).
fn incremental(
    last: Soa,
    mut done: Vec<Diff>,
    mut cur: Diff,
    adding: bool,
    rr: &Rr,
    soa: Option<Soa>,
) -> Result<Stream, XfrError> {
    let Some(s) = soa else {
        let list = if adding {
            &mut cur.added
        } else {
            &mut cur.deleted
        };
        list.push(diff_rr(rr));
        return Ok(Stream::Incremental {
            last,
            done,
            cur,
            adding,
        });
    };
    if !adding {
        // The new SOA of this version: it must move forward.
        if !serial::gt(s.serial, cur.from) || serial::gt(s.serial, last.serial) {
            return Err(XfrError::BadSoa);
        }
        cur.to = s.serial;
        cur.new_soa = (s.ttl, s.rdata);
        return Ok(Stream::Incremental {
            last,
            done,
            cur,
            adding: true,
        });
    }
    let end = cur.to == last.serial;
    let next_from = cur.to;
    done.push(cur);
    if end {
        // The closing SOA: the one the answer opened with.
        if s.serial != last.serial || s.rdata != last.rdata {
            return Err(XfrError::BadSoa);
        }
        return Ok(Stream::Done(Received::Incremental(done)));
    }
    // The old SOA of the next version: where the last one ended.
    if s.serial != next_from {
        return Err(XfrError::BadSoa);
    }
    Ok(Stream::Incremental {
        last,
        done,
        cur: diff_from(&s),
        adding: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journal::Journal;
    use crate::keys::{Algorithm, Key};
    use crate::message::parse_request;
    use crate::secondary::request::{self, HeldSoa};
    use crate::secondary::tsig_chain::ChainError;
    use crate::tsig;
    use crate::zone::parser::parse_str;
    use alloc::format;
    use alloc::sync::Arc;

    fn origin() -> Name {
        Name::parse("example.org.", &Name::root()).unwrap()
    }

    fn key(b: u8) -> Key {
        Key {
            name: Name::parse("10.0.0.1.10.0.0.2._transfer.example.org.", &Name::root()).unwrap(),
            algorithm: Algorithm::Sha256,
            secret: alloc::vec![b; 32],
        }
    }

    fn zone(serial: u32, hosts: usize, net: u8) -> Zone {
        let mut t =
            format!("$TTL 60\n@ SOA ns hm {serial} 3600 600 7200 60\n@ NS ns\nns A 192.0.2.1\n");
        for i in 0..hosts {
            t += &format!("h{i} A 10.{net}.{}.{}\n", i / 256, i % 256);
        }
        let p = parse_str("z", &t, &origin()).unwrap();
        Zone::from_records(origin(), &p.records)
    }

    fn held(z: &Zone) -> HeldSoa {
        let s = z.soa().unwrap();
        HeldSoa {
            ttl: s.ttl,
            rdata: s.rdatas.first().unwrap().to_vec(),
        }
    }

    /// The primary's answer to `sent`, message by message, by our own
    /// outgoing side, signed with `k` (the request with `key(1)`).
    fn primary(z: &Zone, j: Option<&Journal>, sent: &Sent, k: &Key) -> Vec<Vec<u8>> {
        let req = parse_request(&sent.msg).unwrap();
        let v = tsig::verify(&sent.msg, &req, &[key(1)], || Some(origin()), 1000)
            .ok()
            .map(|v| tsig::Verified {
                key: k.clone(),
                ..v
            });
        let client = crate::transfer::ixfr_serial(&sent.msg, &req);
        let mut out = Vec::new();
        crate::transfer::stream(
            Arc::new(z.clone()),
            j,
            &req,
            v.as_ref(),
            1000,
            client,
            &mut |m| out.push(m.to_vec()),
        )
        .unwrap();
        out
    }

    fn receive(sent: Sent, have: Option<u32>, msgs: &[Vec<u8>]) -> Result<Received, XfrError> {
        let mut x = XfrIn::new(sent, have, Limits::default());
        for m in msgs {
            x.message(m, 1000)?;
        }
        x.finish()
    }

    /// Where a large AXFR's time goes, on the host (not a speed claim:
    /// that is `cargo xtask bench secondary`). Run with
    /// `cargo test -p gitns-dns --release -- --ignored --nocapture axfr_time`.
    #[test]
    #[ignore]
    fn axfr_time_of_a_million_names() {
        let mut b = ZoneBuilder::new(origin());
        let soa = zone(7, 0, 0)
            .soa()
            .unwrap()
            .rdatas
            .first()
            .unwrap()
            .to_vec();
        b.add(&origin(), SOA, 60, &soa, Src::default());
        for i in 0..1_000_000u32 {
            let n = Name::parse(&format!("h{i}"), &origin()).unwrap();
            b.add(&n, crate::rtype::A, 60, &i.to_be_bytes(), Src::default());
        }
        let z = b.finish();
        let sent = request::axfr(&origin(), 11, None, 1000);
        let msgs = primary(&z, None, &sent, &key(1));
        let t = std::time::Instant::now();
        let mut x = XfrIn::new(sent, None, Limits::default());
        let (last, most) = msgs.split_last().unwrap();
        for m in most {
            x.message(m, 1000).unwrap();
        }
        let t1 = t.elapsed();
        assert!(x.message(last, 1000).unwrap(), "closed");
        let Received::Full(got) = x.finish().unwrap() else {
            panic!("not whole")
        };
        let t2 = t.elapsed();
        let mut zs = crate::zoneset::ZoneSet::default();
        zs.replace(got);
        std::println!(
            "{} messages: taken {t1:?}, the last and the build {:?}, installed {:?}",
            msgs.len(),
            t2 - t1,
            t.elapsed() - t2
        );
    }

    #[test]
    fn signed_axfr_of_many_messages() {
        let z = zone(7, 3000, 0);
        let sent = request::axfr(&origin(), 11, Some(&key(1)), 1000);
        let msgs = primary(&z, None, &sent, &key(1));
        assert!(msgs.len() > 2);
        match receive(sent, None, &msgs).unwrap() {
            Received::Full(got) => assert_eq!(got, z),
            r => panic!("{r:?}"),
        }
    }

    #[test]
    fn ixfr_incremental_full_and_current() {
        let (v1, v2, v3) = (zone(1, 100, 0), zone(2, 100, 1), zone(3, 120, 1));
        let mut j = Journal::default();
        j.record(&v1, &v2);
        j.record(&v2, &v3);
        let k = key(1);
        let sent = request::ixfr(&origin(), 5, &held(&v1), Some(&k), 1000);
        let msgs = primary(&v3, Some(&j), &sent, &k);
        let Received::Incremental(d) = receive(sent.clone(), Some(1), &msgs).unwrap() else {
            panic!("not incremental")
        };
        assert_eq!(d.len(), 2);
        let mut ours = v1.clone();
        super::super::ixfr_apply::apply(&mut ours, &d).unwrap();
        assert_eq!(ours, v3);
        // Without history the primary answers with the whole zone.
        let msgs = primary(&v3, None, &sent, &k);
        assert!(matches!(receive(sent, Some(1), &msgs), Ok(Received::Full(z)) if z == v3));
        // A current client gets the SOA alone.
        let sent = request::ixfr(&origin(), 6, &held(&v3), Some(&k), 1000);
        let msgs = primary(&v3, Some(&j), &sent, &k);
        assert!(matches!(
            receive(sent, Some(3), &msgs),
            Ok(Received::Current(3))
        ));
    }

    #[test]
    fn bad_transfers_are_errors() {
        let z = zone(7, 3000, 0);
        let k = key(1);
        let sent = request::axfr(&origin(), 11, Some(&k), 1000);
        let msgs = primary(&z, None, &sent, &k);
        // Cut short: the connection closed before the closing SOA.
        let n = msgs.len();
        assert_eq!(
            receive(sent.clone(), None, &msgs[..n - 1]).unwrap_err(),
            XfrError::Truncated
        );
        // Signed with another secret.
        let wrong = primary(&z, None, &sent, &key(2));
        assert_eq!(
            receive(sent.clone(), None, &wrong).unwrap_err(),
            XfrError::Tsig(ChainError::BadSig)
        );
        // Unsigned answer to a signed request.
        let plain = request::axfr(&origin(), 11, None, 1000);
        let unsigned = primary(&z, None, &plain, &k);
        assert_eq!(
            receive(sent.clone(), None, &unsigned).unwrap_err(),
            XfrError::Tsig(ChainError::Unsigned)
        );
        // Older than what we hold.
        assert_eq!(
            receive(sent.clone(), Some(8), &msgs).unwrap_err(),
            XfrError::SerialBack { have: 8, got: 7 }
        );
        // A message more after the end.
        let mut more = msgs.clone();
        more.push(msgs[1].clone());
        assert_eq!(
            receive(sent.clone(), None, &more).unwrap_err(),
            XfrError::Trailing
        );
        // Over the limits.
        let mut x = XfrIn::new(
            sent.clone(),
            None,
            Limits {
                records: 1000,
                bytes: 1 << 30,
            },
        );
        let e = msgs.iter().find_map(|m| x.message(m, 1000).err());
        assert_eq!(e, Some(XfrError::Limit));
        // Another ID: not our answer.
        let mut other = msgs.clone();
        other[0][1] ^= 1;
        assert_eq!(receive(sent, None, &other).unwrap_err(), XfrError::NotOurs);
    }

    /// A hand-made unsigned message answering `sent` with these records
    /// (owner text, type, RDATA).
    fn message(sent: &Sent, first: bool, rrs: &[(&str, u16, Vec<u8>)]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&sent.id.to_be_bytes());
        m.extend_from_slice(&[0x84, 0, 0, first as u8, 0, rrs.len() as u8, 0, 0, 0, 0]);
        if first {
            m.extend_from_slice(origin().wire());
            m.extend_from_slice(&sent.qtype.to_be_bytes());
            m.extend_from_slice(&[0, 1]);
        }
        for (owner, t, rd) in rrs {
            m.extend_from_slice(Name::parse(owner, &Name::root()).unwrap().wire());
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
            m.extend_from_slice(rd);
        }
        m
    }

    fn soa(serial: u32) -> Vec<u8> {
        let mut rd = alloc::vec![2, b'n', b's', 0, 2, b'h', b'm', 0];
        for v in [serial, 3600, 600, 7200, 60] {
            rd.extend_from_slice(&v.to_be_bytes());
        }
        rd
    }

    #[test]
    fn hand_made_streams() {
        let sent = request::axfr(&origin(), 3, None, 0);
        let a = || alloc::vec![192, 0, 2, 1];
        let ok = message(
            &sent,
            true,
            &[
                ("example.org.", SOA, soa(9)),
                ("www.example.org.", 1, a()),
                ("example.org.", SOA, soa(9)),
            ],
        );
        assert!(
            matches!(receive(sent.clone(), None, &[ok]), Ok(Received::Full(z)) if z.record_count() == 2)
        );
        let out = message(
            &sent,
            true,
            &[("example.org.", SOA, soa(9)), ("www.example.com.", 1, a())],
        );
        assert!(matches!(
            receive(sent.clone(), None, &[out]),
            Err(XfrError::OutOfZone(_))
        ));
        // The closing SOA differs from the opening one.
        let differs = message(
            &sent,
            true,
            &[
                ("example.org.", SOA, soa(9)),
                ("www.example.org.", 1, a()),
                ("example.org.", SOA, soa(10)),
            ],
        );
        assert_eq!(
            receive(sent.clone(), None, &[differs]).unwrap_err(),
            XfrError::BadSoa
        );
        // No SOA first.
        let headless = message(&sent, true, &[("www.example.org.", 1, a())]);
        assert_eq!(
            receive(sent.clone(), None, &[headless]).unwrap_err(),
            XfrError::BadSoa
        );
        // A record after the closing SOA, in the same message.
        let trailing = message(
            &sent,
            true,
            &[
                ("example.org.", SOA, soa(9)),
                ("example.org.", SOA, soa(9)),
                ("www.example.org.", 1, a()),
            ],
        );
        assert_eq!(
            receive(sent.clone(), None, &[trailing]).unwrap_err(),
            XfrError::Trailing
        );
        // REFUSED.
        let mut refused = message(&sent, true, &[]);
        refused[3] = 5;
        assert_eq!(
            receive(sent, None, &[refused]).unwrap_err(),
            XfrError::Rcode(5)
        );
    }

    #[test]
    fn ixfr_whose_versions_do_not_chain() {
        let held = HeldSoa {
            ttl: 60,
            rdata: soa(1),
        };
        let sent = request::ixfr(&origin(), 4, &held, None, 0);
        let a = |x: u8| alloc::vec![192, 0, 2, x];
        let o = "example.org.";
        // 1 -> 2, then a version starting at 5: broken chain.
        let broken = message(
            &sent,
            true,
            &[
                (o, SOA, soa(3)),
                (o, SOA, soa(1)),
                ("a.example.org.", 1, a(1)),
                (o, SOA, soa(2)),
                (o, SOA, soa(5)),
                (o, SOA, soa(3)),
                (o, SOA, soa(3)),
            ],
        );
        assert_eq!(
            receive(sent.clone(), Some(1), &[broken]).unwrap_err(),
            XfrError::BadSoa
        );
        // A version going backwards.
        let back = message(
            &sent,
            true,
            &[(o, SOA, soa(3)), (o, SOA, soa(1)), (o, SOA, soa(0))],
        );
        assert_eq!(
            receive(sent.clone(), Some(1), &[back]).unwrap_err(),
            XfrError::BadSoa
        );
        // Serial arithmetic across the wrap: 1 -> 2^32-1 is backwards,
        // u32::MAX -> 3 forwards.
        let held = HeldSoa {
            ttl: 60,
            rdata: soa(u32::MAX),
        };
        let sent = request::ixfr(&origin(), 4, &held, None, 0);
        let wrap = message(
            &sent,
            true,
            &[
                (o, SOA, soa(3)),
                (o, SOA, soa(u32::MAX)),
                ("a.example.org.", 1, a(1)),
                (o, SOA, soa(3)),
                ("a.example.org.", 1, a(2)),
                (o, SOA, soa(3)),
            ],
        );
        let Ok(Received::Incremental(d)) = receive(sent, Some(u32::MAX), &[wrap]) else {
            panic!("wrap")
        };
        assert_eq!(
            (d[0].from, d[0].to, d[0].deleted.len(), d[0].added.len()),
            (u32::MAX, 3, 1, 1)
        );
    }
}
