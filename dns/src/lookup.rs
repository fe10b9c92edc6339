//! The lookup of RFC 1034 4.3.2 over our zones, with DNAME (RFC 6672),
//! wildcards (RFC 4592) and negative answers (RFC 2308). Produces the
//! sections of an answer; [`crate::authority`] writes them.

use crate::name::Name;
use crate::rdata;
use crate::rtype::*;
use crate::zone::{Node, RRset, Rdatas, Zone};
use crate::zoneset::ZoneSet;
use smallvec::SmallVec;

/// How many CNAME/DNAME steps one answer may take.
const MAX_CHAIN: usize = 16;

/// An RRset to write, with the owner to print (synthesized owners for
/// wildcard and DNAME answers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Out<'z> {
    pub owner: Name,
    pub rtype: u16,
    pub ttl: u32,
    pub rdatas: OutData<'z>,
}

/// RDATA of an [`Out`]: borrowed from the zone, or the one name a DNAME
/// synthesized (RFC 6672 3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutData<'z> {
    Zone(Rdatas<'z>),
    One(Name),
}

impl<'z> Out<'z> {
    fn from_set(owner: Name, s: RRset<'z>) -> Out<'z> {
        Out {
            owner,
            rtype: s.rtype,
            ttl: s.ttl,
            rdatas: OutData::Zone(s.rdatas),
        }
    }

    /// The RDATAs.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (zone, one) = match &self.rdatas {
            OutData::Zone(v) => (Some(v.iter()), None),
            OutData::One(x) => (None, Some(x.wire())),
        };
        zone.into_iter().flatten().chain(one)
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
    /// The RRsets of the name and of a CNAME chain.
    pub answer: Section<'z, 4>,
    /// One SOA, or a referral's NS.
    pub authority: Section<'z, 2>,
    /// Addresses of NS/MX/SRV targets: room for four dual-stack hosts.
    pub additional: Section<'z, 8>,
}

/// Which RRsets of a node an ANY query returns (RFC 8482 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyPolicy {
    /// Over UDP: one RRset (the lowest type), to avoid amplification.
    One,
    /// Over TCP: every RRset.
    All,
}

/// Look `qname`/`qtype` up. None: no zone of ours covers it (REFUSED).
pub fn lookup<'z>(zs: &'z ZoneSet, qname: &Name, qtype: u16, any: AnyPolicy) -> Option<Answer<'z>> {
    let mut key = qname.key();
    let mut zone = zs.zone_for_key(&key, qname.label_count())?;
    // RFC 4035 3.1.4.1: DS at a zone apex belongs to the parent side; when we
    // also serve the parent, answer from it.
    if qtype == DS && *qname == zone.origin && !qname.is_root() {
        if let Some(parent) = zs.zone_for(&qname.parent()) {
            zone = parent;
        }
    }
    let mut a = Answer {
        authoritative: true,
        ..Default::default()
    };
    let mut name = qname.clone();
    for _ in 0..MAX_CHAIN {
        match step(zone, &name, &key, qtype, any, &mut a) {
            Step::Done => break,
            Step::Follow(next) => match zs.zone_for(&next) {
                Some(z) => {
                    zone = z;
                    key = next.key();
                    name = next;
                }
                None => break, // left our zones: the client resolves further
            },
        }
    }
    additional(zs, &mut a);
    Some(a)
}

enum Step {
    Done,
    Follow(Name),
}

fn negative<'z>(zone: &'z Zone, a: &mut Answer<'z>, rcode: u16) {
    a.rcode = rcode;
    if let Some(soa) = zone.soa() {
        // RFC 2308 3: TTL of the SOA in a negative answer is min(TTL, MINIMUM).
        let min = soa
            .rdatas
            .first()
            .and_then(|rd| rd.get(rd.len().saturating_sub(4)..))
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        let mut out = Out::from_set(zone.origin.clone(), soa);
        out.ttl = soa.ttl.min(min);
        a.authority.push(out);
    }
}

