//! The guest's CSPRNG: ChaCha20 (RFC 8439 block function) with fast key
//! erasure, keyed from RDSEED (or RDRAND when RDSEED is missing).
//!
//! There is no other entropy source in the guest: when the CPU has neither
//! instruction, [`Rng::from_cpu`] fails and the image refuses to start.

use crate::cpu;

/// Why no generator could be made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RngError {
    /// The CPU has neither RDSEED nor RDRAND.
    NoHardwareEntropy,
    /// The instructions kept failing.
    EntropyExhausted,
}

/// A ChaCha20 generator; the key is replaced after every request.
pub struct Rng {
    key: [u32; 8],
    counter: u64,
}

impl Rng {
    /// Key a generator from the CPU's entropy instructions.
    pub fn from_cpu() -> Result<Rng, RngError> {
        let source: fn() -> Option<u64> = if cpu::has_rdseed() {
            cpu::rdseed64
        } else if cpu::has_rdrand() {
            cpu::rdrand64
        } else {
            return Err(RngError::NoHardwareEntropy);
        };
        let mut key = [0u32; 8];
        for pair in key.chunks_mut(2) {
            let v = source().ok_or(RngError::EntropyExhausted)?;
            pair[0] = v as u32;
            pair[1] = (v >> 32) as u32;
        }
        Ok(Rng { key, counter: 0 })
    }

    /// A generator with a fixed key (tests).
    pub fn from_key(key: [u32; 8]) -> Rng {
        Rng { key, counter: 0 }
    }

    /// Fill `out` with random bytes, then rekey (fast key erasure).
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut first = true;
        let mut rest: &mut [u8] = out;
        loop {
            let block = self.next_block();
            // The first 32 bytes of the first block become the next key.
            let usable = if first {
                first = false;
                let mut next = [0u32; 8];
                for (i, w) in next.iter_mut().enumerate() {
                    *w = u32::from_le_bytes([
                        block[4 * i],
                        block[4 * i + 1],
                        block[4 * i + 2],
                        block[4 * i + 3],
                    ]);
                }
                self.key = next;
                &block[32..]
            } else {
                &block[..]
            };
            let n = usable.len().min(rest.len());
            rest[..n].copy_from_slice(&usable[..n]);
            rest = &mut rest[n..];
            if rest.is_empty() {
                return;
            }
        }
    }

    fn next_block(&mut self) -> [u8; 64] {
        let nonce = [0u32; 3];
        let b = chacha20_block(&self.key, self.counter as u32, &nonce);
        self.counter = self.counter.wrapping_add(1);
        b
    }
}

/// The ChaCha20 block function, RFC 8439 section 2.3.
pub fn chacha20_block(key: &[u32; 8], counter: u32, nonce: &[u32; 3]) -> [u8; 64] {
    let mut s = [0u32; 16];
    s[..4].copy_from_slice(&[0x6170_7865, 0x3320_646e, 0x7962_2d32, 0x6b20_6574]);
    s[4..12].copy_from_slice(key);
    s[12] = counter;
    s[13..16].copy_from_slice(nonce);
    let mut w = s;
    for _ in 0..10 {
        quarter(&mut w, 0, 4, 8, 12);
        quarter(&mut w, 1, 5, 9, 13);
        quarter(&mut w, 2, 6, 10, 14);
        quarter(&mut w, 3, 7, 11, 15);
        quarter(&mut w, 0, 5, 10, 15);
        quarter(&mut w, 1, 6, 11, 12);
        quarter(&mut w, 2, 7, 8, 13);
        quarter(&mut w, 3, 4, 9, 14);
    }
    let mut out = [0u8; 64];
    for i in 0..16 {
        out[4 * i..4 * i + 4].copy_from_slice(&w[i].wrapping_add(s[i]).to_le_bytes());
    }
    out
}

/// The quarter round, RFC 8439 section 2.1.
fn quarter(s: &mut [u32; 16], a: usize, b: usize, c: usize, d: usize) {
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(16);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(12);
    s[a] = s[a].wrapping_add(s[b]);
    s[d] = (s[d] ^ s[a]).rotate_left(8);
    s[c] = s[c].wrapping_add(s[d]);
    s[b] = (s[b] ^ s[c]).rotate_left(7);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8439 section 2.3.2 test vector.
    #[test]
    fn block_function_matches_rfc8439() {
        let mut key = [0u32; 8];
        for (i, k) in key.iter_mut().enumerate() {
            let b = (4 * i) as u8;
            *k = u32::from_le_bytes([b, b + 1, b + 2, b + 3]);
        }
        let nonce = [0x0900_0000, 0x4a00_0000, 0];
        let out = chacha20_block(&key, 1, &nonce);
        assert_eq!(&out[..8], &[0x10, 0xf1, 0xe7, 0xe4, 0xd1, 0x3b, 0x59, 0x15]);
        assert_eq!(
            &out[56..],
            &[
                0xb5, 0x12, 0x9c, 0xd1, 0xde, 0x16, 0x4e, 0xb9, 0xcb, 0xd0, 0x83, 0xe8, 0xa2, 0x50,
                0x3c, 0x4e
            ][8..]
        );
    }

    #[test]
    fn output_changes_and_key_is_erased() {
        let mut r = Rng::from_key([7; 8]);
        let mut a = [0u8; 100];
        let mut b = [0u8; 100];
        r.fill(&mut a);
        assert_ne!(r.key, [7; 8]);
        r.fill(&mut b);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
    }
}
