//! Response rate limiting, in the manner of NSD's and Knot's RRL: UDP
//! responses are counted per (client network, response class, name) in a
//! token bucket refilled at `rate` per second; over the rate, every
//! `slip`-th response goes out truncated (TC: a real client retries over
//! TCP) and the rest are dropped, so a spoofed source cannot be flooded
//! through us. Fixed-size table, no allocation after creation; time is an
//! argument (monotonic milliseconds).

use crate::siphash::{le_u64, Sip13};
use alloc::vec;
use alloc::vec::Vec;
use core::net::IpAddr;

/// Default responses per second per bucket (NSD's default `rrl-ratelimit`;
/// see docs/design.md 2026-12-07 for the choice).
pub const DEFAULT_RATE: u32 = 200;
/// Default slip: every second limited response is a TC answer (Knot).
pub const DEFAULT_SLIP: u32 = 2;
/// Buckets in the table (each 24 bytes).
pub const DEFAULT_SLOTS: usize = 16_384;

/// What kind of response is being limited (Knot's and NSD's classes, so a
/// flood of NXDOMAINs does not use up the budget of real answers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Class {
    /// NOERROR with answers.
    Normal = 0,
    /// NOERROR without answers (NODATA).
    Empty = 1,
    /// NXDOMAIN: counted per zone-ish name (the last two labels), so
    /// random names under one zone share a bucket.
    NxDomain = 2,
    /// A referral (no AA, authority records).
    Referral = 3,
    /// Any other RCODE.
    Error = 4,
}

impl Class {
    /// The class of a response message (header only).
    pub fn of(resp: &[u8]) -> Class {
        let b = |i: usize| resp.get(i).copied().unwrap_or(0);
        let (aa, rcode) = (b(2) & 0x04 != 0, b(3) & 0x0f);
        let (an, ns) = (
            b(6) as u16 * 256 + b(7) as u16,
            b(8) as u16 * 256 + b(9) as u16,
        );
        match rcode {
            0 if an > 0 => Class::Normal,
            0 if !aa && ns > 0 => Class::Referral,
            0 => Class::Empty,
            3 => Class::NxDomain,
            _ => Class::Error,
        }
    }
}

/// The verdict for one response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Send,
    /// Over the rate: send a truncated answer instead (TC, or BADCOOKIE
    /// to a client that has a cookie).
    Slip,
    Drop,
}

/// Settings (`--rrl-rate`, `--rrl-slip`, `--rrl-exempt`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Responses per second per bucket; 0 turns RRL off.
    pub rate: u32,
    /// Every `slip`-th limited response is slipped; 0 never, 1 always.
    pub slip: u32,
    /// Networks never limited: (address, prefix length).
    pub exempt: Vec<(IpAddr, u8)>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            rate: DEFAULT_RATE,
            slip: DEFAULT_SLIP,
            exempt: Vec::new(),
        }
    }
}

/// Counters for /metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub limited: u64,
    pub slipped: u64,
    pub dropped: u64,
    pub exempt: u64,
}

#[derive(Clone, Copy, Default)]
struct Slot {
    key: u64,
    /// Milli-tokens left.
    tokens: u64,
    last_ms: u64,
}

/// The limiter.
pub struct Rrl {
    cfg: Config,
    slots: Vec<Slot>,
    /// Keyed hash of the buckets: a client cannot aim at another's bucket.
    seed: [u8; 16],
    /// Limited responses since the last slip (for the every-Nth count).
    since_slip: u32,
    pub counters: Counters,
}

impl Rrl {
    /// A limiter with `slots` buckets (a power of two is not required);
    /// `seed` comes from the CSPRNG.
    pub fn new(cfg: Config, slots: usize, seed: [u8; 16]) -> Rrl {
        Rrl {
            cfg,
            slots: vec![Slot::default(); slots.max(2)],
            seed,
            since_slip: 0,
            counters: Counters::default(),
        }
    }

    pub fn enabled(&self) -> bool {
        self.cfg.rate > 0
    }

    /// Is `ip` in a configured exempt network?
    pub fn is_exempt(&self, ip: IpAddr) -> bool {
        self.cfg
            .exempt
            .iter()
            .any(|&(net, len)| in_prefix(ip, net, len))
    }

    /// Decide for one response to `ip` of class `class` about `name` (the
    /// question name in wire form, any case) at monotonic `now_ms`.
    pub fn check(&mut self, ip: IpAddr, class: Class, name: &[u8], now_ms: u64) -> Action {
        if !self.enabled() {
            return Action::Send;
        }
        if self.is_exempt(ip) {
            self.counters.exempt += 1;
            return Action::Send;
        }
        let key = self.key(ip, class, name);
        if self.take(key, now_ms) {
            return Action::Send;
        }
        self.counters.limited += 1;
        self.since_slip += 1;
        if self.cfg.slip > 0 && self.since_slip >= self.cfg.slip {
            self.since_slip = 0;
            self.counters.slipped += 1;
            Action::Slip
        } else {
            self.counters.dropped += 1;
            Action::Drop
        }
    }

