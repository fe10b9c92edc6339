//! Does every secondary serve a record yet? Before an ACME CA is asked to
//! validate a DNS-01 challenge, each server of the zone is asked for the
//! challenge TXT directly (non-recursive, RFC 1034 4.3.1) until it answers
//! authoritatively with the value: the CA may ask any of them (RFC 8555
//! 8.4). Sans-I/O: the caller sends what [`TxtProbe::due`] returns from one
//! UDP socket, feeds every datagram to [`TxtProbe::on_response`], and asks
//! [`TxtProbe::done`]. Responses that do not match an outstanding query
//! (other ID, other question, other sender) are ignored.

use crate::message::Header;
use crate::name::Name;
use crate::notify_out::Target;
use crate::rtype::{IN, OPT, TXT};
use crate::wire::{Reader, Writer, HEADER};
use alloc::vec::Vec;

/// A server is asked again this often until it serves the record.
pub const INTERVAL_NS: u64 = 500_000_000;
/// EDNS payload size advertised (room for several challenge TXTs).
const PAYLOAD: u16 = 1232;

/// One (server, record) pair being watched.
#[derive(Clone, Debug)]
struct Check {
    target: Target,
    name: Name,
    /// The TXT value as one character-string.
    value: Vec<u8>,
    id: u16,
    next_at: u64,
    served: bool,
}

/// The probe of a set of TXT records on a set of servers.
#[derive(Clone, Debug, Default)]
pub struct TxtProbe {
    checks: Vec<Check>,
}

impl TxtProbe {
    /// Watch `records` (absolute name, value) on every target from monotonic
    /// `now`; `ids` gives message IDs (random, RFC 5452 9.2).
    pub fn new(
        targets: &[Target],
        records: &[(Name, Vec<u8>)],
        now: u64,
        ids: &mut dyn FnMut() -> u16,
    ) -> TxtProbe {
        let mut checks = Vec::new();
        for t in targets {
            for (name, value) in records {
                checks.push(Check {
                    target: *t,
                    name: name.clone(),
                    value: value.clone(),
                    id: ids(),
                    next_at: now,
                    served: false,
                });
            }
        }
        TxtProbe { checks }
    }

    /// True once every server answered every record with its value.
    pub fn done(&self) -> bool {
        self.checks.iter().all(|c| c.served)
    }

    /// The (server, name) pairs not served yet, for a log line.
    pub fn missing(&self) -> Vec<(Target, Name)> {
        self.checks
            .iter()
            .filter(|c| !c.served)
            .map(|c| (c.target, c.name.clone()))
            .collect()
    }

    /// Queries to send now (target, message); each is repeated every
    /// [`INTERVAL_NS`] until its server serves the record.
    pub fn due(&mut self, now: u64) -> Vec<(Target, Vec<u8>)> {
        let mut out = Vec::new();
        for c in self
            .checks
            .iter_mut()
            .filter(|c| !c.served && c.next_at <= now)
        {
            if let Some(q) = query(&c.name, c.id) {
                out.push((c.target, q));
            }
            c.next_at = now + INTERVAL_NS;
        }
        out
    }

    /// When `due` next has work.
    pub fn next_deadline(&self) -> Option<u64> {
        self.checks
            .iter()
            .filter(|c| !c.served)
            .map(|c| c.next_at)
            .min()
    }

    /// A datagram from `from`; true when it showed a record served.
    pub fn on_response(&mut self, from: Target, msg: &[u8]) -> bool {
        let mut hit = false;
        for c in self
            .checks
            .iter_mut()
            .filter(|c| !c.served && c.target.addr == from.addr && c.target.port == from.port)
        {
            if serves(msg, c.id, &c.name, &c.value) {
                c.served = true;
                hit = true;
            }
        }
        hit
    }
}

/// A non-recursive TXT query for `name` with EDNS (RFC 6891).
fn query(name: &Name, id: u16) -> Option<Vec<u8>> {
    let mut buf = [0u8; HEADER + 255 + 4 + 11];
    let mut w = Writer::new(&mut buf);
    let built = (|| {
        w.u16(id)?;
        w.u16(0)?; // QUERY, RD clear: the server's own data only
        for count in [1, 0, 0, 1] {
            w.u16(count)?;
        }
        w.name(name, false)?;
        w.u16(TXT)?;
        w.u16(IN)?;
        w.u8(0)?;
        w.u16(OPT)?;
        w.u16(PAYLOAD)?;
        w.u32(0)?;
        w.u16(0)
    })();
    built.ok()?;
    Some(w.written().to_vec())
}

