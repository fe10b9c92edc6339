//! A stub resolver (RFC 1035 7, RFC 5452): one A or AAAA lookup sent to one
//! recursive server, as a sans-I/O state machine, plus a small TTL cache.
//!
//! The caller owns the socket, the clock and the RNG: it sends
//! [`Lookup::query`] right after [`Lookup::new`] and again whenever a call
//! returns [`Progress::Send`], feeds every datagram from the server to
//! [`Lookup::on_response`], and calls [`Lookup::on_timeout`] at
//! [`Lookup::next_deadline`]. Retransmissions reuse the ID of the first
//! query, so a late answer to an earlier try is still accepted (the
//! caller picks that ID at random, RFC 5452 9.2).
//!
//! Responses that cannot be matched to the query (too short, QR clear, other
//! ID, other question) are ignored and the lookup keeps waiting, so a stray
//! or spoofed datagram cannot end it; a matching response that is malformed
//! ends it with [`StubError::Malformed`].

use crate::message::Header;
use crate::name::Name;
use crate::rtype::{self, CNAME, IN, OPT};
use crate::wire::{Reader, WireError, Writer, HEADER};
use alloc::vec::Vec;
use core::fmt;
use core::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// EDNS payload size advertised (DNS flag day 2020).
pub const EDNS_PAYLOAD: u16 = 1232;
/// Longest CNAME chain followed.
pub const MAX_CNAMES: usize = 8;
/// Wait after each try, in milliseconds: 3 tries, given up after 7 s.
pub const TIMEOUTS_MS: [u64; 3] = [1000, 2000, 4000];
/// Cached TTLs are clamped to this range (seconds).
pub const MIN_TTL: u32 = 1;
pub const MAX_TTL: u32 = 3600;

/// The address type asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QType {
    A,
    Aaaa,
}

impl QType {
    pub fn code(self) -> u16 {
        match self {
            QType::A => rtype::A,
            QType::Aaaa => rtype::AAAA,
        }
    }
}

/// Why a lookup failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StubError {
    /// The name does not exist.
    NxDomain,
    /// The name exists but has no address of the type asked for.
    NoData,
    /// The server answered with this RCODE (SERVFAIL, REFUSED, ...).
    ServFail(u8),
    /// No answer after every try.
    Timeout,
    /// A matching response that does not parse.
    Malformed,
    /// The name given is not a valid domain name.
    BadName,
    /// The CNAME chain is longer than [`MAX_CNAMES`] (or loops).
    TooManyCnames,
    /// The answer was truncated and TCP is not used.
    Truncated,
}

impl fmt::Display for StubError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StubError::NxDomain => f.write_str("no such name (NXDOMAIN)"),
            StubError::NoData => f.write_str("no address of that type"),
            StubError::ServFail(2) => f.write_str("server failure (SERVFAIL)"),
            StubError::ServFail(5) => f.write_str("refused by the resolver (REFUSED)"),
            StubError::ServFail(r) => write!(f, "resolver error (RCODE {r})"),
            StubError::Timeout => f.write_str("no answer from the resolver"),
            StubError::Malformed => f.write_str("malformed response"),
            StubError::BadName => f.write_str("not a valid domain name"),
            StubError::TooManyCnames => f.write_str("CNAME chain too long or looping"),
            StubError::Truncated => f.write_str("truncated response (TCP not supported)"),
        }
    }
}

/// A successful lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The name the addresses belong to (the end of the CNAME chain).
    pub name: Name,
    /// In the order of the answer section, never empty.
    pub addrs: Vec<IpAddr>,
    /// Smallest TTL of the chain and the addresses, in seconds (unclamped).
    pub ttl: u32,
}

/// What the caller does next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Progress {
    /// Nothing: wait for a response or [`Lookup::next_deadline`].
    Waiting,
    /// (Re)send [`Lookup::query`].
    Send,
    /// The server set TC: ask again over TCP (2-byte length prefix), or
    /// give up with [`StubError::Truncated`]. The lookup is finished.
    RetryTcp,
    /// Finished with addresses.
    Done(Answer),
    /// Finished without.
    Failed(StubError),
}

