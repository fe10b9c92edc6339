//! What a lookup produces and the authority writes: RRsets to print
//! ([`Out`]) in the three sections of an [`Answer`].

use crate::name::Name;
use crate::zone::{RRset, RdataIter, Rdatas};
use smallvec::SmallVec;

/// An RRset to write, with the owner to print (synthesized owners for
/// wildcard and DNAME answers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Out<'z> {
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: OutData<'z>,
}

/// RDATA of an [`Out`]: borrowed from the zone, the one name a DNAME
/// synthesized (RFC 6672 3.3), or the RRSIGs of a node that cover one
/// type (RFC 4035 3.1.1: the signatures of an RRset go with it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutData<'z> {
    Zone(Rdatas<'z>),
    One(Name),
    Sigs(Rdatas<'z>, u16),
}

/// The type an RRSIG RDATA covers (RFC 4034 3.1.1).
pub fn covered(rd: &[u8]) -> Option<u16> {
    rd.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]))
}

impl<'z> Out<'z> {
    pub fn from_set(owner: Name, s: RRset<'z>) -> Out<'z> {
        Out {
            owner,
            rtype: s.rtype,
            ttl: s.ttl,
            rdatas: OutData::Zone(s.rdatas),
        }
    }

    /// The RDATAs.
    pub fn iter(&self) -> OutIter<'_> {
        match &self.rdatas {
            OutData::Zone(v) => OutIter::Zone(v.iter()),
            OutData::One(x) => OutIter::One(Some(x.wire())),
            OutData::Sigs(v, t) => OutIter::Sigs(v.iter(), *t),
        }
    }
}

/// Iterator over the RDATAs of an [`Out`].
pub enum OutIter<'a> {
    Zone(RdataIter<'a>),
    One(Option<&'a [u8]>),
    Sigs(RdataIter<'a>, u16),
}

impl<'a> Iterator for OutIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        match self {
            OutIter::Zone(i) => i.next(),
            OutIter::One(x) => x.take(),
            OutIter::Sigs(i, t) => i.find(|rd| covered(rd) == Some(*t)),
        }
    }
}

/// A section of an answer, inline up to `N` RRsets so that the common
/// answer allocates nothing (issue 9: no per-query heap allocation).
pub type Section<'z, const N: usize> = SmallVec<[Out<'z>; N]>;

/// The result of a lookup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Answer<'z> {
    pub rcode: u16,
    pub authoritative: bool,
    /// The client set DO (RFC 3225): RRSIGs and denial proofs are added
    /// (RFC 4035 3.1).
    pub dnssec: bool,
    /// The RRsets of the name and of a CNAME chain.
    pub answer: Section<'z, 4>,
    /// One SOA, or a referral's NS.
    pub authority: Section<'z, 2>,
    /// Addresses of NS/MX/SRV targets: room for four dual-stack hosts.
    pub additional: Section<'z, 8>,
}
