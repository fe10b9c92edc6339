//! Server cookies (RFC 7873) built the interoperable way of RFC 9018:
//! Version 1, three reserved bytes, a 32-bit timestamp and SipHash-2-4 over
//! client cookie, those 8 bytes and the client address, keyed with a
//! 128-bit server secret. Sans-I/O: the secret comes from the caller's
//! CSPRNG and the time is an argument.

use crate::edns::ClientCookie;
use core::net::IpAddr;

/// Rotate the secret this often (RFC 9018 4.4 leaves it to the operator;
/// a day keeps a cookie learned just before a rotation valid for its hour).
pub const ROTATE_S: u64 = 86_400;
/// A server cookie is good for an hour (RFC 9018 4.3) and may come from up
/// to five minutes in our future (clock steps).
const LIFETIME_S: u32 = 3600;
const FUTURE_S: u32 = 300;

/// The server secret, and the one before it (still accepted after a
/// rotation, RFC 9018 4.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Secrets {
    current: [u8; 16],
    previous: Option<[u8; 16]>,
    /// Wall-clock second of the last rotation.
    since: u64,
}

/// What a query's COOKIE option proves (RFC 7873 5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// A server cookie of ours for this client and address (5.2.5).
    Valid,
    /// A client cookie alone, or with a server cookie that is not ours,
    /// expired or for another address (5.2.3, 5.2.4).
    Unproven,
}

impl Secrets {
    /// Start with a fresh secret from the CSPRNG at wall time `now`.
    pub fn new(secret: [u8; 16], now: u64) -> Secrets {
        Secrets {
            current: secret,
            previous: None,
            since: now,
        }
    }

    /// Is a rotation due at `now`?
    pub fn due(&self, now: u64) -> bool {
        now.saturating_sub(self.since) >= ROTATE_S
    }

    /// Make `fresh` the current secret; the current one stays accepted.
    pub fn rotate(&mut self, fresh: [u8; 16], now: u64) {
        self.previous = Some(core::mem::replace(&mut self.current, fresh));
        self.since = now;
    }

    /// Check the server cookie a client sent, from `ip`, at wall time `now`.
    pub fn verify(&self, c: &ClientCookie, ip: IpAddr, now: u64) -> Verdict {
        let s = c.server();
        // RFC 9018 4.2: only version 1 cookies of 16 bytes are ours.
        if s.len() != 16 || s[0] != 1 {
            return Verdict::Unproven;
        }
        let stamp = u32::from_be_bytes([s[4], s[5], s[6], s[7]]);
        // RFC 9018 4.3: serial number arithmetic (RFC 1982) on the stamp.
        let age = (now as u32).wrapping_sub(stamp);
        if age > LIFETIME_S && age <= u32::MAX - FUTURE_S {
            return Verdict::Unproven;
        }
        let head = [s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]];
        let ok = |k: &[u8; 16]| hash(k, &c.client, &head, ip) == s[8..16];
        if ok(&self.current) || self.previous.as_ref().is_some_and(ok) {
            Verdict::Valid
        } else {
            Verdict::Unproven
        }
    }

    /// The COOKIE option of our response: the client cookie and a fresh
    /// server cookie for `ip` stamped `now` (RFC 9018 4.2, 4.3).
    pub fn reply(&self, client: &[u8; 8], ip: IpAddr, now: u64) -> [u8; 24] {
        let mut out = [0u8; 24];
        out[..8].copy_from_slice(client);
        let mut head = [1u8, 0, 0, 0, 0, 0, 0, 0];
        head[4..].copy_from_slice(&(now as u32).to_be_bytes());
        out[8..16].copy_from_slice(&head);
        out[16..].copy_from_slice(&hash(&self.current, client, &head, ip));
        out
    }
}

/// RFC 9018 4.4: SipHash-2-4 (Client Cookie | Version | Reserved |
/// Timestamp | Client-IP, Server Secret).
fn hash(secret: &[u8; 16], client: &[u8; 8], head: &[u8; 8], ip: IpAddr) -> [u8; 8] {
    let mut h = SipHash24::new(secret);
    h.write(client);
    h.write(head);
    match ip {
        IpAddr::V4(a) => h.write(&a.octets()),
        IpAddr::V6(a) => h.write(&a.octets()),
    }
    h.finish().to_le_bytes()
}

/// SipHash-2-4 (Aumasson and Bernstein), streaming over byte slices.
pub(crate) struct SipHash24 {
    v: [u64; 4],
    tail: [u8; 8],
    ntail: usize,
    len: u64,
}

