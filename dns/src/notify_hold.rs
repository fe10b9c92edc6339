//! NOTIFYs for zones not served yet, signed with a key not known yet
//! (authority's `Event::Held`): a new zone's own `ZONE._keys` arrives with
//! the zone, so such a NOTIFY is answered only after a fetch (or a reload
//! from the storage device) shows whether its key exists. Sans-I/O: the
//! caller passes monotonic `now` (ns) and fetch numbers in, and sends what
//! comes out.
//!
//! Anybody can send such a NOTIFY, so it must not force fetches at will:
//! a [`Gate`] lets one through per key name per [`PER_KEY_NS`] and one of
//! all per [`ANY_NS`]; a NOTIFY arriving while others wait joins their
//! fetch without asking the gate; at most [`MAX_HELD`] wait, each at most
//! [`HOLD_NS`] (then it is answered with what is known).

use crate::name::Name;
use alloc::vec::Vec;

/// One fetch per key name this often at most.
pub const PER_KEY_NS: u64 = 10_000_000_000;
/// One fetch of all held NOTIFYs together this often at most.
pub const ANY_NS: u64 = 2_000_000_000;
/// Key names remembered by the gate (the oldest is forgotten).
const KEYS: usize = 64;
/// NOTIFYs waiting at most.
pub const MAX_HELD: usize = 16;
/// Longest wait of a NOTIFY (dig retries after 5 s).
pub const HOLD_NS: u64 = 4_000_000_000;

/// The rate limit of fetches forced by unverified NOTIFYs.
#[derive(Clone, Debug, Default)]
pub struct Gate {
    /// Key names with the time they last let a fetch through.
    keys: Vec<(Name, u64)>,
    last: Option<u64>,
}

impl Gate {
    /// May a NOTIFY signed with (unverified) `key` force a fetch at `now`?
    /// Counts it when it may.
    pub fn allow(&mut self, key: &Name, now: u64) -> bool {
        let key = key.to_lowercase();
        if self.last.is_some_and(|t| now < t.saturating_add(ANY_NS)) {
            return false;
        }
        let at = self.keys.iter().position(|(k, _)| *k == key);
        if let Some(i) = at {
            if now < self.keys[i].1.saturating_add(PER_KEY_NS) {
                return false;
            }
            self.keys.remove(i);
        }
        if self.keys.len() >= KEYS {
            self.keys.remove(0);
        }
        self.keys.push((key, now));
        self.last = Some(now);
        true
    }
}

/// A NOTIFY waiting for a fetch, with where its answer goes (`P`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Held<P> {
    pub msg: Vec<u8>,
    pub peer: P,
    /// The fetch whose end answers it (one that started after it came).
    fetch: Option<u64>,
    deadline: u64,
}

/// The waiting NOTIFYs.
#[derive(Clone, Debug)]
pub struct Holds<P> {
    held: Vec<Held<P>>,
}

impl<P> Default for Holds<P> {
    fn default() -> Self {
        Holds { held: Vec::new() }
    }
}

impl<P> Holds<P> {
    /// Keep `msg` from `peer` until a fetch that starts after now ends, or
    /// until `now` + [`HOLD_NS`]. False when full (answer it now).
    pub fn hold(&mut self, msg: Vec<u8>, peer: P, now: u64) -> bool {
        if self.held.len() >= MAX_HELD {
            return false;
        }
        self.held.push(Held {
            msg,
            peer,
            fetch: None,
            deadline: now.saturating_add(HOLD_NS),
        });
        true
    }

    /// Is any NOTIFY waiting (a new one joins their fetch)?
    pub fn waiting(&self) -> bool {
        !self.held.is_empty()
    }

    /// Fetch number `n` starts: it answers every NOTIFY without a fetch.
    pub fn started(&mut self, n: u64) {
        for h in self.held.iter_mut().filter(|h| h.fetch.is_none()) {
            h.fetch = Some(n);
        }
    }

    /// Fetch number `n` ended (fetched, up to date or failed): the
    /// NOTIFYs it answers, to run again now.
    pub fn finished(&mut self, n: u64) -> Vec<Held<P>> {
        self.take(|h| h.fetch.is_some_and(|f| f <= n))
    }

    /// The zones were reloaded at once (no fetch): every NOTIFY.
    pub fn reloaded(&mut self) -> Vec<Held<P>> {
        self.take(|_| true)
    }

    /// The NOTIFYs that waited long enough at `now`.
    pub fn expired(&mut self, now: u64) -> Vec<Held<P>> {
        self.take(|h| now >= h.deadline)
    }

    /// When [`Holds::expired`] next has something.
    pub fn next_deadline(&self) -> Option<u64> {
        self.held.iter().map(|h| h.deadline).min()
    }

    fn take(&mut self, f: impl Fn(&Held<P>) -> bool) -> Vec<Held<P>> {
        let (out, keep) = core::mem::take(&mut self.held).into_iter().partition(f);
        self.held = keep;
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    #[test]
    fn the_gate_limits_per_key_and_overall() {
        let mut g = Gate::default();
        assert!(g.allow(&n("a._update."), 0));
        assert!(!g.allow(&n("b._update."), S), "one of all per 2 s");
        assert!(g.allow(&n("b._update."), 2 * S));
        assert!(!g.allow(&n("A._update."), 5 * S), "per key, any case");
        assert!(g.allow(&n("a._update."), 10 * S));
        // Many names: each once, still one per 2 s; the table stays bounded.
        let mut t = 20 * S;
        for i in 0..200 {
            assert!(g.allow(&n(&alloc::format!("k{i}.")), t));
            assert!(!g.allow(&n(&alloc::format!("j{i}.")), t + S));
            t += 2 * S;
        }
        assert!(g.keys.len() <= KEYS);
    }

    #[test]
    fn a_notify_is_answered_by_a_fetch_that_started_after_it() {
        let mut h: Holds<u8> = Holds::default();
        h.started(1); // a fetch already running
        assert!(h.hold(alloc::vec![1], 1, 0));
        assert!(h.finished(1).is_empty(), "started before the NOTIFY came");
        h.started(2);
        assert!(h.hold(alloc::vec![2], 2, S), "joins");
        h.started(3);
        let done = h.finished(2);
        assert_eq!(done.iter().map(|d| d.peer).collect::<Vec<_>>(), [1]);
        assert_eq!(h.next_deadline(), Some(S + HOLD_NS));
        assert!(h.expired(S + HOLD_NS - 1).is_empty());
        assert_eq!(h.expired(S + HOLD_NS).len(), 1);
        assert!(!h.waiting());
        for i in 0..MAX_HELD {
            assert!(h.hold(alloc::vec![], i as u8, 0));
        }
        assert!(!h.hold(alloc::vec![], 99, 0), "bounded");
        assert_eq!(h.reloaded().len(), MAX_HELD);
    }
}
