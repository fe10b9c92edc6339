//! Which on-link IPv4 neighbours are known to answer ARP, and the few
//! datagrams held for one that is being asked, sans-I/O (`now` in
//! nanoseconds passed in).
//!
//! Why: smoltcp's UDP socket keeps its head datagram while the neighbour
//! is unresolved and sends nothing behind it, so one datagram to a dead
//! on-link address would silence the whole socket. A datagram for a
//! neighbour not known here is therefore held outside the socket while
//! an ARP request goes out, released when the neighbour answers, dropped
//! when it does not (RFC 1122 2.3.2.2: queue at least one datagram per
//! unresolved address, and RFC 4861 7.2.2's bounded queue and give-up time,
//! the same shape as Linux's neighbour states).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use smoltcp::wire::Ipv4Address;

/// How long an ARP answer is trusted: below smoltcp's own cache lifetime
/// (60 s from the same ARP packet), so a neighbour taken as known here is
/// still in smoltcp's cache and a datagram to it goes out at once.
pub const REACHABLE_NS: u64 = 50_000_000_000;
/// How long a neighbour may take to answer before its datagrams are dropped.
pub const GIVE_UP_NS: u64 = 1_000_000_000;
/// When the ARP request is repeated while waiting.
pub const RETRY_NS: u64 = 400_000_000;
/// Datagrams held per unresolved neighbour (the oldest goes first).
pub const QUEUE: usize = 3;
/// Neighbours tracked at once (the least recently used goes first).
pub const TABLE: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Answered ARP at this time.
    Reachable { at: u64 },
    /// Asked since `since`; the last request went out at `asked` (None:
    /// the first one is still to send).
    Incomplete { since: u64, asked: Option<u64> },
}

struct Entry<T> {
    addr: Ipv4Address,
    state: State,
    held: VecDeque<T>,
    used: u64,
}

/// The neighbour table; `T` is a held datagram.
pub struct Neighbours<T> {
    entries: Vec<Entry<T>>,
    /// Datagrams dropped: queue overflow, no answer in time, evicted.
    pub dropped: u64,
    /// Neighbours that did not answer in time.
    pub failed: u64,
}

impl<T> Default for Neighbours<T> {
    fn default() -> Self {
        Neighbours {
            entries: Vec::new(),
            dropped: 0,
            failed: 0,
        }
    }
}

