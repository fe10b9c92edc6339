//! Canonical forms for signing (RFC 4034 6): RDATA with its embedded
//! names lowercased (6.2, less NSEC's next name: RFC 6840 5.1), an RRset's
//! RRs in canonical order without duplicates (6.3), and the data an RRSIG
//! signs (3.1.8.1).

use super::key::Key;
use crate::name::Name;
use crate::rtype::{CNAME, DNAME, MX, NAPTR, NS, PTR, RRSIG, SOA, SRV};
use alloc::vec::Vec;

/// The length of the uncompressed name at the start of `b`, if any.
fn name_len(b: &[u8]) -> Option<usize> {
    let mut i = 0;
    loop {
        let l = *b.get(i)? as usize;
        i += 1 + l;
        if l == 0 {
            return (i <= b.len()).then_some(i);
        }
    }
}

/// Lowercase the name starting at `at` in `rd`; the offset after it.
fn lower_name(rd: &mut [u8], at: usize) -> Option<usize> {
    let end = at + name_len(rd.get(at..)?)?;
    let mut i = at;
    while rd[i] != 0 {
        let l = rd[i] as usize;
        rd[i + 1..i + 1 + l].make_ascii_lowercase();
        i += 1 + l;
    }
    Some(end)
}

/// Skip `n` character-strings from `at` (NAPTR's flags, services,
/// regexp).
fn skip_strings(rd: &[u8], mut at: usize, n: usize) -> Option<usize> {
    for _ in 0..n {
        at += 1 + *rd.get(at)? as usize;
    }
    Some(at)
}

/// RFC 4034 6.2 item 3 as RFC 6840 5.1 leaves it, for the types gitns
/// knows: the names inside NS, CNAME, PTR, DNAME, SOA, MX, SRV, NAPTR and
/// RRSIG RDATA in lowercase. Other types are unchanged.
pub fn rdata(rtype: u16, rd: &[u8]) -> Vec<u8> {
    let mut v = rd.to_vec();
    let _ = match rtype {
        NS | CNAME | PTR | DNAME => lower_name(&mut v, 0),
        SOA => lower_name(&mut v, 0).and_then(|e| lower_name(&mut v, e)),
        MX => lower_name(&mut v, 2),
        SRV => lower_name(&mut v, 6),
        NAPTR => skip_strings(&v, 4, 3).and_then(|at| lower_name(&mut v, at)),
        RRSIG => lower_name(&mut v, 18),
        _ => None,
    };
    v
}

/// The RRs of an RRset in canonical order (RFC 4034 6.3): canonical
/// RDATA sorted as left-justified unsigned octet strings, duplicates
/// removed (RFC 2181 5).
pub fn order(rtype: u16, rdatas: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = rdatas.iter().map(|r| rdata(rtype, r)).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// The validity window of a signature (RFC 4034 3.1.5: 32-bit serial
/// numbers of seconds, RFC 1982).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub inception: u64,
    pub expiration: u64,
}

/// An RRset to sign: owner, type, TTL (the original TTL), RDATAs.
pub struct RRset<'a> {
    pub owner: &'a Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: &'a [Vec<u8>],
}

/// The RRSIG RDATA of `set` by `key` over `origin` (the signer's name)
/// for `w`: RFC 4034 3.1 fields, then the signature over 3.1.8.1's
/// `RRSIG_RDATA | RR(1) | RR(2)...` with owners and RDATA canonical.
pub fn rrsig(set: &RRset<'_>, key: &Key, origin: &Name, w: Window) -> Vec<u8> {
    let owner = set.owner.to_lowercase();
    // RFC 4034 3.1.3: the labels of the owner, a leading `*` not counted.
    let wild = owner.wire().get(..2) == Some(&[1, b'*'][..]);
    let labels = owner.label_count() - usize::from(wild);
    let mut rd = Vec::with_capacity(128);
    rd.extend_from_slice(&set.rtype.to_be_bytes());
    rd.extend_from_slice(&[key.algorithm.number(), labels as u8]);
    rd.extend_from_slice(&set.ttl.to_be_bytes());
    rd.extend_from_slice(&(w.expiration as u32).to_be_bytes());
    rd.extend_from_slice(&(w.inception as u32).to_be_bytes());
    rd.extend_from_slice(&key.tag().to_be_bytes());
    rd.extend_from_slice(origin.to_lowercase().wire());
    let mut data = rd.clone();
    for r in order(set.rtype, set.rdatas) {
        data.extend_from_slice(owner.wire());
        data.extend_from_slice(&set.rtype.to_be_bytes());
        data.extend_from_slice(&crate::rtype::IN.to_be_bytes());
        data.extend_from_slice(&set.ttl.to_be_bytes());
        data.extend_from_slice(&(r.len() as u16).to_be_bytes());
        data.extend_from_slice(&r);
    }
    rd.extend_from_slice(&key.sign(&data));
    rd
}

