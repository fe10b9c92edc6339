//! The lookup of RFC 1034 4.3.2 over our zones, with DNAME (RFC 6672),
//! wildcards (RFC 4592) and negative answers (RFC 2308). Produces the
//! sections of an answer; [`crate::authority`] writes them.

pub use crate::answer::{Answer, Out, OutData, Section};
use crate::dnssec::{self, Denial};
use crate::name::Name;
use crate::rdata;
use crate::rtype::*;
use crate::zone::{Node, RRset, Zone};
use crate::zoneset::ZoneSet;

/// How many CNAME/DNAME steps one answer may take.
const MAX_CHAIN: usize = 16;

/// Which RRsets of a node an ANY query returns (RFC 8482 4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnyPolicy {
    /// Over UDP: one RRset (the lowest type), to avoid amplification.
    One,
    /// Over TCP: every RRset.
    All,
}

/// Look `qname`/`qtype` up. None: no zone of ours covers it (REFUSED).
/// `dnssec`: the query set DO, the answer gets the zone's RRSIGs and
/// denial proofs (RFC 4035 3.1).
pub fn lookup<'z>(
    zs: &'z ZoneSet,
    qname: &Name,
    qtype: u16,
    any: AnyPolicy,
    dnssec: bool,
) -> Option<Answer<'z>> {
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
        dnssec,
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

/// A negative answer: the SOA, and with DO its RRSIGs and the proof of
/// what is denied.
fn negative<'z>(zone: &'z Zone, a: &mut Answer<'z>, rcode: u16, d: Denial<'_, 'z>) {
    a.rcode = rcode;
    let apex = zone.node(&zone.origin);
    if let Some(soa) = apex.and_then(|n| n.get(SOA)) {
        // RFC 2308 3: TTL of the SOA in a negative answer is min(TTL, MINIMUM).
        let min = soa
            .rdatas
            .first()
            .and_then(|rd| rd.get(rd.len().saturating_sub(4)..))
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .unwrap_or(0);
        let mut out = Out::from_set(zone.origin.clone(), soa);
        out.ttl = soa.ttl.min(min);
        let ttl = out.ttl;
        a.authority.push(out);
        if let (true, Some(apex)) = (a.dnssec, apex) {
            dnssec::sign(apex, &zone.origin, SOA, ttl, &mut a.authority);
        }
    }
    if a.dnssec {
        dnssec::deny(zone, d, &mut a.authority);
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
    // The name's own node is looked up once, for the cut check and for 3a.
    let exact = zone.node_by_key(key);
    if referral(zone, name, key, qtype, exact, a) {
        return Step::Done;
    }
    // 3a: an exact match.
    if let Some(node) = exact {
        return answer_node(zone, node, name, qtype, any, a);
    }
    if let Some(step) = dname(zone, name, key, qtype, a) {
        return step;
    }
    // An empty non-terminal: NODATA (RFC 4592 2.2.2).
    if zone.has_descendants_key(key) {
        negative(zone, a, 0, Denial::Empty(name));
        return Step::Done;
    }
    wildcard(zone, name, key, qtype, any, a)
}

/// 3b: a delegation at or above the name (not for DS at the cut itself,
/// which the parent answers, RFC 4035 3.1.4.1): the referral is written
/// and true returned. `exact` is the name's own node.
fn referral<'z>(
    zone: &'z Zone,
    name: &Name,
    key: &[u8],
    qtype: u16,
    exact: Option<Node<'z>>,
    a: &mut Answer<'z>,
) -> bool {
    let labels = name.label_count();
    let cut_here =
        exact.filter(|n| labels > zone.origin.label_count() && qtype != DS && n.get(NS).is_some());
    let Some(cut) = zone
        .delegation_above_key(key, labels.saturating_sub(1))
        .or(cut_here)
    else {
        return false;
    };
    if let Some(ns) = cut.get(NS) {
        if a.answer.is_empty() {
            a.authoritative = false;
        }
        a.authority.push(Out::from_set(cut.name(), ns));
        if a.dnssec {
            dnssec::referral(zone, cut, &mut a.authority);
        }
        glue(zone, ns, a);
    }
    true
}