/// One lookup in flight.
#[derive(Clone, Debug)]
pub struct Lookup {
    name: Name,
    qtype: QType,
    id: u16,
    query: Vec<u8>,
    /// Tries sent so far.
    tries: usize,
    deadline_ms: u64,
    finished: bool,
}

impl Lookup {
    /// A lookup of `name` (absolute, or taken as absolute: there is no
    /// search list) sent at `now_ms` with message ID `id` (random).
    pub fn new(name: &str, qtype: QType, id: u16, now_ms: u64) -> Result<Lookup, StubError> {
        let name = Name::parse(name, &Name::root()).map_err(|_| StubError::BadName)?;
        if name.is_root() {
            return Err(StubError::BadName);
        }
        let mut buf = [0u8; HEADER + 255 + 4 + 11];
        let mut w = Writer::new(&mut buf);
        let built = (|| {
            w.u16(id)?;
            w.u16(0x0100)?; // RD
            for count in [1, 0, 0, 1] {
                w.u16(count)?;
            }
            w.name(&name, false)?;
            w.u16(qtype.code())?;
            w.u16(IN)?;
            // OPT (RFC 6891 6.1.2): root owner, payload size, no flags.
            w.u8(0)?;
            w.u16(OPT)?;
            w.u16(EDNS_PAYLOAD)?;
            w.u32(0)?;
            w.u16(0)
        })();
        built.map_err(|_| StubError::BadName)?;
        Ok(Lookup {
            query: w.written().to_vec(),
            name,
            qtype,
            id,
            tries: 1,
            deadline_ms: now_ms.saturating_add(TIMEOUTS_MS[0]),
            finished: false,
        })
    }

    /// The query message (UDP payload).
    pub fn query(&self) -> &[u8] {
        &self.query
    }

    pub fn name(&self) -> &Name {
        &self.name
    }

