//! Host names to IPv4 addresses for the appliance's clients (the git
//! remote, ACME): [`stub::Lookup`]s to one recursive server, at most
//! [`MAX_PENDING`] at once, answers kept in a [`stub::Cache`], failures
//! reported for [`FAILURE_HOLD_NS`] before a name is asked again.
//!
//! Sans-I/O and non-blocking: [`Resolver::resolve`] answers from an IP
//! literal or the cache, or starts a lookup and says [`Resolved::Pending`];
//! the caller feeds datagrams from the server to [`Resolver::on_response`],
//! calls [`Resolver::poll`] to send what is due and to finish lookups, and
//! asks again later. Time is monotonic nanoseconds, passed in.

use crate::name::Name;
use crate::stub::{Answer, Cache, Lookup, Progress, QType, StubError};
use alloc::vec::Vec;
use core::net::IpAddr;

/// A failed lookup is reported for this long before a new one may start.
pub const FAILURE_HOLD_NS: u64 = 5_000_000_000;
/// Lookups in flight at once.
pub const MAX_PENDING: usize = 16;

/// The answer of [`Resolver::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resolved {
    Ready(IpAddr),
    /// A lookup is under way: ask again later.
    Pending,
    Failed(StubError),
}

/// A lookup that ended in [`Resolver::poll`] (for the caller's log).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finished {
    pub name: Name,
    pub outcome: Result<Answer, StubError>,
}

struct Pending {
    lookup: Lookup,
    /// The query is due to be (re)sent on the next `poll`.
    send: bool,
    /// Ended by a response, not yet finished by `poll`.
    ended: Option<Progress>,
}

/// The lookups in flight, the cache and the recent failures.
#[derive(Default)]
pub struct Resolver {
    pending: Vec<Pending>,
    /// Recent failures: (name, reason, reported until).
    failed: Vec<(Name, StubError, u64)>,
    cache: Cache,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

impl Resolver {
    pub fn new() -> Resolver {
        Resolver::default()
    }

    /// The IPv4 address of `name` (an IP literal is its own answer). Starts
    /// a lookup with a query ID from `rng` when needed (RFC 5452 9.2); a
    /// lookup already under way is not restarted.
    pub fn resolve(&mut self, name: &str, now_ns: u64, rng: &mut dyn FnMut() -> u16) -> Resolved {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Resolved::Ready(ip);
        }
        let Ok(qname) = Name::parse(name, &Name::root()) else {
            return Resolved::Failed(StubError::BadName);
        };
        if let Some(a) = self.cache.get(&qname, QType::A, ms(now_ns)) {
            return Resolved::Ready(a.addrs[0]);
        }
        self.failed.retain(|f| f.2 > now_ns);
        if let Some(f) = self.failed.iter().find(|f| f.0 == qname) {
            return Resolved::Failed(f.1);
        }
        let asked = self.pending.iter().any(|p| *p.lookup.name() == qname);
        if asked || self.pending.len() >= MAX_PENDING {
            return Resolved::Pending;
        }
        match Lookup::new(name, QType::A, rng(), ms(now_ns)) {
            Ok(lookup) => {
                self.pending.push(Pending {
                    lookup,
                    send: true,
                    ended: None,
                });
                Resolved::Pending
            }
            Err(e) => Resolved::Failed(e),
        }
    }

    /// A datagram from the server; false when it matched no lookup.
    pub fn on_response(&mut self, msg: &[u8], now_ns: u64) -> bool {
        let now = ms(now_ns);
        for p in self.pending.iter_mut().filter(|p| p.ended.is_none()) {
            match p.lookup.on_response(msg, now) {
                Progress::Waiting => {}
                progress => {
                    p.ended = Some(progress);
                    return true;
                }
            }
        }
        false
    }

    /// Retransmit or give up on timeouts, hand each due query to `send`
    /// (true: it went out), and finish the lookups that ended: their
    /// addresses are cached, their failures held. Returns those.
    pub fn poll(&mut self, now_ns: u64, send: &mut dyn FnMut(&[u8]) -> bool) -> Vec<Finished> {
        let now = ms(now_ns);
        for p in self.pending.iter_mut().filter(|p| p.ended.is_none()) {
            match p.lookup.on_timeout(now) {
                Progress::Waiting => {}
                Progress::Send => p.send = true,
                progress => p.ended = Some(progress),
            }
            if p.send && !p.lookup.is_finished() && send(p.lookup.query()) {
                p.send = false;
            }
        }
        let mut done = Vec::new();
        let mut i = 0;
        while i < self.pending.len() {
            match self.pending[i].ended.take() {
                Some(progress) => {
                    let p = self.pending.swap_remove(i);
                    done.extend(self.finish(p.lookup.name(), progress, now_ns));
                }
                None => i += 1,
            }
        }
        done
    }

    fn finish(&mut self, name: &Name, progress: Progress, now_ns: u64) -> Option<Finished> {
        let outcome = match progress {
            Progress::Done(a) => {
                self.cache.insert(name, QType::A, &a, ms(now_ns));
                Ok(a)
            }
            Progress::Failed(e) => Err(e),
            Progress::RetryTcp => Err(StubError::Truncated),
            Progress::Waiting | Progress::Send => return None,
        };
        if let Err(e) = outcome {
            let until = now_ns.saturating_add(FAILURE_HOLD_NS);
            self.failed.push((name.clone(), e, until));
        }
        Some(Finished {
            name: name.clone(),
            outcome,
        })
    }

