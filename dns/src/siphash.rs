//! SipHash (Aumasson and Bernstein) over 64-bit little-endian words, one
//! shot: SipHash-2-4 for server cookies (RFC 9018 4.4 names it, so other
//! servers of an anycast set compute the same cookie), SipHash-1-3 for the
//! rate limiter's table (keyed so a client cannot aim at another's bucket;
//! its outputs never leave the server, so the lighter variant Rust's
//! standard HashMap also uses is enough there).

/// The state (v0, v1, v2, v3) of SipHash-C-D.
#[derive(Clone, Copy)]
pub(crate) struct Sip<const C: usize, const D: usize> {
    v: [u64; 4],
}

/// The cookies' SipHash-2-4.
pub(crate) type Sip24 = Sip<2, 4>;
/// The rate limiter's SipHash-1-3.
pub(crate) type Sip13 = Sip<1, 3>;

impl<const C: usize, const D: usize> Sip<C, D> {
    /// Keyed with `key`.
    pub(crate) fn new(key: &[u8; 16]) -> Self {
        let (k0, k1) = (le_u64(&key[..8]), le_u64(&key[8..]));
        Sip {
            v: [
                k0 ^ 0x736f_6d65_7073_6575,
                k1 ^ 0x646f_7261_6e64_6f6d,
                k0 ^ 0x6c79_6765_6e65_7261,
                k1 ^ 0x7465_6462_7974_6573,
            ],
        }
    }

    #[inline(always)]
    fn round(&mut self) {
        let v = &mut self.v;
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

    /// Take one whole 8-byte block of the message.
    #[inline(always)]
    pub(crate) fn block(&mut self, m: u64) {
        self.v[3] ^= m;
        for _ in 0..C {
            self.round();
        }
        self.v[0] ^= m;
    }

    /// The hash of a message of `len` bytes whose whole blocks went in
    /// through [`Sip::block`] and whose last `len % 8` bytes are the low
    /// bytes of `tail` (the rest of `tail` zero).
    #[inline(always)]
    pub(crate) fn finish(mut self, tail: u64, len: usize) -> u64 {
        self.block(tail | (len as u64) << 56);
        self.v[2] ^= 0xff;
        for _ in 0..D {
            self.round();
        }
        self.v[0] ^ self.v[1] ^ self.v[2] ^ self.v[3]
    }

    /// The hash of `data` (the byte-string form the word-at-a-time
    /// callers are checked against).
    #[cfg(test)]
    pub(crate) fn hash(mut self, data: &[u8]) -> u64 {
        let mut blocks = data.chunks_exact(8);
        for b in &mut blocks {
            self.block(le_u64(b));
        }
        let rest = blocks.remainder();
        let mut tail = [0u8; 8];
        tail[..rest.len()].copy_from_slice(rest);
        self.finish(u64::from_le_bytes(tail), data.len())
    }
}

/// The first 8 bytes of `b` (at least 8 long) as a little-endian word.
#[inline(always)]
pub(crate) fn le_u64(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[..8]);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 16] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

    #[test]
    fn siphash24_reference_vectors() {
        // The SipHash paper, appendix A: key 00..0f, message 00..0e.
        let msg: [u8; 15] = core::array::from_fn(|i| i as u8);
        assert_eq!(Sip24::new(&KEY).hash(&msg), 0xa129ca6149be45e5);
        // The reference implementation's vectors.h: empty message, and
        // 8 and 16 bytes (whole blocks, length-only last block).
        assert_eq!(Sip24::new(&KEY).hash(&[]), 0x726fdb47dd0e0e31);
        let m8: [u8; 8] = core::array::from_fn(|i| i as u8);
        assert_eq!(Sip24::new(&KEY).hash(&m8), 0x93f5f5799a932462);
    }

    #[test]
    fn siphash13_differs_and_is_stable() {
        let msg = b"\x03www\x07example\x03org\x00";
        let (a, b) = (Sip13::new(&KEY).hash(msg), Sip24::new(&KEY).hash(msg));
        assert_ne!(a, b);
        assert_eq!(a, Sip13::new(&KEY).hash(msg));
        assert_ne!(a, Sip13::new(&[1; 16]).hash(msg));
    }
}