/// The expiration of RRSIG RDATA `rd` as seconds since the epoch, read
/// as the first such time after `now - 2^31` (RFC 4034 3.1.5).
pub fn expiration(rd: &[u8], now: u64) -> u64 {
    let e = rd
        .get(8..12)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        .unwrap_or(0);
    let delta = e.wrapping_sub(now as u32) as i32;
    now.saturating_add_signed(delta as i64)
}

#[cfg(test)]
mod tests {
    use super::super::key::{Algorithm, Role};
    use super::*;

    fn n(s: &str) -> Name {
        Name::parse(s, &Name::root()).unwrap()
    }

    #[test]
    fn names_in_rdata_are_lowercased_others_not() {
        let mut mx = alloc::vec![0, 10];
        mx.extend_from_slice(n("Mail.Example.").wire());
        assert_eq!(&rdata(MX, &mx)[2..], n("mail.example.").wire());
        let txt = b"\x03ABC".to_vec();
        assert_eq!(rdata(crate::rtype::TXT, &txt), txt);
        let mut naptr = alloc::vec![0, 1, 0, 2, 1, b'U', 0, 0];
        naptr.extend_from_slice(n("X.Y.").wire());
        assert_eq!(&rdata(NAPTR, &naptr)[8..], n("x.y.").wire());
        // Truncated RDATA is left as it is, not a panic.
        assert_eq!(rdata(SOA, &[3, b'A']), alloc::vec![3, b'A']);
    }

    #[test]
    fn rrsets_are_ordered_and_deduplicated() {
        let a = |x: u8| alloc::vec![192, 0, 2, x];
        let o = order(crate::rtype::A, &[a(9), a(1), a(9)]);
        assert_eq!(o, alloc::vec![a(1), a(9)]);
    }

    #[test]
    fn expiration_reads_across_the_32_bit_wrap() {
        let mut rd = alloc::vec![0u8; 18];
        rd[8..12].copy_from_slice(&5u32.to_be_bytes());
        let now = (1u64 << 32) - 10;
        assert_eq!(expiration(&rd, now), (1u64 << 32) + 5);
        rd[8..12].copy_from_slice(&100u32.to_be_bytes());
        assert_eq!(expiration(&rd, 1000), 100);
    }

    /// RFC 8080 6.1's MX RRset of example.com. signed by its example
    /// Ed25519 key at the corrected times of RFC 8080 erratum 4935 gives
    /// exactly the erratum's signature (Ed25519 is deterministic).
    #[test]
    fn rfc8080_example_signature() {
        let private =
            crate::base64::decode("ODIyNjAzODQ2MjgwODAxMjI2NDUxOTAyMDQxNDIyNjI=").unwrap();
        let k = Key::from_private(Role::Csk, Algorithm::Ed25519, 0, &private).unwrap();
        let origin = n("example.com.");
        let mut mx = alloc::vec![0, 10];
        mx.extend_from_slice(n("mail.example.com.").wire());
        let set = RRset {
            owner: &origin,
            rtype: MX,
            ttl: 3600,
            rdatas: &[mx],
        };
        let w = Window {
            inception: 1_438_207_200,
            expiration: 1_440_021_600,
        };
        let rd = rrsig(&set, &k, &origin, w);
        assert_eq!(&rd[..4], &[0, 15, 15, 2]);
        assert_eq!(u16::from_be_bytes([rd[16], rd[17]]), 3613);
        let sig = &rd[18 + origin.wire().len()..];
        assert_eq!(
            crate::base64::encode(sig),
            "oL9krJun7xfBOIWcGHi7mag5/hdZrKWw15jPGrHpjQeRAvTdszaPD+QLs3fx8A4M3e23mRZ9VrbpMngwcrqNAg=="
        );
    }
}