    /// Lookups in flight.
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Monotonic nanoseconds at which `poll` is next needed.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending
            .iter()
            .filter_map(|p| match p.send || p.ended.is_some() {
                true => Some(0),
                false => p
                    .lookup
                    .next_deadline()
                    .map(|d| d.saturating_mul(1_000_000)),
            })
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    const S: u64 = 1_000_000_000;

    /// A response to `query` with one A record 192.0.2.7 (TTL 60), or with
    /// `rcode` and no answer.
    fn response(query: &[u8], rcode: u8) -> Vec<u8> {
        let mut r = query.to_vec();
        r[2] |= 0x80; // QR
        r[3] = (r[3] & 0xf0) | rcode;
        // Drop the OPT of the query (ARCOUNT 0, cut after the question).
        let qend = crate::wire::HEADER + question_len(&r[crate::wire::HEADER..]);
        r.truncate(qend);
        r[10] = 0;
        r[11] = 0;
        if rcode == 0 {
            r[7] = 1; // ANCOUNT
            r.extend_from_slice(&[0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 7]);
        }
        r
    }

    fn question_len(q: &[u8]) -> usize {
        let mut i = 0;
        while q[i] != 0 {
            i += 1 + q[i] as usize;
        }
        i + 1 + 4
    }

    fn sent_query(r: &mut Resolver, now: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let done = r.poll(now, &mut |q| {
            out = q.to_vec();
            true
        });
        assert!(done.is_empty());
        assert!(!out.is_empty(), "a query is due");
        out
    }

    #[test]
    fn a_literal_is_its_own_answer() {
        let mut r = Resolver::new();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r.resolve("10.0.0.1", 0, &mut || 1), Resolved::Ready(ip));
        assert_eq!(r.in_flight(), 0);
    }

    #[test]
    fn an_answer_is_cached_for_its_ttl() {
        let mut r = Resolver::new();
        assert_eq!(
            r.resolve("git.example", 0, &mut || 0x1234),
            Resolved::Pending
        );
        // Asking again does not start a second lookup.
        assert_eq!(
            r.resolve("git.example", S / 10, &mut || 1),
            Resolved::Pending
        );
        assert_eq!(r.in_flight(), 1);
        assert_eq!(r.next_deadline(), Some(0));
        let q = sent_query(&mut r, 0);
        assert_eq!(u16::from_be_bytes([q[0], q[1]]), 0x1234);
        assert!(r.on_response(&response(&q, 0), S / 2));
        let done = r.poll(S / 2, &mut |_| true);
        assert_eq!(done.len(), 1);
        assert_eq!(done[0].outcome.as_ref().unwrap().ttl, 60);
        let ip = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(r.resolve("git.example", S, &mut || 1), Resolved::Ready(ip));
        // Expired after 60 s: asked again.
        assert_eq!(
            r.resolve("git.example", 61 * S, &mut || 1),
            Resolved::Pending
        );
    }

    #[test]
    fn a_failure_is_held_then_asked_again() {
        let mut r = Resolver::new();
        r.resolve("gone.example", 0, &mut || 7);
        let q = sent_query(&mut r, 0);
        assert!(!r.on_response(b"junk", S / 10), "junk matches nothing");
        assert!(r.on_response(&response(&q, 3), S / 10));
        let done = r.poll(S / 10, &mut |_| true);
        assert_eq!(done[0].outcome, Err(StubError::NxDomain));
        let held = Resolved::Failed(StubError::NxDomain);
        assert_eq!(r.resolve("gone.example", S, &mut || 8), held);
        let after = S / 10 + FAILURE_HOLD_NS;
        assert_eq!(
            r.resolve("gone.example", after, &mut || 8),
            Resolved::Pending
        );
    }

    #[test]
    fn unanswered_queries_are_sent_again_then_given_up() {
        let mut r = Resolver::new();
        r.resolve("slow.example", 0, &mut || 9);
        sent_query(&mut r, 0);
        assert_eq!(r.next_deadline(), Some(S));
        // Not sent (socket full): due again on the next poll.
        assert!(r.poll(S, &mut |_| false).is_empty());
        assert_eq!(r.next_deadline(), Some(0));
        sent_query(&mut r, S + 1);
        sent_query(&mut r, 3 * S + 1);
        let done = r.poll(7 * S + 1, &mut |_| true);
        assert_eq!(done[0].outcome, Err(StubError::Timeout));
        assert_eq!(r.in_flight(), 0);
    }

    #[test]
    fn lookups_in_flight_are_bounded() {
        let mut r = Resolver::new();
        for i in 0..MAX_PENDING + 3 {
            let name = alloc::format!("h{i}.example");
            assert_eq!(r.resolve(&name, 0, &mut || i as u16), Resolved::Pending);
        }
        assert_eq!(r.in_flight(), MAX_PENDING);
        assert_eq!(r.resolve("x.", 0, &mut || 1), Resolved::Pending);
        assert_eq!(
            r.resolve("bad..name", 0, &mut || 1),
            Resolved::Failed(StubError::BadName)
        );
    }
}
