//! Server cookies (RFC 7873) built the interoperable way of RFC 9018:
//! Version 1, three reserved bytes, a 32-bit timestamp and SipHash-2-4 over
//! client cookie, those 8 bytes and the client address, keyed with a
//! 128-bit server secret. Sans-I/O: the secret comes from the caller's
//! CSPRNG and the time is an argument.

use crate::edns::ClientCookie;
use crate::siphash::{le_u64, Sip24};
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
/// Timestamp | Client-IP, Server Secret), the message taken as words.
fn hash(secret: &[u8; 16], client: &[u8; 8], head: &[u8; 8], ip: IpAddr) -> [u8; 8] {
    let mut h = Sip24::new(secret);
    h.block(u64::from_le_bytes(*client));
    h.block(u64::from_le_bytes(*head));
    let out = match ip {
        IpAddr::V4(a) => h.finish(u32::from_le_bytes(a.octets()) as u64, 20),
        IpAddr::V6(a) => {
            let o = a.octets();
            h.block(le_u64(&o[..8]));
            h.block(le_u64(&o[8..]));
            h.finish(0, 32)
        }
    };
    out.to_le_bytes()
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
    fn word_hash_is_siphash_of_the_bytes() {
        // The word-at-a-time hash equals SipHash-2-4 over the RFC 9018 4.4
        // byte string, for both address families.
        let (secret, client, head) = ([3u8; 16], [5u8; 8], [1u8, 0, 0, 0, 9, 8, 7, 6]);
        for ip in [
            IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100)),
            IpAddr::V6(Ipv6Addr::new(
                0x2001, 0xdb8, 0x220, 1, 0x59de, 0xd0f4, 0x8769, 0x82b8,
            )),
        ] {
            let mut msg = alloc::vec::Vec::from(client);
            msg.extend_from_slice(&head);
            match ip {
                IpAddr::V4(a) => msg.extend_from_slice(&a.octets()),
                IpAddr::V6(a) => msg.extend_from_slice(&a.octets()),
            }
            let whole = Sip24::new(&secret).hash(&msg).to_le_bytes();
            assert_eq!(hash(&secret, &client, &head, ip), whole, "{ip}");
        }
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