impl<T> Neighbours<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// A datagram for next hop `addr`: given back when the neighbour is
    /// known (send it now), else held until it answers or gives up.
    pub fn route(&mut self, addr: Ipv4Address, now: u64, item: T) -> Option<T> {
        let i = match self.find(addr) {
            Some(i) => i,
            None => self.insert(addr, now),
        };
        let e = &mut self.entries[i];
        e.used = now;
        match e.state {
            State::Reachable { at } if now.saturating_sub(at) < REACHABLE_NS => return Some(item),
            State::Reachable { .. } => {
                e.state = State::Incomplete {
                    since: now,
                    asked: None,
                }
            }
            State::Incomplete { .. } => {}
        }
        if e.held.len() == QUEUE {
            e.held.pop_front();
            self.dropped += 1;
        }
        e.held.push_back(item);
        None
    }

    /// `addr` answered ARP (a reply, or a request of its own aimed at us):
    /// it is known from `now`; returns what was held for it, oldest first.
    pub fn confirmed(&mut self, addr: Ipv4Address, now: u64) -> VecDeque<T> {
        let i = match self.find(addr) {
            Some(i) => i,
            None => self.insert(addr, now),
        };
        let e = &mut self.entries[i];
        e.state = State::Reachable { at: now };
        core::mem::take(&mut e.held)
    }

    /// Time passes: `ask` is called for every neighbour an ARP request is
    /// due for; neighbours silent for [`GIVE_UP_NS`] lose their datagrams.
    /// Returns how many datagrams were dropped by this call.
    pub fn poll(&mut self, now: u64, mut ask: impl FnMut(Ipv4Address)) -> u64 {
        let (mut dropped, mut failed) = (0, 0);
        self.entries.retain_mut(|e| {
            let State::Incomplete { since, asked } = e.state else {
                return true;
            };
            if now.saturating_sub(since) >= GIVE_UP_NS {
                dropped += e.held.len() as u64;
                failed += 1;
                return false;
            }
            if asked.is_none_or(|t| now.saturating_sub(t) >= RETRY_NS) {
                ask(e.addr);
                e.state = State::Incomplete {
                    since,
                    asked: Some(now),
                };
            }
            true
        });
        self.failed += failed;
        self.dropped += dropped;
        dropped
    }

    /// When [`Neighbours::poll`] next has something to do.
    pub fn poll_at(&self) -> Option<u64> {
        self.entries
            .iter()
            .filter_map(|e| match e.state {
                State::Incomplete { since, asked: None } => Some(since),
                State::Incomplete {
                    since,
                    asked: Some(t),
                } => Some((t + RETRY_NS).min(since + GIVE_UP_NS)),
                State::Reachable { .. } => None,
            })
            .min()
    }

    /// Whether `addr` is known to answer at `now`.
    pub fn is_reachable(&self, addr: Ipv4Address, now: u64) -> bool {
        self.find(addr).is_some_and(|i| {
            matches!(self.entries[i].state,
                State::Reachable { at } if now.saturating_sub(at) < REACHABLE_NS)
        })
    }

    /// Datagrams held now.
    pub fn held(&self) -> usize {
        self.entries.iter().map(|e| e.held.len()).sum()
    }

    fn find(&self, addr: Ipv4Address) -> Option<usize> {
        self.entries.iter().position(|e| e.addr == addr)
    }

    /// A new entry (evicting the least recently used when full).
    fn insert(&mut self, addr: Ipv4Address, now: u64) -> usize {
        if self.entries.len() == TABLE {
            let (i, _) = self
                .entries
                .iter()
                .enumerate()
                .min_by_key(|(_, e)| e.used)
                .expect("a full table has entries");
            let e = self.entries.swap_remove(i);
            self.dropped += e.held.len() as u64;
        }
        self.entries.push(Entry {
            addr,
            state: State::Incomplete {
                since: now,
                asked: None,
            },
            held: VecDeque::new(),
            used: now,
        });
        self.entries.len() - 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;
    const A: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
    const DEAD: Ipv4Address = Ipv4Address::new(10, 0, 0, 77);

    fn asked(t: &mut Neighbours<u32>, now: u64) -> Vec<Ipv4Address> {
        let mut v = Vec::new();
        t.poll(now, |a| v.push(a));
        v
    }

    #[test]
    fn an_unknown_neighbour_is_asked_and_its_datagrams_released_on_answer() {
        let mut t = Neighbours::new();
        assert_eq!(t.route(A, 0, 1), None);
        assert_eq!(t.route(A, MS, 2), None);
        assert_eq!(asked(&mut t, MS), [A]);
        assert!(asked(&mut t, 2 * MS).is_empty());
        assert_eq!(Vec::from(t.confirmed(A, 3 * MS)), [1, 2]);
        assert_eq!(t.route(A, 4 * MS, 3), Some(3));
        assert_eq!(t.held(), 0);
        assert_eq!(t.poll_at(), None);
    }

    #[test]
    fn a_dead_neighbour_holds_at_most_three_and_gives_up_after_a_second() {
        let mut t = Neighbours::new();
        for i in 0..5 {
            assert_eq!(t.route(DEAD, 0, i), None);
        }
        assert_eq!(t.dropped, 2);
        assert_eq!(asked(&mut t, 0), [DEAD]);
        assert_eq!(t.poll_at(), Some(RETRY_NS));
        assert_eq!(asked(&mut t, RETRY_NS), [DEAD]);
        assert_eq!(t.poll(GIVE_UP_NS - 1, |_| {}), 0);
        assert_eq!(t.poll(GIVE_UP_NS, |_| {}), 3);
        assert_eq!((t.dropped, t.failed, t.held()), (5, 1, 0));
        // A later datagram asks again.
        assert_eq!(t.route(DEAD, 2 * GIVE_UP_NS, 9), None);
        assert_eq!(asked(&mut t, 2 * GIVE_UP_NS), [DEAD]);
    }

    #[test]
    fn a_dead_neighbour_does_not_hold_back_a_live_one() {
        let mut t = Neighbours::new();
        assert_eq!(t.route(DEAD, 0, 1), None);
        t.confirmed(A, 0);
        assert_eq!(t.route(A, MS, 2), Some(2));
        assert!(t.is_reachable(A, MS) && !t.is_reachable(DEAD, MS));
    }

    #[test]
    fn an_old_answer_is_asked_again() {
        let mut t = Neighbours::new();
        t.confirmed(A, 0);
        assert_eq!(t.route(A, REACHABLE_NS - 1, 1), Some(1));
        assert_eq!(t.route(A, REACHABLE_NS, 2), None);
        assert_eq!(asked(&mut t, REACHABLE_NS), [A]);
        assert_eq!(Vec::from(t.confirmed(A, REACHABLE_NS + MS)), [2]);
    }

    #[test]
    fn a_full_table_evicts_the_least_recently_used() {
        let mut t = Neighbours::new();
        for i in 0..TABLE as u8 {
            t.route(Ipv4Address::new(10, 0, 1, i), u64::from(i), 0u32);
        }
        t.route(DEAD, 1000, 0);
        assert_eq!((t.held(), t.dropped), (TABLE, 1));
        assert!(t.find(Ipv4Address::new(10, 0, 1, 0)).is_none());
    }
}