    /// Take a token from the bucket of `key`; false when it is empty.
    /// Two candidate slots; a key not in either replaces the staler one.
    fn take(&mut self, key: u64, now_ms: u64) -> bool {
        let n = self.slots.len();
        let (a, b) = ((key as usize) % n, ((key >> 32) as usize ^ 1) % n);
        let cap = self.cfg.rate as u64 * 1000;
        let i = if self.slots[a].key == key {
            a
        } else if self.slots[b].key == key {
            b
        } else {
            let i = if self.slots[a].last_ms <= self.slots[b].last_ms {
                a
            } else {
                b
            };
            self.slots[i] = Slot {
                key,
                tokens: cap,
                last_ms: now_ms,
            };
            i
        };
        let s = &mut self.slots[i];
        // Refill `rate` tokens a second, at most one second's worth.
        let elapsed = now_ms.saturating_sub(s.last_ms);
        s.tokens = (s.tokens + elapsed * self.cfg.rate as u64).min(cap);
        s.last_ms = s.last_ms.max(now_ms);
        if s.tokens >= 1000 {
            s.tokens -= 1000;
            true
        } else {
            false
        }
    }

    /// The bucket: /24 of IPv4, /56 of IPv6 (NSD's and Knot's defaults),
    /// the class, and the name (its last two labels for NXDOMAIN) in
    /// lower case, hashed a word at a time.
    fn key(&self, ip: IpAddr, class: Class, name: &[u8]) -> u64 {
        let net = match ip {
            IpAddr::V4(a) => {
                let o = a.octets();
                u64::from_le_bytes([o[0], o[1], o[2], 0, 0, 0, 0, class as u8])
            }
            IpAddr::V6(a) => {
                let o = a.octets();
                u64::from_le_bytes([o[0], o[1], o[2], o[3], o[4], o[5], o[6], class as u8])
            }
        };
        let name = if class == Class::NxDomain {
            last_labels(name, 2)
        } else {
            name
        };
        let mut h = Sip13::new(&self.seed);
        h.block(net);
        let mut words = name.chunks_exact(8);
        for w in &mut words {
            h.block(ascii_lower(le_u64(w)));
        }
        let rest = words.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        h.finish(ascii_lower(u64::from_le_bytes(tail)), 8 + name.len())
            .max(1)
    }
}

/// Each byte of `w` that is an ASCII capital letter made lower case, all
/// eight at once (label lengths, at most 63, are never letters).
fn ascii_lower(w: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Per byte (the top bit set aside): >= 'A', and > 'Z'.
    let low7 = w & !HIGH;
    let ge_a = low7 + ONES * (0x80 - b'A' as u64);
    let gt_z = low7 + ONES * (0x80 - b'Z' as u64 - 1);
    let upper = ge_a & !gt_z & !w & HIGH;
    w | upper >> 2
}

/// The last `n` (1 or 2) labels of an uncompressed wire name.
fn last_labels(name: &[u8], n: usize) -> &[u8] {
    // Starts of the last labels seen, the newest first.
    let mut starts = [0usize; 2];
    let mut at = 0;
    while at < name.len() && name[at] != 0 {
        starts = [at, starts[0]];
        at += 1 + name[at] as usize;
    }
    let from = if n >= 2 && starts[1] < starts[0] {
        starts[1]
    } else {
        starts[0]
    };
    &name[from.min(name.len())..]
}