/// A DNAME at an ancestor of `name` (RFC 6672 3.2): the DNAME and the
/// CNAME synthesised from it, and the step that follows; None when there
/// is none.
fn dname<'z>(
    zone: &'z Zone,
    name: &Name,
    key: &[u8],
    qtype: u16,
    a: &mut Answer<'z>,
) -> Option<Step> {
    let depth = zone.origin.label_count();
    let (k, node, dname) = (depth..name.label_count()).rev().find_map(|k| {
        let n = zone.node_by_key(Name::key_prefix(key, k))?;
        Some((k, n, n.get(DNAME)?))
    })?;
    let anc = name.suffix(k);
    a.answer.push(Out::from_set(anc.clone(), dname));
    if a.dnssec {
        // RFC 6672 5.3.1: the DNAME is signed, the CNAME is not.
        dnssec::sign(node, &anc, DNAME, dname.ttl, &mut a.answer);
    }
    let target = dname.rdatas.first().and_then(Name::from_wire);
    let synth = target
        .zip(name.strip_suffix(&anc))
        .map(|(t, prefix)| t.prepend(&prefix));
    Some(match synth {
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
    })
}

/// 3c: a wildcard at the closest encloser (RFC 4592 3.3.1), else NXDOMAIN.
fn wildcard<'z>(
    zone: &'z Zone,
    name: &Name,
    key: &[u8],
    qtype: u16,
    any: AnyPolicy,
    a: &mut Answer<'z>,
) -> Step {
    let depth = zone.origin.label_count();
    let encloser = (depth..name.label_count())
        .rev()
        .find(|&k| {
            let p = Name::key_prefix(key, k);
            zone.node_by_key(p).is_some() || zone.has_descendants_key(p)
        })
        .map(|k| name.suffix(k));
    let ce = encloser.unwrap_or_else(|| zone.origin.clone());
    if let Some(wild) = ce.wildcard_child().and_then(|w| zone.node(&w)) {
        let before = a.answer.len();
        let step = answer_node(zone, wild, name, qtype, any, a);
        if a.dnssec {
            let nodata = a.answer.len() == before;
            dnssec::wildcard(zone, name, &ce, nodata, &mut a.authority);
        }
        return step;
    }
    negative(zone, a, 3, Denial::NxDomain { name, ce: &ce });
    Step::Done
}

/// `set` of `node` printed at `owner` into the answer, with its RRSIGs
/// when asked.
fn push_set<'z>(node: Node<'z>, owner: &Name, set: RRset<'z>, a: &mut Answer<'z>) {
    a.answer.push(Out::from_set(owner.clone(), set));
    if a.dnssec {
        dnssec::sign(node, owner, set.rtype, set.ttl, &mut a.answer);
    }
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
        let take = match any {
            AnyPolicy::All => usize::MAX,
            AnyPolicy::One => 1,
        };
        // The RRSIGs come with the RRsets they cover, not as one more.
        let dnssec = a.dnssec;
        let sets = node.rrsets().filter(|s| !dnssec || s.rtype != RRSIG);
        for s in sets.take(take) {
            push_set(node, owner, s, a);
        }
        if a.answer.len() == before {
            negative(zone, a, 0, Denial::NoData(node));
        }
        return Step::Done;
    }
    // An RRSIG query (RFC 4035 3.1.5) gets the first RRSIG RRset: those
    // covering the lowest type, as Knot answers (RFC 8482's one RRset).
    if let Some(set) = node.get(qtype) {
        push_set(node, owner, set, a);
        return Step::Done;
    }
    if let Some(cname) = node.get(CNAME) {
        push_set(node, owner, cname, a);
        return match cname.rdatas.first().and_then(Name::from_wire) {
            Some(next) => Step::Follow(next),
            None => Step::Done,
        };
    }
    negative(zone, a, 0, Denial::NoData(node));
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
        dnssec,
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
            add_addresses(zs, home, &t, additional, *dnssec);
        }
    }
}

/// A and AAAA of `t` into `additional`, when `t` lies in `home` (not
/// below a delegation) and is not there yet.
fn add_addresses<'z>(
    zs: &'z ZoneSet,
    home: &'z Zone,
    t: &Name,
    additional: &mut Section<'z, 8>,
    dnssec: bool,
) {
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
        let owner = node.name();
        for ty in [A, AAAA] {
            if let Some(s) = node.get(ty) {
                additional.push(Out::from_set(owner.clone(), s));
                if dnssec {
                    dnssec::sign(node, &owner, ty, s.ttl, additional);
                }
            }
        }
    }
}
