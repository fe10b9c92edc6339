//! Dynamic UPDATE (RFC 2136), signed per RFC 3007: prerequisites, the
//! prescan, and the atomic application to a copy of the zone with the SOA,
//! apex NS and CNAME rules; the serial is bumped (RFC 1982) unless the
//! update set it.

use crate::message::{skip_rr, Header, Rcode, Request};
use crate::name::Name;
use crate::rdata;
use crate::rtype::*;
use crate::serial;
use crate::wire::Reader;
use crate::zone::{Saved, Zone};
use alloc::vec::Vec;

/// One RR of the prerequisite or update section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpRr {
    pub name: Name,
    pub rtype: u16,
    pub class: u16,
    pub ttl: u32,
    pub rdata: Vec<u8>,
}

/// A parsed UPDATE message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateMsg {
    pub zone: Name,
    pub prereqs: Vec<UpRr>,
    pub updates: Vec<UpRr>,
}

fn read_rr(r: &mut Reader) -> Result<UpRr, Rcode> {
    let name = r.name().map_err(|_| Rcode::FormErr)?;
    let rtype = r.u16().map_err(|_| Rcode::FormErr)?;
    let class = r.u16().map_err(|_| Rcode::FormErr)?;
    let ttl = r.u32().map_err(|_| Rcode::FormErr)?;
    let len = r.u16().map_err(|_| Rcode::FormErr)? as usize;
    let rdata = if len == 0 {
        Vec::new()
    } else {
        rdata::from_wire(rtype, r, len).map_err(|_| Rcode::FormErr)?
    };
    Ok(UpRr {
        name,
        rtype,
        class,
        ttl,
        rdata,
    })
}

/// Parse the sections (RFC 2136 2): zone (ZOCOUNT 1, type SOA),
/// prerequisites, updates. The additional section (TSIG) is skipped. For a
/// message not parsed before (a journal record replayed).
pub fn parse(msg: &[u8]) -> Result<UpdateMsg, Rcode> {
    let mut r = Reader::message(msg, 0);
    let h = Header::parse(&mut r).map_err(|_| Rcode::FormErr)?;
    if h.qdcount != 1 {
        return Err(Rcode::FormErr);
    }
    let zone = r.name().map_err(|_| Rcode::FormErr)?;
    let (zt, zc) = (
        r.u16().map_err(|_| Rcode::FormErr)?,
        r.u16().map_err(|_| Rcode::FormErr)?,
    );
    let m = sections(&mut r, &h, zone, (zt, zc))?;
    for _ in 0..h.arcount {
        skip_rr(&mut r).map_err(|_| Rcode::FormErr)?;
    }
    Ok(m)
}

/// The UPDATE of the request `req` (parsed from `msg`): its zone is the
/// question, its sections are read from where parsing found them.
pub fn of_request(msg: &[u8], req: &Request) -> Result<UpdateMsg, Rcode> {
    let q = req.question.as_ref().ok_or(Rcode::FormErr)?;
    let mut r = Reader::message(msg, req.answer_at);
    sections(&mut r, &req.header, q.name.clone(), (q.qtype, q.qclass))
}

/// The prerequisite and update sections after the zone section `zone` of
/// type and class `tc` (SOA, IN: RFC 2136 2.3).
fn sections(r: &mut Reader, h: &Header, zone: Name, tc: (u16, u16)) -> Result<UpdateMsg, Rcode> {
    if tc != (SOA, IN) {
        return Err(Rcode::FormErr);
    }
    let prereqs = (0..h.ancount)
        .map(|_| read_rr(r))
        .collect::<Result<Vec<_>, _>>()?;
    let updates = (0..h.nscount)
        .map(|_| read_rr(r))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(UpdateMsg {
        zone,
        prereqs,
        updates,
    })
}

fn in_use(z: &Zone, n: &Name) -> bool {
    z.node(n).is_some_and(|x| x.rrsets().next().is_some())
}