/// One lookup step in `zone` (RFC 1034 4.3.2 step 3).
/// `key` is the canonical key of `name`.
fn step<'z>(
    zone: &'z Zone,
    name: &Name,
    key: &[u8],
    qtype: u16,
    any: AnyPolicy,
    a: &mut Answer<'z>,
) -> Step {
    // 3b: a delegation at or above the name (not for DS at the cut itself,
    // which the parent answers, RFC 4035 3.1.4.1). The name's own node is
    // looked up once, for the cut check and for 3a.
    let labels = name.label_count();
    let exact = zone.node_by_key(key);
    let cut_here =
        exact.filter(|n| labels > zone.origin.label_count() && qtype != DS && n.get(NS).is_some());
    if let Some(cut) = zone
        .delegation_above_key(key, labels.saturating_sub(1))
        .or(cut_here)
    {
        if let Some(ns) = cut.get(NS) {
            if a.answer.is_empty() {
                a.authoritative = false;
            }
            a.authority.push(Out::from_set(cut.name(), ns));
            glue(zone, ns, a);
        }
        return Step::Done;
    }
    // 3a: an exact match.
    if let Some(node) = exact {
        return answer_node(zone, node, name, qtype, any, a);
    }
    // DNAME at an ancestor (RFC 6672 3.2).
    let depth = zone.origin.label_count();
    for k in (depth..name.label_count()).rev() {
        let found = zone
            .node_by_key(Name::key_prefix(key, k))
            .and_then(|n| n.get(DNAME));
        if let Some(dname) = found {
            let anc = name.suffix(k);
            a.answer.push(Out::from_set(anc.clone(), dname));
            let target = dname.rdatas.first().and_then(|rd| Name::from_wire(rd));
            let synth = target
                .zip(name.strip_suffix(&anc))
                .map(|(t, prefix)| t.prepend(&prefix));
            return match synth {
                Some(Some(next)) => {
                    a.answer.push(Out {
                        owner: name.clone(),
                        rtype: CNAME,
                        ttl: dname.ttl,
                        rdatas: OutData::One(next.clone()),
                    });
                    if qtype == CNAME {
                        Step::Done
                    } else {
                        Step::Follow(next)
                    }
                }
                // The substituted name is too long (RFC 6672 2.2).
                _ => {
                    a.rcode = 6; // YXDOMAIN
                    Step::Done
                }
            };
        }
    }
    // An empty non-terminal: NODATA (RFC 4592 2.2.2).
    if zone.has_descendants_key(key) {
        negative(zone, a, 0);
        return Step::Done;
    }
    // 3c: a wildcard at the closest encloser (RFC 4592 3.3.1).
    let encloser = (depth..name.label_count())
        .rev()
        .find(|&k| {
            let p = Name::key_prefix(key, k);
            zone.node_by_key(p).is_some() || zone.has_descendants_key(p)
        })
        .map(|k| name.suffix(k));
    if let Some(wild) = encloser
        .and_then(|ce| ce.wildcard_child())
        .and_then(|w| zone.node(&w))
    {
        return answer_node(zone, wild, name, qtype, any, a);
    }
    negative(zone, a, 3);
    Step::Done
}

/// Answer from `node`, printing `owner` (the query name, or the name a
/// wildcard was expanded for).
fn answer_node<'z>(
    zone: &'z Zone,
    node: Node<'z>,
    owner: &Name,
    qtype: u16,
    any: AnyPolicy,
    a: &mut Answer<'z>,
) -> Step {
    if qtype == ANY {
        let before = a.answer.len();
        match any {
            AnyPolicy::All => a
                .answer
                .extend(node.rrsets().map(|s| Out::from_set(owner.clone(), s))),
            AnyPolicy::One => a.answer.extend(
                node.rrsets()
                    .next()
                    .map(|s| Out::from_set(owner.clone(), s)),
            ),
        }
        if a.answer.len() == before {
            negative(zone, a, 0);
        }
        return Step::Done;
    }
    if let Some(set) = node.get(qtype) {
        a.answer.push(Out::from_set(owner.clone(), set));
        return Step::Done;
    }
    if let Some(cname) = node.get(CNAME) {
        a.answer.push(Out::from_set(owner.clone(), cname));
        return match cname.rdatas.first().and_then(|rd| Name::from_wire(rd)) {
            Some(next) => Step::Follow(next),
            None => Step::Done,
        };
    }
    negative(zone, a, 0);
    Step::Done
}

/// Glue of a referral: addresses of in-zone NS targets.
fn glue<'z>(zone: &'z Zone, ns: RRset<'z>, a: &mut Answer<'z>) {
    for rd in ns.rdatas {
        let Some(target) = rdata::target(NS, rd) else {
            continue;
        };
        if let Some(node) = zone.node(&target) {
            for t in [A, AAAA] {
                if let Some(s) = node.get(t) {
                    a.additional.push(Out::from_set(node.name(), s));
                }
            }
        }
    }
}

/// Additional-section processing (RFC 1034 4.3.2 step 6): addresses of
/// NS, MX and SRV targets we are authoritative for. Like Knot, only data
/// of the zone holding the NS/MX/SRV record is added (no out-of-zone
/// additional records).
fn additional<'z>(zs: &'z ZoneSet, a: &mut Answer<'z>) {
    if !a.authoritative {
        return;
    }
    let Answer {
        answer,
        authority,
        additional,
        ..
    } = a;
    for o in answer.iter().chain(authority.iter()) {
        if !matches!(o.rtype, NS | MX | SRV) {
            continue;
        }
        let Some(home) = zs.zone_for(&o.owner) else {
            continue;
        };
        for t in o.iter().filter_map(|rd| rdata::target(o.rtype, rd)) {
            add_addresses(zs, home, &t, additional);
        }
    }
}

/// A and AAAA of `t` into `additional`, when `t` lies in `home` (not
/// below a delegation) and is not there yet.
fn add_addresses<'z>(zs: &'z ZoneSet, home: &'z Zone, t: &Name, additional: &mut Section<'z, 8>) {
    if additional.iter().any(|o| o.owner == *t) {
        return;
    }
    let Some(zone) = zs.zone_for(t).filter(|z| core::ptr::eq(*z, home)) else {
        return;
    };
    if zone.delegation_above(t).is_some() {
        return;
    }
    if let Some(node) = zone.node(t) {
        for ty in [A, AAAA] {
            if let Some(s) = node.get(ty) {
                additional.push(Out::from_set(node.name(), s));
            }
        }
    }
}