/// Is `msg` an authoritative NOERROR answer to our query `id` for `name`
/// holding TXT `value` (RFC 1035 3.3.14: one character-string)?
fn serves(msg: &[u8], id: u16, name: &Name, value: &[u8]) -> bool {
    let mut r = Reader::message(msg, 0);
    let Ok(h) = Header::parse(&mut r) else {
        return false;
    };
    // AA (RFC 1035 4.1.1): a server answering from its copy of the zone.
    if !h.qr() || h.id != id || h.opcode() != 0 || h.qdcount != 1 || h.flags & 0x0400 == 0 {
        return false;
    }
    if h.flags & 0x000f != 0 {
        return false;
    }
    let question = (|| Some((r.name().ok()?, r.u16().ok()?, r.u16().ok()?)))();
    if question != Some((name.clone(), TXT, IN)) {
        return false;
    }
    for _ in 0..h.ancount {
        let rr = (|| {
            let owner = r.name().ok()?;
            let (t, class, _ttl, len) =
                (r.u16().ok()?, r.u16().ok()?, r.u32().ok()?, r.u16().ok()?);
            Some((owner, t, class, r.bytes(len as usize).ok()?))
        })();
        let Some((owner, t, class, rdata)) = rr else {
            return false;
        };
        if owner == *name
            && t == TXT
            && class == IN
            && rdata.first().map(|&l| l as usize) == Some(value.len())
            && &rdata[1..] == value
        {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    const A: Target = Target {
        addr: [10, 0, 0, 3],
        port: 53,
    };
    const B: Target = Target {
        addr: [10, 0, 0, 4],
        port: 53,
    };

    fn name(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    /// A response to `q` with `flags` and TXT answers `values`.
    fn answer(q: &[u8], flags: u16, owner: &Name, values: &[&[u8]]) -> Vec<u8> {
        let mut m = q[..2].to_vec();
        m.extend_from_slice(&flags.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m.extend_from_slice(&(values.len() as u16).to_be_bytes());
        m.extend_from_slice(&[0, 0, 0, 0]);
        // The question, copied from the query (header is 12 bytes; the
        // query ends with an 11-byte OPT).
        m.extend_from_slice(&q[12..q.len() - 11]);
        for v in values {
            m.extend_from_slice(owner.wire());
            m.extend_from_slice(&TXT.to_be_bytes());
            m.extend_from_slice(&IN.to_be_bytes());
            m.extend_from_slice(&60u32.to_be_bytes());
            m.extend_from_slice(&((v.len() + 1) as u16).to_be_bytes());
            m.push(v.len() as u8);
            m.extend_from_slice(v);
        }
        m
    }

    fn probe() -> TxtProbe {
        let mut id = 100;
        TxtProbe::new(
            &[A, B],
            &[(name("_acme-challenge.www.example.org."), b"tok".to_vec())],
            1_000,
            &mut || {
                id += 1;
                id
            },
        )
    }

    #[test]
    fn asks_every_server_and_repeats_until_served() {
        let mut p = probe();
        let first = p.due(1_000);
        assert_eq!(first.len(), 2);
        assert!(p.due(1_001).is_empty(), "not again before the interval");
        assert_eq!(p.next_deadline(), Some(1_000 + INTERVAL_NS));
        let q = &first[0].1;
        assert_eq!(&q[2..4], &[0, 0], "RD clear");
        let owner = name("_acme-challenge.www.example.org.");
        assert!(p.on_response(A, &answer(q, 0x8400, &owner, &[b"old", b"tok"])));
        assert!(!p.done());
        assert_eq!(p.missing(), vec![(B, owner.clone())]);
        assert_eq!(p.due(1_000 + INTERVAL_NS).len(), 1, "only B again");
        let qb = &first[1].1;
        assert!(p.on_response(B, &answer(qb, 0x8400, &owner, &[b"tok"])));
        assert!(p.done());
        assert_eq!(p.next_deadline(), None);
    }

    #[test]
    fn stale_or_foreign_answers_do_not_count() {
        let mut p = probe();
        let q = p.due(1_000)[0].1.clone();
        let owner = name("_acme-challenge.www.example.org.");
        // The old value only; not authoritative; an error; another ID;
        // another sender; another name; truncated garbage.
        assert!(!p.on_response(A, &answer(&q, 0x8400, &owner, &[b"old"])));
        assert!(!p.on_response(A, &answer(&q, 0x8000, &owner, &[b"tok"])));
        assert!(!p.on_response(A, &answer(&q, 0x8403, &owner, &[])));
        let mut other = answer(&q, 0x8400, &owner, &[b"tok"]);
        other[1] ^= 1;
        assert!(!p.on_response(A, &other));
        let right = answer(&q, 0x8400, &owner, &[b"tok"]);
        assert!(!p.on_response(B, &right), "B's ID differs from A's");
        let elsewhere = name("_acme-challenge.mail.example.org.");
        assert!(!p.on_response(A, &answer(&q, 0x8400, &elsewhere, &[b"tok"])));
        for cut in 0..right.len() {
            assert!(!p.on_response(A, &right[..cut]));
        }
        assert!(p.on_response(A, &right));
    }

    #[test]
    fn no_servers_is_done_at_once() {
        let p = TxtProbe::new(&[], &[(name("a.example."), b"x".to_vec())], 0, &mut || 1);
        assert!(p.done());
    }
}