/// RFC 2136 3.2: check the prerequisites.
pub fn check_prereqs(z: &Zone, m: &UpdateMsg) -> Result<(), Rcode> {
    let mut value_sets: Vec<(Name, u16, Vec<Vec<u8>>)> = Vec::new();
    for p in &m.prereqs {
        if p.ttl != 0 {
            return Err(Rcode::FormErr);
        }
        if !p.name.is_at_or_below(&z.origin) {
            return Err(Rcode::NotZone);
        }
        let set = z.node(&p.name).and_then(|n| n.get(p.rtype));
        match (p.class, p.rtype, p.rdata.is_empty()) {
            (CLASS_ANY, ANY, true) if !in_use(z, &p.name) => return Err(Rcode::NxDomain),
            (CLASS_ANY, ANY, true) => {}
            (CLASS_ANY, _, true) if set.is_none() => return Err(Rcode::NxRrset),
            (CLASS_ANY, _, true) => {}
            (NONE, ANY, true) if in_use(z, &p.name) => return Err(Rcode::YxDomain),
            (NONE, ANY, true) => {}
            (NONE, _, true) if set.is_some() => return Err(Rcode::YxRrset),
            (NONE, _, true) => {}
            (IN, t, false) if t != ANY => match value_sets
                .iter_mut()
                .find(|(n, ty, _)| *n == p.name && *ty == t)
            {
                Some((_, _, v)) => v.push(p.rdata.clone()),
                None => value_sets.push((p.name.clone(), t, alloc::vec![p.rdata.clone()])),
            },
            _ => return Err(Rcode::FormErr),
        }
    }
    // RFC 2136 3.2.3: value-dependent RRsets must match exactly.
    for (name, t, mut want) in value_sets {
        want.sort();
        want.dedup();
        let have = z
            .node(&name)
            .and_then(|n| n.get(t))
            .map(|s| s.rdatas.to_vec())
            .unwrap_or_default();
        if have != want {
            return Err(Rcode::NxRrset);
        }
    }
    Ok(())
}

/// RFC 2136 3.4.1: the prescan of the update section.
pub fn prescan(z: &Zone, m: &UpdateMsg) -> Result<(), Rcode> {
    for u in &m.updates {
        if !u.name.is_at_or_below(&z.origin) {
            return Err(Rcode::NotZone);
        }
        let meta = matches!(u.rtype, ANY | AXFR | IXFR | OPT | TSIG);
        match u.class {
            IN if meta => return Err(Rcode::FormErr),
            // An RR no answer could carry is refused, as the loader
            // refuses it in a zone file.
            IN if u.rdata.len() > rdata::max_rdata(u.name.wire().len()) => {
                return Err(Rcode::Refused)
            }
            IN => {}
            CLASS_ANY
                if u.ttl != 0
                    || !u.rdata.is_empty()
                    || matches!(u.rtype, AXFR | IXFR | OPT | TSIG) =>
            {
                return Err(Rcode::FormErr)
            }
            CLASS_ANY => {}
            NONE if u.ttl != 0 || meta => return Err(Rcode::FormErr),
            NONE => {}
            _ => return Err(Rcode::FormErr),
        }
    }
    Ok(())
}

/// Apply the updates to a copy of `z` (RFC 2136 3.4.2). Returns the new
/// zone when anything changed.
pub fn apply(z: &Zone, m: &UpdateMsg) -> Option<Zone> {
    let mut nz = z.clone();
    apply_in_place(&mut nz, m).map(|_| nz)
}

/// [`apply`] on `z` itself (no copy of the zone): the nodes it may have
/// changed as they were before (the update's names and the apex), to
/// diff against or to put back ([`undo`]); None when nothing changed
/// (then `z` is as it was).
pub fn apply_in_place(z: &mut Zone, m: &UpdateMsg) -> Option<Vec<Saved>> {
    let old_serial = z.serial()?;
    let mut names: Vec<&Name> = m.updates.iter().map(|u| &u.name).collect();
    names.push(&z.origin);
    let mut saved: Vec<Saved> = Vec::with_capacity(names.len());
    for n in names {
        if let Some(s) = z.save(n) {
            if !saved.contains(&s) {
                saved.push(s);
            }
        }
    }
    let soa_set = edit(z, m);
    if soa_set.is_none() || saved.iter().all(|s| z.unchanged(s)) {
        undo(z, &saved);
        return None;
    }
    if soa_set != Some(true) && z.set_serial(serial::next(old_serial)).is_none() {
        undo(z, &saved);
        return None;
    }
    Some(saved)
}

