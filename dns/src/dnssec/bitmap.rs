//! The Type Bit Maps field of NSEC and NSEC3 (RFC 4034 4.1.2, RFC 5155
//! 3.2.1): one window per used high byte, each as long as its highest
//! type needs.

use alloc::vec::Vec;

/// The bitmap of `types` (any order, duplicates allowed).
pub fn encode(types: impl IntoIterator<Item = u16>) -> Vec<u8> {
    let mut t: Vec<u16> = types.into_iter().collect();
    t.sort_unstable();
    t.dedup();
    let mut out = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let window = (t[i] >> 8) as u8;
        let mut bits = [0u8; 32];
        let mut len = 0;
        while i < t.len() && (t[i] >> 8) as u8 == window {
            let low = (t[i] & 0xff) as usize;
            bits[low / 8] |= 0x80 >> (low % 8);
            len = low / 8 + 1;
            i += 1;
        }
        out.extend_from_slice(&[window, len as u8]);
        out.extend_from_slice(&bits[..len]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtype::{A, CAA, MX, NSEC, RRSIG};

    /// RFC 4034 4.3's example: A MX RRSIG NSEC TYPE1234.
    #[test]
    fn rfc4034_example() {
        let b = encode([NSEC, A, 1234, MX, RRSIG, A]);
        let mut want = alloc::vec![0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03, 0x04, 0x1b];
        want.extend([0; 26]);
        want.push(0x20);
        assert_eq!(b, want);
        assert_eq!(encode([CAA]), [1, 1, 0x40]);
        assert!(encode([]).is_empty());
    }
}