    pub fn qtype(&self) -> QType {
        self.qtype
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    /// True once a call returned `Done`, `Failed` or `RetryTcp`.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// When [`Lookup::on_timeout`] is due; None once finished.
    pub fn next_deadline(&self) -> Option<u64> {
        (!self.finished).then_some(self.deadline_ms)
    }

    /// Retransmit or give up when the deadline passed.
    pub fn on_timeout(&mut self, now_ms: u64) -> Progress {
        if self.finished || now_ms < self.deadline_ms {
            return Progress::Waiting;
        }
        if self.tries < TIMEOUTS_MS.len() {
            self.deadline_ms = now_ms.saturating_add(TIMEOUTS_MS[self.tries]);
            self.tries += 1;
            return Progress::Send;
        }
        self.finish(Progress::Failed(StubError::Timeout))
    }

    /// A datagram from the server.
    pub fn on_response(&mut self, msg: &[u8], _now_ms: u64) -> Progress {
        if self.finished {
            return Progress::Waiting;
        }
        match self.check(msg) {
            None => Progress::Waiting,
            Some(p) => self.finish(p),
        }
    }

    fn finish(&mut self, p: Progress) -> Progress {
        self.finished = true;
        p
    }

    /// None when `msg` is not a response to this query.
    fn check(&self, msg: &[u8]) -> Option<Progress> {
        let mut r = Reader::message(msg, 0);
        let h = Header::parse(&mut r).ok()?;
        if !h.qr() || h.id != self.id || h.opcode() != 0 || h.qdcount != 1 {
            return None;
        }
        let qname = r.name().ok()?;
        let (qtype, qclass) = (r.u16().ok()?, r.u16().ok()?);
        if qname != self.name || qtype != self.qtype.code() || qclass != IN {
            return None;
        }
        if h.flags & 0x0200 != 0 {
            return Some(Progress::RetryTcp);
        }
        Some(match h.flags & 0xf {
            0 => match self.answer(msg, &mut r, h.ancount) {
                Ok(a) => Progress::Done(a),
                Err(e) => Progress::Failed(e),
            },
            3 => Progress::Failed(StubError::NxDomain),
            rcode => Progress::Failed(StubError::ServFail(rcode as u8)),
        })
    }

    /// Follow the CNAME chain from the question through the answer section.
    fn answer(&self, msg: &[u8], r: &mut Reader, ancount: u16) -> Result<Answer, StubError> {
        let mut cnames: Vec<(Name, Name, u32)> = Vec::new();
        let mut addrs: Vec<(Name, IpAddr, u32)> = Vec::new();
        let want = self.qtype.code();
        for _ in 0..ancount {
            let owner = r.name()?;
            let (t, class, ttl, len) = (r.u16()?, r.u16()?, r.u32()?, r.u16()? as usize);
            let start = r.pos();
            let rdata = r.bytes(len)?;
            // RFC 2181 8: a TTL with the top bit set is zero.
            let ttl = if ttl > i32::MAX as u32 { 0 } else { ttl };
            if class != IN {
                continue;
            }
            if t == CNAME {
                let mut rd = Reader::message(msg, start);
                let target = rd.name()?;
                if rd.pos() != start + len {
                    return Err(StubError::Malformed);
                }
                cnames.push((owner, target, ttl));
            } else if t == want {
                let ip = match (self.qtype, rdata.len()) {
                    (QType::A, 4) => IpAddr::V4(Ipv4Addr::from(
                        <[u8; 4]>::try_from(rdata).unwrap_or_default(),
                    )),
                    (QType::Aaaa, 16) => IpAddr::V6(Ipv6Addr::from(
                        <[u8; 16]>::try_from(rdata).unwrap_or_default(),
                    )),
                    _ => return Err(StubError::Malformed),
                };
                addrs.push((owner, ip, ttl));
            }
        }
        let mut name = &self.name;
        let mut ttl = u32::MAX;
        let mut hops = 0;
        loop {
            let found: Vec<IpAddr> = addrs
                .iter()
                .filter(|(o, _, _)| o == name)
                .map(|&(_, ip, t)| {
                    ttl = ttl.min(t);
                    ip
                })
                .collect();
            if !found.is_empty() {
                return Ok(Answer {
                    name: name.clone(),
                    addrs: found,
                    ttl,
                });
            }
            let Some((_, target, t)) = cnames.iter().find(|(o, _, _)| o == name) else {
                return Err(StubError::NoData);
            };
            hops += 1;
            if hops > MAX_CNAMES {
                return Err(StubError::TooManyCnames);
            }
            ttl = ttl.min(*t);
            name = target;
        }
    }
}

impl From<WireError> for StubError {
    fn from(_: WireError) -> StubError {
        StubError::Malformed
    }
}

/// A cache of finished lookups keyed by (name, type), honoring TTLs
/// clamped to [`MIN_TTL`]..=[`MAX_TTL`]. Negative answers are not cached.
#[derive(Clone, Debug)]
pub struct Cache {
    entries: Vec<Entry>,
    capacity: usize,
}

#[derive(Clone, Debug)]
struct Entry {
    name: Name,
    qtype: QType,
    answer: Answer,
    expires_ms: u64,
}

impl Default for Cache {
    fn default() -> Self {
        Cache::new(64)
    }
}

impl Cache {
    /// A cache holding at most `capacity` (at least 1) entries.
    pub fn new(capacity: usize) -> Cache {
        Cache {
            entries: Vec::new(),
            capacity: capacity.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The answer for (`name`, `qtype`) if still fresh at `now_ms`, with its
    /// TTL lowered to the seconds left (at least 1).
    pub fn get(&self, name: &Name, qtype: QType, now_ms: u64) -> Option<Answer> {
        let e = self
            .entries
            .iter()
            .find(|e| e.qtype == qtype && e.name == *name && e.expires_ms > now_ms)?;
        let mut a = e.answer.clone();
        a.ttl = (e.expires_ms - now_ms).div_ceil(1000).max(1) as u32;
        Some(a)
    }

    /// Store the answer for the lookup of (`name`, `qtype`) made at `now_ms`.
    pub fn insert(&mut self, name: &Name, qtype: QType, answer: &Answer, now_ms: u64) {
        self.purge(now_ms);
        self.entries
            .retain(|e| !(e.qtype == qtype && e.name == *name));
        if self.entries.len() >= self.capacity {
            // Evict the entry that would expire first.
            if let Some(i) = (0..self.entries.len()).min_by_key(|&i| self.entries[i].expires_ms) {
                self.entries.swap_remove(i);
            }
        }
        let ttl = answer.ttl.clamp(MIN_TTL, MAX_TTL) as u64;
        self.entries.push(Entry {
            name: name.clone(),
            qtype,
            answer: answer.clone(),
            expires_ms: now_ms.saturating_add(ttl * 1000),
        });
    }

    /// Drop expired entries.
    pub fn purge(&mut self, now_ms: u64) {
        self.entries.retain(|e| e.expires_ms > now_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtype::{A, AAAA};
    use alloc::vec;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    /// A response to `q` with `flags` and answer records (owner, type, ttl,
    /// rdata), owners written uncompressed unless they equal the qname.
    fn response(q: &Lookup, flags: u16, answers: &[(&str, u16, u32, Vec<u8>)]) -> Vec<u8> {
        let qlen = q.query().len() - 11; // without the OPT
        let mut m = q.query()[..qlen].to_vec();
        m[2..4].copy_from_slice(&(0x8180 | flags).to_be_bytes());
        m[6..8].copy_from_slice(&(answers.len() as u16).to_be_bytes());
        m[10..12].copy_from_slice(&0u16.to_be_bytes());
        for (owner, t, ttl, rd) in answers {
            if n(owner) == *q.name() {
                m.extend_from_slice(&[0xc0, 12]);
            } else {
                m.extend_from_slice(n(owner).wire());
            }
            m.extend_from_slice(&t.to_be_bytes());
            m.extend_from_slice(&IN.to_be_bytes());
            m.extend_from_slice(&ttl.to_be_bytes());
            m.extend_from_slice(&(rd.len() as u16).to_be_bytes());
            m.extend_from_slice(rd);
        }
        m
    }

    fn cname(target: &str) -> Vec<u8> {
        n(target).wire().to_vec()
    }

    fn v4(a: [u8; 4]) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(a))
    }

    #[test]
    fn query_format() {
        let q = Lookup::new("Acme.Example.org", QType::A, 0xbeef, 0).unwrap();
        let m = q.query();
        assert_eq!(&m[..12], &[0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        let mut r = Reader::message(m, 12);
        assert_eq!(r.name().unwrap().to_text(), "Acme.Example.org.");
        assert_eq!((r.u16().unwrap(), r.u16().unwrap()), (A, IN));
        assert_eq!(
            r.bytes(11).unwrap(),
            &[0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(r.remaining(), 0);
        let q = Lookup::new("x.", QType::Aaaa, 1, 0).unwrap();
        assert_eq!(
            &q.query()[q.query().len() - 15..q.query().len() - 13],
            &AAAA.to_be_bytes()
        );
        for bad in [
            "",
            ".",
            "a..b",
            &"x".repeat(64),
            &["abcdefghij"; 30].join("."),
        ] {
            assert_eq!(
                Lookup::new(bad, QType::A, 1, 0).err(),
                Some(StubError::BadName),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn good_a_answer() {
        let mut q = Lookup::new("acme.example.org", QType::A, 7, 1000).unwrap();
        assert_eq!(q.next_deadline(), Some(2000));
        let m = response(
            &q,
            0,
            &[
                ("acme.example.org.", A, 300, vec![192, 0, 2, 1]),
                ("unrelated.example.", A, 5, vec![6, 6, 6, 6]),
                ("ACME.example.org.", A, 200, vec![192, 0, 2, 2]),
                ("acme.example.org.", rtype::TXT, 1, vec![1, b'x']),
            ],
        );
        let p = q.on_response(&m, 1100);
        assert_eq!(
            p,
            Progress::Done(Answer {
                name: n("acme.example.org."),
                addrs: vec![v4([192, 0, 2, 1]), v4([192, 0, 2, 2])],
                ttl: 200
            })
        );
        assert!(q.is_finished());
        assert_eq!(q.next_deadline(), None);
        assert_eq!(q.on_response(&m, 1200), Progress::Waiting);
        assert_eq!(q.on_timeout(99_999), Progress::Waiting);
    }

    #[test]
    fn aaaa_answer() {
        let mut q = Lookup::new("v6.example.", QType::Aaaa, 9, 0).unwrap();
        let mut ip = [0u8; 16];
        ip[0] = 0x20;
        ip[1] = 0x01;
        ip[15] = 1;
        let m = response(&q, 0, &[("v6.example.", AAAA, 60, ip.to_vec())]);
        match q.on_response(&m, 0) {
            Progress::Done(a) => assert_eq!(a.addrs, vec![IpAddr::V6(Ipv6Addr::from(ip))]),
            p => panic!("{p:?}"),
        }
        // An A record in an AAAA answer is unrelated; a short AAAA is malformed.
        let mut q = Lookup::new("v6.example.", QType::Aaaa, 9, 0).unwrap();
        let m = response(&q, 0, &[("v6.example.", A, 60, vec![1, 2, 3, 4])]);
        assert_eq!(q.on_response(&m, 0), Progress::Failed(StubError::NoData));
        let mut q = Lookup::new("v6.example.", QType::Aaaa, 9, 0).unwrap();
        let m = response(&q, 0, &[("v6.example.", AAAA, 60, vec![1, 2, 3, 4])]);
        assert_eq!(q.on_response(&m, 0), Progress::Failed(StubError::Malformed));
    }

    #[test]
    fn cname_chain() {
        let mut q = Lookup::new("www.example.org", QType::A, 1, 0).unwrap();
        let m = response(
            &q,
            0,
            &[
                ("www.example.org.", CNAME, 100, cname("a.cdn.example.")),
                ("a.cdn.example.", CNAME, 30, cname("B.cdn.example.")),
                ("b.cdn.example.", A, 60, vec![198, 51, 100, 7]),
            ],
        );
        assert_eq!(
            q.on_response(&m, 0),
            Progress::Done(Answer {
                name: n("b.cdn.example."),
                addrs: vec![v4([198, 51, 100, 7])],
                ttl: 30
            })
        );
        // A compressed CNAME target pointing at the question name.
        let mut q = Lookup::new("example.org", QType::A, 1, 0).unwrap();
        let m = response(
            &q,
            0,
            &[
                (
                    "example.org.",
                    CNAME,
                    100,
                    vec![3, b'w', b'w', b'w', 0xc0, 12],
                ),
                ("www.example.org.", A, 60, vec![1, 2, 3, 4]),
            ],
        );
        match q.on_response(&m, 0) {
            Progress::Done(a) => assert_eq!((a.name, a.ttl), (n("www.example.org."), 60)),
            p => panic!("{p:?}"),
        }
        // The chain ends without addresses: NODATA.
        let mut q = Lookup::new("www.example.org", QType::A, 1, 0).unwrap();
        let m = response(
            &q,
            0,
            &[("www.example.org.", CNAME, 100, cname("x.example."))],
        );
        assert_eq!(q.on_response(&m, 0), Progress::Failed(StubError::NoData));
        // Bad CNAME RDATA (trailing byte).
        let mut q = Lookup::new("www.example.org", QType::A, 1, 0).unwrap();
        let mut rd = cname("x.example.");
        rd.push(0);
        let m = response(&q, 0, &[("www.example.org.", CNAME, 100, rd)]);
        assert_eq!(q.on_response(&m, 0), Progress::Failed(StubError::Malformed));
    }

    #[test]
    fn cname_loops_and_long_chains() {
        let mut q = Lookup::new("a.example", QType::A, 1, 0).unwrap();
        let m = response(
            &q,
            0,
            &[
                ("a.example.", CNAME, 1, cname("b.example.")),
                ("b.example.", CNAME, 1, cname("a.example.")),
            ],
        );
        assert_eq!(
            q.on_response(&m, 0),
            Progress::Failed(StubError::TooManyCnames)
        );
        let names: Vec<alloc::string::String> =
            (0..=10).map(|i| alloc::format!("c{i}.example.")).collect();
        let chain = |len: usize| {
            let mut rrs: Vec<(&str, u16, u32, Vec<u8>)> = (0..len)
                .map(|i| (names[i].as_str(), CNAME, 9, cname(&names[i + 1])))
                .collect();
            rrs.push((names[len].as_str(), A, 9, vec![1, 1, 1, 1]));
            rrs
        };
        let mut q = Lookup::new("c0.example", QType::A, 1, 0).unwrap();
        assert!(matches!(
            q.on_response(&response(&q, 0, &chain(MAX_CNAMES)), 0),
            Progress::Done(_)
        ));
        let mut q = Lookup::new("c0.example", QType::A, 1, 0).unwrap();
        assert_eq!(
            q.on_response(&response(&q, 0, &chain(MAX_CNAMES + 1)), 0),
            Progress::Failed(StubError::TooManyCnames)
        );
    }

    #[test]
    fn unmatched_responses_are_ignored() {
        let mut q = Lookup::new("acme.example.org", QType::A, 0x1234, 0).unwrap();
        let good = response(&q, 0, &[("acme.example.org.", A, 60, vec![1, 2, 3, 4])]);
        let mut wrong_id = good.clone();
        wrong_id[1] ^= 1;
        let mut not_response = good.clone();
        not_response[2] &= 0x7f;
        let mut other_name = good.clone();
        other_name[13] = b'b';
        let mut other_type = good.clone();
        let qt = 12 + q.name().wire().len();
        other_type[qt + 1] = 28;
        let mut other_class = good.clone();
        other_class[qt + 3] = 3;
        let mut no_question = good[..12].to_vec();
        no_question[5] = 0;
        no_question[7] = 0;
        let mut notify = good.clone();
        notify[2] |= 4 << 3;
        for m in [
            &wrong_id,
            &not_response,
            &other_name,
            &other_type,
            &other_class,
            &no_question,
            &notify,
            &good[..11].to_vec(),
            &good[..qt].to_vec(),
        ] {
            assert_eq!(q.on_response(m, 10), Progress::Waiting);
            assert!(!q.is_finished());
        }
        assert_eq!(q.next_deadline(), Some(1000));
        // The question matches case-insensitively (0x20 randomisation).
        let mut upper = good.clone();
        upper[13] = b'A';
        assert!(matches!(q.on_response(&upper, 20), Progress::Done(_)));
    }

    #[test]
    fn negative_answers() {
        let mut q = Lookup::new("nope.example", QType::A, 3, 0).unwrap();
        assert_eq!(
            q.on_response(&response(&q, 3, &[]), 0),
            Progress::Failed(StubError::NxDomain)
        );
        let mut q = Lookup::new("nope.example", QType::A, 3, 0).unwrap();
        assert_eq!(
            q.on_response(&response(&q, 0, &[]), 0),
            Progress::Failed(StubError::NoData)
        );
        for rcode in [1u16, 2, 4, 5] {
            let mut q = Lookup::new("nope.example", QType::A, 3, 0).unwrap();
            assert_eq!(
                q.on_response(&response(&q, rcode, &[]), 0),
                Progress::Failed(StubError::ServFail(rcode as u8))
            );
        }
        let mut q = Lookup::new("big.example", QType::A, 3, 0).unwrap();
        assert_eq!(
            q.on_response(&response(&q, 0x0200, &[]), 0),
            Progress::RetryTcp
        );
        assert!(q.is_finished());
    }

    #[test]
    fn malformed_matching_responses() {
        let mut q = Lookup::new("acme.example.org", QType::A, 5, 0).unwrap();
        let good = response(&q, 0, &[("acme.example.org.", A, 60, vec![1, 2, 3, 4])]);
        // Cut inside the answer section.
        for cut in good.len() - 10..good.len() {
            let mut q2 = q.clone();
            assert_eq!(
                q2.on_response(&good[..cut], 0),
                Progress::Failed(StubError::Malformed),
                "{cut}"
            );
        }
        // More answers announced than present.
        let mut m = good.clone();
        m[7] = 2;
        assert_eq!(
            q.clone().on_response(&m, 0),
            Progress::Failed(StubError::Malformed)
        );
        // A 5-byte A record.
        let m = response(&q, 0, &[("acme.example.org.", A, 60, vec![1, 2, 3, 4, 5])]);
        assert_eq!(q.on_response(&m, 0), Progress::Failed(StubError::Malformed));
    }

    #[test]
    fn timeouts_and_retries() {
        let mut q = Lookup::new("slow.example", QType::A, 11, 10_000).unwrap();
        assert_eq!(q.on_timeout(10_999), Progress::Waiting);
        assert_eq!(q.on_timeout(11_000), Progress::Send);
        assert_eq!(q.next_deadline(), Some(13_000));
        assert_eq!(q.on_timeout(12_000), Progress::Waiting);
        assert_eq!(q.on_timeout(13_000), Progress::Send);
        assert_eq!(q.next_deadline(), Some(17_000));
        assert_eq!(q.id(), 11, "retries reuse the ID");
        // A late answer to the first try is still taken.
        let mut late = q.clone();
        let m = response(&late, 0, &[("slow.example.", A, 60, vec![1, 2, 3, 4])]);
        assert!(matches!(late.on_response(&m, 16_000), Progress::Done(_)));
        assert_eq!(q.on_timeout(16_999), Progress::Waiting);
        assert_eq!(q.on_timeout(17_000), Progress::Failed(StubError::Timeout));
        assert!(q.is_finished());
        assert_eq!(q.on_timeout(20_000), Progress::Waiting);
        assert_eq!(q.on_response(&m, 20_000), Progress::Waiting, "too late");
    }

    #[test]
    fn random_bytes_never_panic() {
        // xorshift; half the inputs get the right header and question so
        // the answer parser is reached.
        let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let q = Lookup::new("www.example.org", QType::A, 0x4242, 0).unwrap();
        let prefix = response(&q, 0, &[]);
        let mut outcomes = [0usize; 3];
        for i in 0..20_000 {
            let len = (next() % 300) as usize;
            let mut m: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if i % 2 == 0 {
                let mut p = prefix.clone();
                p[7] = (next() % 6) as u8;
                p[3] = next() as u8 & 0x8f;
                // Records: well-formed A or CNAME ones with random bits,
                // pointers to the question name and small labels, or noise.
                for _ in 0..next() % 6 {
                    match next() % 4 {
                        0 => p.extend_from_slice(&[
                            0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 9, 0, 4, 1, 2, 3, 4,
                        ]),
                        1 => {
                            p.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 2, 0xc0, 12])
                        }
                        2 => p.extend_from_slice(&[
                            1, b'a', 0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 9, 0, 1, 0,
                        ]),
                        _ => {}
                    }
                    if next() % 4 == 0 {
                        let at = (next() as usize) % p.len().max(1);
                        p[at] = next() as u8;
                    }
                }
                for b in m.iter_mut() {
                    match next() % 8 {
                        0 => *b = 0xc0,
                        1 => *b = 12,
                        2 => *b = (next() % 5) as u8,
                        _ => {}
                    }
                }
                if next() % 2 == 0 {
                    m.clear();
                }
                p.extend_from_slice(&m);
                m = p;
            }
            let p = q.clone().on_response(&m, 0);
            outcomes[match p {
                Progress::Waiting => 0,
                Progress::Done(a) => {
                    assert!(!a.addrs.is_empty());
                    1
                }
                _ => 2,
            }] += 1;
        }
        assert!(outcomes.iter().all(|&c| c > 0), "{outcomes:?}");
    }

    #[test]
    fn cache_honours_ttl() {
        let mut c = Cache::new(2);
        let a = |ttl| Answer {
            name: n("x.example."),
            addrs: vec![v4([1, 2, 3, 4])],
            ttl,
        };
        let x = n("x.example.");
        c.insert(&x, QType::A, &a(10), 1_000);
        assert_eq!(c.get(&n("X.Example."), QType::A, 1_000).unwrap().ttl, 10);
        assert_eq!(c.get(&x, QType::A, 5_500).unwrap().ttl, 6);
        assert!(c.get(&x, QType::Aaaa, 1_000).is_none());
        assert!(c.get(&x, QType::A, 11_000).is_none());
        // TTL 0 is kept 1 s; a day is cut to an hour.
        c.insert(&x, QType::A, &a(0), 0);
        assert!(c.get(&x, QType::A, 999).is_some());
        assert!(c.get(&x, QType::A, 1_000).is_none());
        c.insert(&x, QType::A, &a(86_400), 0);
        assert!(c.get(&x, QType::A, 3_599_999).is_some());
        assert!(c.get(&x, QType::A, 3_600_000).is_none());
        // Replacing, then evicting the entry that expires first.
        c.insert(&x, QType::A, &a(100), 0);
        assert_eq!(c.len(), 1);
        c.insert(&n("y."), QType::A, &a(50), 0);
        c.insert(&n("z."), QType::A, &a(200), 0);
        assert_eq!(c.len(), 2);
        assert!(c.get(&n("y."), QType::A, 0).is_none());
        assert!(c.get(&x, QType::A, 0).is_some() && c.get(&n("z."), QType::A, 0).is_some());
        c.purge(150_000);
        assert_eq!(c.len(), 1);
    }
}
