//! Serving zones signed offline (issue 26, first step): the RRSIGs that go
//! with each RRset (RFC 4035 3.1.1), the NSEC (RFC 4035 3.1.3) or NSEC3
//! (RFC 5155 7.2) proofs of negative and wildcard answers, and DS or its
//! denial at delegations (RFC 4035 3.1.4). Only asked for when the query
//! set DO; the lookup calls in here at the points it decides an answer.
//! The records are the zone's own: nothing is signed here.

pub mod canon;
pub mod kasp;
pub mod keeper;
pub mod key;
pub mod keyfile;
pub mod keyset;
mod nsec;
mod nsec3;
pub mod policy;
pub mod roll;
pub mod signer;
pub mod signers;
pub mod zone_sign;

use crate::answer::{Out, OutData, Section};
use crate::name::Name;
use crate::rtype::{DS, NSEC, NSEC3PARAM, RRSIG};
use crate::zone::{Node, Zone};

/// What a negative answer proves absent.
#[derive(Clone, Copy)]
pub enum Denial<'a, 'z> {
    /// The node exists, the type asked for does not.
    NoData(Node<'z>),
    /// The name is an empty non-terminal (RFC 4592 2.2.2).
    Empty(&'a Name),
    /// The name does not exist; `ce` is its closest encloser (RFC 4592
    /// 3.3.1).
    NxDomain { name: &'a Name, ce: &'a Name },
}

/// How a zone denies existence, from its apex: NSEC3 when it publishes
/// NSEC3PARAM (RFC 5155 4), NSEC when its apex has one, else unsigned.
enum Chain {
    Nsec,
    Nsec3(nsec3::Params),
}

/// True when `zone` carries a signed chain (NSEC or NSEC3 at its apex):
/// signed offline, so an UPDATE leaves the changed names without valid
/// signatures or proofs until it is signed again (the caller warns).
pub fn signed_offline(zone: &Zone) -> bool {
    chain(zone).is_some()
}

fn chain(zone: &Zone) -> Option<Chain> {
    let apex = zone.node(&zone.origin)?;
    if let Some(p) = apex.get(NSEC3PARAM) {
        return p
            .rdatas
            .iter()
            .find_map(nsec3::Params::parse)
            .map(Chain::Nsec3);
    }
    apex.get(NSEC).map(|_| Chain::Nsec)
}

/// The RRSIGs at `node` covering `rtype`, printed at `owner` with the TTL
/// of the RRset they cover (RFC 4034 3), into `out`.
pub fn sign<'z, const N: usize>(
    node: Node<'z>,
    owner: &Name,
    rtype: u16,
    ttl: u32,
    out: &mut Section<'z, N>,
) {
    if let Some(s) = node.sigs(rtype) {
        out.push(Out {
            owner: owner.clone(),
            rtype: RRSIG,
            ttl,
            rdatas: OutData::Sigs(s.rdatas, rtype),
        });
    }
}

/// The NSEC or NSEC3 (`rtype`) of `node` with its RRSIGs, unless the
/// section holds it already (one NSEC may prove two things).
fn prove<'z, const N: usize>(node: Node<'z>, rtype: u16, out: &mut Section<'z, N>) {
    let Some(set) = node.get(rtype) else {
        return;
    };
    let owner = node.name();
    if out.iter().any(|o| o.rtype == rtype && o.owner == owner) {
        return;
    }
    out.push(Out::from_set(owner.clone(), set));
    sign(node, &owner, rtype, set.ttl, out);
}

/// The proof of a negative answer (NXDOMAIN or NODATA) from `zone`.
pub fn deny<'z, const N: usize>(zone: &'z Zone, d: Denial<'_, 'z>, out: &mut Section<'z, N>) {
    match chain(zone) {
        Some(Chain::Nsec) => nsec::deny(zone, d, out),
        Some(Chain::Nsec3(p)) => nsec3::deny(zone, &p, d, out),
        None => {}
    }
}

/// The proof that goes with an answer synthesized from the wildcard at
/// `ce` (the closest encloser) for `name`: that `name` itself does not
/// exist (RFC 4035 3.1.3.3, RFC 5155 7.2.6), and for NODATA that the
/// closest encloser does (RFC 5155 7.2.5). The wildcard's own NSEC of a
/// NODATA comes with [`deny`].
pub fn wildcard<'z, const N: usize>(
    zone: &'z Zone,
    name: &Name,
    ce: &Name,
    nodata: bool,
    out: &mut Section<'z, N>,
) {
    match chain(zone) {
        Some(Chain::Nsec) => nsec::cover(zone, name, out),
        Some(Chain::Nsec3(p)) => nsec3::wildcard(zone, &p, name, ce, nodata, out),
        None => {}
    }
}

/// A referral to the zone cut `cut` (RFC 4035 3.1.4): its DS with the
/// DS's RRSIGs, or the proof that it has none (NSEC of the cut; NSEC3
/// matching it, or the opt-out proof of RFC 5155 7.2.7).
pub fn referral<'z, const N: usize>(zone: &'z Zone, cut: Node<'z>, out: &mut Section<'z, N>) {
    if let Some(ds) = cut.get(DS) {
        let owner = cut.name();
        out.push(Out::from_set(owner.clone(), ds));
        sign(cut, &owner, DS, ds.ttl, out);
        return;
    }
    match chain(zone) {
        Some(Chain::Nsec) => prove(cut, NSEC, out),
        Some(Chain::Nsec3(p)) => nsec3::deny(zone, &p, Denial::NoData(cut), out),
        None => {}
    }
}

#[cfg(test)]
mod tests;
