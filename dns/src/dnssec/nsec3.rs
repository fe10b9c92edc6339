//! NSEC3 proofs (RFC 5155 7.2): names are hashed (RFC 5155 5) and the
//! NSEC3 matching or covering a hash is found in the zone's list of NSEC3
//! owners.

use super::{prove, Denial};
use crate::answer::Section;
use crate::name::Name;
use crate::rtype::NSEC3;
use crate::zone::{Node, Zone};
use sha1::{Digest, Sha1};
use smallvec::SmallVec;

/// The hash parameters of a zone's NSEC3PARAM (RFC 5155 4.2).
pub struct Params {
    iterations: u16,
    salt: SmallVec<[u8; 16]>,
}

impl Params {
    /// From NSEC3PARAM RDATA: SHA-1 (1) and flags 0 only (RFC 5155 4.1.1,
    /// 4.1.2: other values are not for an authoritative server to use).
    pub fn parse(rd: &[u8]) -> Option<Params> {
        let [1, 0, i0, i1, len, salt @ ..] = rd else {
            return None;
        };
        Some(Params {
            iterations: u16::from_be_bytes([*i0, *i1]),
            salt: SmallVec::from_slice(salt.get(..*len as usize)?),
        })
    }

    /// IH(salt, owner, iterations) of RFC 5155 5, over the canonical
    /// (lowercase) wire form of `name`.
    pub(super) fn hash(&self, name: &Name) -> [u8; 20] {
        let mut d = Sha1::new()
            .chain_update(name.to_lowercase().wire())
            .chain_update(&self.salt)
            .finalize();
        for _ in 0..self.iterations {
            d = Sha1::new()
                .chain_update(d)
                .chain_update(&self.salt)
                .finalize();
        }
        d.into()
    }

    /// The [`Node::key`] of the hashed owner name of `name`: the base32hex
    /// label and its end.
    pub(super) fn key(&self, name: &Name) -> [u8; 33] {
        let mut k = [0u8; 33];
        k[..32].copy_from_slice(&base32hex(&self.hash(name)));
        k
    }
}

/// The label of hash `h` (RFC 5155 3.3: base32hex, RFC 4648 7, here
/// lowercase, without padding).
pub(super) fn base32hex(h: &[u8; 20]) -> [u8; 32] {
    const DIGITS: &[u8; 32] = b"0123456789abcdefghijklmnopqrstuv";
    let mut k = [0u8; 32];
    for (i, c) in h.chunks(5).enumerate() {
        let v = c.iter().fold(0u64, |v, &b| v << 8 | b as u64);
        for j in 0..8 {
            k[i * 8 + j] = DIGITS[(v >> (35 - 5 * j) & 31) as usize];
        }
    }
    k
}

/// The NSEC3 whose owner is the hash of `name`.
fn matching<'z>(zone: &'z Zone, p: &Params, name: &Name) -> Option<Node<'z>> {
    let k = p.key(name);
    zone.nsec3_at_or_before(&k).filter(|n| n.key() == k)
}

/// The NSEC3 that covers the hash of `name` (a name that does not exist).
fn covering<'z>(zone: &'z Zone, p: &Params, name: &Name) -> Option<Node<'z>> {
    zone.nsec3_at_or_before(&p.key(name))
}

/// The closest provable encloser proof of RFC 5155 7.2.1: the NSEC3
/// matching the nearest ancestor of `name` that has one, and the NSEC3
/// covering the next closer name. That ancestor, when found.
fn encloser_proof<'z, const N: usize>(
    zone: &'z Zone,
    p: &Params,
    name: &Name,
    out: &mut Section<'z, N>,
) -> Option<Name> {
    let depth = zone.origin.label_count();
    for k in (depth..name.label_count()).rev() {
        let ce = name.suffix(k);
        if let Some(m) = matching(zone, p, &ce) {
            prove(m, NSEC3, out);
            if let Some(c) = covering(zone, p, &name.suffix(k + 1)) {
                prove(c, NSEC3, out);
            }
            return Some(ce);
        }
    }
    None
}

/// RFC 5155 7.2.2 (NXDOMAIN: closest encloser proof and the NSEC3
/// covering the wildcard at the closest encloser), 7.2.3 (NODATA: the
/// NSEC3 matching the name) and 7.2.4 (no NSEC3 matches, as for DS at an
/// opt-out delegation: the closest provable encloser proof).
pub fn deny<'z, const N: usize>(
    zone: &'z Zone,
    p: &Params,
    d: Denial<'_, 'z>,
    out: &mut Section<'z, N>,
) {
    let nodata = |name: &Name, out: &mut Section<'z, N>| match matching(zone, p, name) {
        Some(m) => prove(m, NSEC3, out),
        None => {
            encloser_proof(zone, p, name, out);
        }
    };
    match d {
        Denial::NoData(node) => nodata(&node.name(), out),
        Denial::Empty(name) => nodata(name, out),
        Denial::NxDomain { name, .. } => {
            let ce = encloser_proof(zone, p, name, out);
            if let Some(c) = ce
                .and_then(|ce| ce.wildcard_child())
                .and_then(|w| covering(zone, p, &w))
            {
                prove(c, NSEC3, out);
            }
        }
    }
}

/// RFC 5155 7.2.6 (an answer from the wildcard at `ce`: the NSEC3
/// covering the next closer name) and 7.2.5 (a NODATA from it: with the
/// NSEC3 matching the closest encloser too).
pub fn wildcard<'z, const N: usize>(
    zone: &'z Zone,
    p: &Params,
    name: &Name,
    ce: &Name,
    nodata: bool,
    out: &mut Section<'z, N>,
) {
    if nodata {
        if let Some(m) = matching(zone, p, ce) {
            prove(m, NSEC3, out);
        }
    }
    let next = name.suffix(ce.label_count() + 1);
    if let Some(c) = covering(zone, p, &next) {
        prove(c, NSEC3, out);
    }
}