impl SipHash24 {
    pub(crate) fn new(key: &[u8; 16]) -> Self {
        let k0 = u64::from_le_bytes(key[..8].try_into().unwrap_or_default());
        let k1 = u64::from_le_bytes(key[8..].try_into().unwrap_or_default());
        SipHash24 {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
            tail: [0; 8],
            ntail: 0,
            len: 0,
        }
    }

    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }

    fn block(&mut self, m: u64) {
        self.v[3] ^= m;
        Self::round(&mut self.v);
        Self::round(&mut self.v);
        self.v[0] ^= m;
    }

    pub(crate) fn write(&mut self, data: &[u8]) {
        self.len += data.len() as u64;
        let mut data = data;
        // Fill a pending partial block first, then whole blocks directly.
        if self.ntail > 0 {
            let take = (8 - self.ntail).min(data.len());
            self.tail[self.ntail..self.ntail + take].copy_from_slice(&data[..take]);
            self.ntail += take;
            data = &data[take..];
            if self.ntail < 8 {
                return;
            }
            self.block(u64::from_le_bytes(self.tail));
            self.ntail = 0;
        }
        let mut blocks = data.chunks_exact(8);
        for b in &mut blocks {
            let mut m = [0u8; 8];
            m.copy_from_slice(b);
            self.block(u64::from_le_bytes(m));
        }
        let rest = blocks.remainder();
        self.tail[..rest.len()].copy_from_slice(rest);
        self.ntail = rest.len();
    }

    pub(crate) fn finish(mut self) -> u64 {
        let mut last = [0u8; 8];
        last[..self.ntail].copy_from_slice(&self.tail[..self.ntail]);
        last[7] = self.len as u8;
        self.block(u64::from_le_bytes(last));
        self.v[2] ^= 0xff;
        for _ in 0..4 {
            Self::round(&mut self.v);
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, Ipv6Addr};

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn cc(s: &str) -> ClientCookie {
        let raw: [u8; 24] = hex(s);
        let mut rd = alloc::vec![0, 10, 0, 24];
        rd.extend_from_slice(&raw);
        crate::edns::parse_options(&rd).unwrap().cookie.unwrap()
    }

    #[test]
    fn siphash_reference_vector() {
        // The SipHash paper's Appendix A: key 00..0f, message 00..0e.
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        let mut h = SipHash24::new(&key);
        h.write(&msg[..3]);
        h.write(&msg[3..]);
        assert_eq!(h.finish(), 0xa129ca6149be45e5);
    }

    #[test]
    fn rfc9018_appendix_a() {
        let s = Secrets::new(hex("e5e973e5a6b2a43f48e7dc849e37bfcf"), 0);
        let ip = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100));
        let a1 = s.reply(&hex("2464c4abcf10c957"), ip, 1559731985);
        assert_eq!(
            a1,
            hex::<24>("2464c4abcf10c957010000005cf79f111f8130c3eee29480")
        );
        // A.2: 40 minutes later the cookie still verifies and is renewed.
        assert_eq!(
            s.verify(
                &cc("2464c4abcf10c957010000005cf79f111f8130c3eee29480"),
                ip,
                1559734385
            ),
            Verdict::Valid
        );
        let a2 = s.reply(&hex("2464c4abcf10c957"), ip, 1559734385);
        assert_eq!(
            a2,
            hex::<24>("2464c4abcf10c957010000005cf7a871d4a564a1442aca77")
        );
        let ip3 = IpAddr::V4(Ipv4Addr::new(203, 0, 113, 203));
        let a3 = s.reply(&hex("fc93fc62807ddb86"), ip3, 1559734700);
        assert_eq!(
            a3,
            hex::<24>("fc93fc62807ddb86010000005cf7a9acf73a7810aca2381e")
        );
    }

    #[test]
    fn lifetime_address_and_rotation() {
        let mut s = Secrets::new([9; 16], 1000);
        let ip = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let other = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let mut raw = alloc::vec![0, 10, 0, 24];
        raw.extend_from_slice(&s.reply(&[5; 8], ip, 1000));
        let c = crate::edns::parse_options(&raw).unwrap().cookie.unwrap();
        assert_eq!(s.verify(&c, ip, 1000 + 3600), Verdict::Valid);
        assert_eq!(s.verify(&c, ip, 1000 + 3601), Verdict::Unproven, "expired");
        assert_eq!(s.verify(&c, ip, 1000 - 300), Verdict::Valid, "clock step");
        assert_eq!(
            s.verify(&c, ip, 1000 - 301),
            Verdict::Unproven,
            "far future"
        );
        assert_eq!(
            s.verify(&c, other, 1000),
            Verdict::Unproven,
            "another address"
        );
        assert!(!s.due(1000 + ROTATE_S - 1) && s.due(1000 + ROTATE_S));
        s.rotate([10; 16], 2000);
        assert_eq!(s.verify(&c, ip, 2000), Verdict::Valid, "previous secret");
        s.rotate([11; 16], 3000);
        assert_eq!(
            s.verify(&c, ip, 3000),
            Verdict::Unproven,
            "two rotations ago"
        );
        let mut bad = c;
        bad.client[0] ^= 1;
        assert_eq!(s.verify(&bad, ip, 3000), Verdict::Unproven);
    }
}