fn in_prefix(ip: IpAddr, net: IpAddr, len: u8) -> bool {
    let (a, b, max) = match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
        (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
        _ => return false,
    };
    let len = (len as u32).min(max);
    len == 0 || (a ^ b) >> (max - len) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::Ipv4Addr;

    const NAME: &[u8] = b"\x03www\x07example\x03org\x00";

    fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(a, b, c, d))
    }

    fn rrl(rate: u32, slip: u32) -> Rrl {
        let cfg = Config {
            rate,
            slip,
            exempt: alloc::vec![(v4(192, 0, 2, 0), 24)],
        };
        Rrl::new(cfg, 64, [7; 16])
    }

    #[test]
    fn lower_case_a_word_at_a_time() {
        let all: [u8; 256] = core::array::from_fn(|i| i as u8);
        for w in all.chunks_exact(8) {
            let got = ascii_lower(le_u64(w)).to_le_bytes();
            let want: alloc::vec::Vec<u8> = w.iter().map(u8::to_ascii_lowercase).collect();
            assert_eq!(got[..], want[..], "{w:?}");
        }
    }

    #[test]
    fn last_two_labels() {
        assert_eq!(last_labels(NAME, 2), b"\x07example\x03org\x00");
        assert_eq!(last_labels(NAME, 1), b"\x03org\x00");
        assert_eq!(last_labels(b"\x03org\x00", 2), b"\x03org\x00");
        assert_eq!(last_labels(b"\x00", 2), b"\x00");
        // A length running past the end ends the walk.
        assert_eq!(last_labels(b"\x01a\x3fb", 2), b"\x01a\x3fb");
    }

    #[test]
    fn burst_then_slip_and_drop_then_refill() {
        let mut r = rrl(5, 2);
        let ip = v4(198, 51, 100, 1);
        for _ in 0..5 {
            assert_eq!(r.check(ip, Class::Normal, NAME, 1000), Action::Send);
        }
        let over: Vec<Action> = (0..4)
            .map(|_| r.check(ip, Class::Normal, NAME, 1000))
            .collect();
        assert_eq!(
            over,
            [Action::Drop, Action::Slip, Action::Drop, Action::Slip]
        );
        assert_eq!(
            r.counters,
            Counters {
                limited: 4,
                slipped: 2,
                dropped: 2,
                exempt: 0
            }
        );
        // The same /24 shares the bucket; 200 ms refill one token.
        assert_eq!(
            r.check(v4(198, 51, 100, 77), Class::Normal, NAME, 1100),
            Action::Drop
        );
        assert_eq!(r.check(ip, Class::Normal, NAME, 1300), Action::Send);
        // A second later the bucket is full again, but no fuller.
        for _ in 0..5 {
            assert_eq!(r.check(ip, Class::Normal, NAME, 9000), Action::Send);
        }
        assert_ne!(r.check(ip, Class::Normal, NAME, 9000), Action::Send);
    }

    #[test]
    fn buckets_by_network_class_and_name() {
        let mut r = rrl(1, 0);
        let ip = v4(198, 51, 100, 1);
        assert_eq!(r.check(ip, Class::Normal, NAME, 0), Action::Send);
        assert_eq!(
            r.check(ip, Class::Normal, b"\x03WWW\x07EXAMPLE\x03org\x00", 0),
            Action::Drop,
            "case-blind"
        );
        assert_eq!(
            r.check(ip, Class::Empty, NAME, 0),
            Action::Send,
            "another class"
        );
        assert_eq!(
            r.check(v4(198, 51, 101, 1), Class::Normal, NAME, 0),
            Action::Send,
            "another /24"
        );
        assert_eq!(
            r.check(ip, Class::NxDomain, b"\x01a\x07example\x03org\x00", 0),
            Action::Send
        );
        assert_eq!(
            r.check(ip, Class::NxDomain, b"\x01b\x07example\x03org\x00", 0),
            Action::Drop,
            "NXDOMAIN per zone"
        );
        let v6 = |last: u8| {
            IpAddr::V6(core::net::Ipv6Addr::new(
                0x2001,
                0xdb8,
                0,
                0x12,
                0,
                0,
                0,
                last as u16,
            ))
        };
        assert_eq!(r.check(v6(1), Class::Normal, NAME, 0), Action::Send);
        assert_eq!(
            r.check(v6(2), Class::Normal, NAME, 0),
            Action::Drop,
            "same /56"
        );
    }

    #[test]
    fn exempt_networks_and_off() {
        let mut r = rrl(1, 2);
        for _ in 0..10 {
            assert_eq!(
                r.check(v4(192, 0, 2, 9), Class::Normal, NAME, 0),
                Action::Send
            );
        }
        assert_eq!(r.counters.exempt, 10);
        let mut off = rrl(0, 2);
        for _ in 0..10 {
            assert_eq!(
                off.check(v4(10, 0, 0, 1), Class::Normal, NAME, 0),
                Action::Send
            );
        }
        assert!(in_prefix(v4(10, 1, 2, 3), v4(10, 0, 0, 0), 8));
        assert!(!in_prefix(v4(11, 1, 2, 3), v4(10, 0, 0, 0), 8));
        assert!(in_prefix(v4(11, 1, 2, 3), v4(10, 0, 0, 0), 0));
        assert_eq!(last_labels(NAME, 2), b"\x07example\x03org\x00");
        assert_eq!(last_labels(b"\x00", 2), b"\x00");
    }

    #[test]
    fn table_stays_bounded_under_many_sources() {
        let mut r = rrl(1, 2);
        for i in 0..100_000u32 {
            let b = i.to_be_bytes();
            r.check(v4(b[1], b[2], b[3], 1), Class::Normal, NAME, i as u64);
        }
        assert_eq!(r.slots.len(), 64);
    }
}