/// Put back the nodes [`apply_in_place`] saved.
pub fn undo(z: &mut Zone, saved: &[Saved]) {
    for s in saved.iter().rev() {
        z.restore(s);
    }
}

/// Apply again, in place, updates that changed `z` when they were
/// acknowledged (the storage journal replayed at boot): no copy and no
/// comparison of the whole zone, the serial moved as [`apply`] moved it.
pub fn replay(z: &mut Zone, m: &UpdateMsg) -> Option<()> {
    let old_serial = z.serial()?;
    if !edit(z, m)? {
        z.set_serial(serial::next(old_serial))?;
    }
    Some(())
}

/// The edits of RFC 2136 3.4.2 on `nz`; Some(true) when the update set
/// the SOA itself (a rising serial), None when the zone has no SOA.
fn edit(nz: &mut Zone, m: &UpdateMsg) -> Option<bool> {
    let mut soa_set = false;
    let apex = nz.origin.clone();
    for u in &m.updates {
        match u.class {
            IN => {
                if u.rtype == SOA {
                    // Only at the apex, and only a rising serial (3.4.2.2).
                    let new_serial = soa_serial(&u.rdata)?;
                    if u.name == apex && serial::gt(new_serial, nz.serial()?) {
                        nz.replace_rrset(&apex, SOA, u.ttl, &[&u.rdata]);
                        soa_set = true;
                    }
                    continue;
                }
                let node = nz.node(&u.name);
                let has_cname = node.is_some_and(|n| n.get(CNAME).is_some());
                let has_other = node
                    .is_some_and(|n| n.rrsets().any(|s| !matches!(s.rtype, CNAME | RRSIG | NSEC)));
                if (u.rtype == CNAME && has_other) || (u.rtype != CNAME && has_cname) {
                    continue; // CNAME exclusivity (3.4.2.2)
                }
                nz.add_rr(&u.name, u.rtype, u.ttl, &u.rdata, u.rtype == CNAME);
            }
            CLASS_ANY if u.rtype == ANY => {
                let keep: &[u16] = if u.name == apex { &[SOA, NS] } else { &[] };
                nz.delete_name(&u.name, keep);
            }
            CLASS_ANY => {
                if u.name == apex && matches!(u.rtype, SOA | NS) {
                    continue;
                }
                nz.delete_rrset(&u.name, u.rtype);
            }
            NONE => {
                if u.rtype == SOA {
                    continue;
                }
                if u.name == apex
                    && u.rtype == NS
                    && nz
                        .node(&apex)
                        .and_then(|n| n.get(NS))
                        .is_some_and(|s| s.rdatas.len() <= 1)
                {
                    continue; // never the last apex NS
                }
                nz.delete_rr(&u.name, u.rtype, &u.rdata);
            }
            _ => {}
        }
    }
    Some(soa_set)
}

fn soa_serial(rd: &[u8]) -> Option<u32> {
    let mut r = Reader::new(rd);
    r.name().ok()?;
    r.name().ok()?;
    r.u32().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::parser::parse_str;

    #[test]
    fn the_prescan_refuses_an_rr_no_answer_could_carry() {
        let o = Name::parse("example.org.", &Name::root()).unwrap();
        let p = parse_str("z", "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n", &o).unwrap();
        let z = Zone::from_records(o.clone(), &p.records);
        let name = Name::parse("www", &o).unwrap();
        let max = rdata::max_rdata(name.wire().len());
        let msg = |len: usize| UpdateMsg {
            zone: o.clone(),
            prereqs: Vec::new(),
            updates: alloc::vec![UpRr {
                name: name.clone(),
                rtype: 65280,
                class: IN,
                ttl: 60,
                rdata: alloc::vec![1; len],
            }],
        };
        assert_eq!(prescan(&z, &msg(max)), Ok(()));
        assert_eq!(prescan(&z, &msg(max + 1)), Err(Rcode::Refused));
        let mut z2 = z.clone();
        assert!(apply_in_place(&mut z2, &msg(max)).is_some());
        assert_eq!(
            z2.node(&name)
                .unwrap()
                .get(65280)
                .unwrap()
                .rdatas
                .first()
                .map(|r| r.len()),
            Some(max)
        );
    }
}
