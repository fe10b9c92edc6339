//! The steps of [`super::step`]: each rule looks at one key and the ring,
//! and either fires (changes the key, says so in actions) or names the
//! time it will.

use super::super::key::Role;
use super::{Action, Event, KeyRec, Phase, Ring, Timing};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

pub(super) struct Cx<'t> {
    pub t: &'t Timing,
    pub now: u64,
    pub out: Vec<Action>,
    pub next: Option<u64>,
}

impl<'t> Cx<'t> {
    pub fn new(t: &'t Timing, now: u64) -> Cx<'t> {
        Cx {
            t,
            now,
            out: Vec::new(),
            next: None,
        }
    }

    /// Is `when` reached? If not, it becomes a candidate deadline.
    fn at(&mut self, when: u64) -> bool {
        if when <= self.now {
            return true;
        }
        self.next = Some(self.next.map_or(when, |n| n.min(when)));
        false
    }

    fn log(&mut self, k: &KeyRec, what: &str) {
        let tag = k.tag.map_or(String::from("?"), |t| format!("{t}"));
        self.out.push(Action::Log(format!(
            "key {tag} ({} {}, #{}): {what}",
            k.role.text(),
            k.alg.mnemonic(),
            k.id
        )));
    }
}

/// Record what `event` says.
pub(super) fn event(ring: &mut Ring, cx: &mut Cx, event: Event) {
    match event {
        Event::Tick => {}
        Event::KeysLoaded(made) => made
            .into_iter()
            .for_each(|(id, tag)| loaded(ring, cx, id, tag)),
        Event::DsSeen(tag) => match ring.by_tag(tag) {
            Some(k) if k.ds_seen.is_none() || k.ds_gone.is_some() => {
                k.ds_seen = Some(cx.now);
                k.ds_gone = None;
                let k = k.clone();
                cx.log(&k, "DS seen at the parent");
            }
            Some(_) => {}
            None => cx.out.push(Action::Log(format!(
                "the parent's DS names key tag {tag}, not a key of this zone"
            ))),
        },
        Event::DsGone(tag) => {
            if let Some(k) = ring.by_tag(tag).filter(|k| k.ds_gone.is_none()) {
                k.ds_gone = Some(cx.now);
                let k = k.clone();
                let note = if k.phase() == Phase::Active {
                    "DS gone from the parent while the key is in use"
                } else {
                    "DS gone from the parent"
                };
                cx.log(&k, note);
            }
        }
    }
}

/// The key asked for as `id` was made with tag `tag`.
fn loaded(ring: &mut Ring, cx: &mut Cx, id: u32, tag: u16) {
    let clash = ring
        .keys
        .iter()
        .any(|k| k.tag == Some(tag) && k.removed.is_none() && k.id != id);
    let Some(k) = ring.keys.iter_mut().find(|k| k.id == id && k.tag.is_none()) else {
        cx.out
            .push(Action::Log(format!("made key #{id} was not asked for")));
        return;
    };
    if clash {
        // Two live keys with one tag would make DS and RRSIGs ambiguous
        // (RFC 4034 B.1 allows it, validators try both; we do not).
        ring.asked.remove(&id);
        cx.out.push(Action::Log(format!(
            "made key #{id} has tag {tag} like another key: making another"
        )));
        return;
    }
    k.tag = Some(tag);
    let k = k.clone();
    cx.log(&k, "generated");
}

/// Hand out a Generate for every key without a tag not yet asked for.
pub(super) fn ask(ring: &mut Ring, cx: &mut Cx) {
    for k in ring.keys.iter().filter(|k| k.tag.is_none()) {
        if ring.asked.insert(k.id) {
            cx.out.push(Action::Generate {
                id: k.id,
                role: k.role,
                alg: k.alg,
            });
        }
    }
}

/// One pass of every rule over the ring.
pub(super) fn pass(ring: &mut Ring, cx: &mut Cx) {
    generate(ring, cx);
    for i in 0..ring.keys.len() {
        if ring.keys[i].tag.is_some() {
            advance(ring, cx, i);
        }
    }
}

/// New keys: a role of the policy without a current key (first keys, a
/// new algorithm or scheme), or whose key reached its lifetime.
fn generate(ring: &mut Ring, cx: &mut Cx) {
    for &role in cx.t.roles() {
        let alg = cx.t.algorithm;
        let cur: Vec<&KeyRec> = ring
            .keys
            .iter()
            .filter(|k| k.current() && k.role == role && k.alg == alg)
            .collect();
        let due = match cur[..] {
            [] => true,
            [k] => match (k.active, cx.t.lifetime(role)) {
                (Some(a), Some(l)) => cx.at(a + l as u64),
                _ => false,
            },
            _ => false,
        };
        if due {
            let id = ring.keys.iter().map(|k| k.id + 1).max().unwrap_or(1);
            let k = KeyRec::new(id, role, alg, cx.now);
            cx.log(&k, "to be generated");
            ring.keys.push(k);
        }
    }
}

/// Keys that do not fit the policy (old algorithm or scheme) are still
/// current: new keys sign before they are published (RFC 6781 4.1.4).
fn rolling(ring: &Ring, t: &Timing) -> bool {
    ring.keys
        .iter()
        .any(|k| k.current() && !t.fits(k.role, k.alg))
}

fn advance(ring: &mut Ring, cx: &mut Cx, i: usize) {
    match ring.keys[i].phase() {
        Phase::Generated => generated(ring, cx, i),
        Phase::Published => {
            let k = &ring.keys[i];
            if cx.at(k.published.unwrap_or(0) + cx.t.key_wait()) {
                ring.keys[i].ready = Some(cx.now);
                cx.log(&ring.keys[i].clone(), "ready: in every cached DNSKEY RRset");
            }
        }
        Phase::Ready if ring.keys[i].sep() => ready_sep(ring, cx, i),
        Phase::Ready => ready_zsk(ring, cx, i),
        Phase::Active => {}
        Phase::Retired => retired(ring, cx, i),
        Phase::Removed => {
            let k = &ring.keys[i];
            if k.signing() && cx.at(k.removed.unwrap_or(0) + cx.t.key_wait()) {
                stop_signing(ring, cx, i);
            }
        }
    }
}

fn tag(k: &KeyRec) -> u16 {
    k.tag.unwrap_or(0)
}

fn start_signing(ring: &mut Ring, cx: &mut Cx, i: usize) {
    let k = &mut ring.keys[i];
    k.sign_from = Some(cx.now);
    k.sign_until = None;
    cx.out.push(Action::StartSigning(tag(k)));
    let k = k.clone();
    cx.log(&k, "signing");
}

fn stop_signing(ring: &mut Ring, cx: &mut Cx, i: usize) {
    let k = &mut ring.keys[i];
    k.sign_until = Some(cx.now);
    cx.out.push(Action::StopSigning(tag(k)));
    let k = k.clone();
    cx.log(&k, "no longer signing");
}

fn publish(ring: &mut Ring, cx: &mut Cx, i: usize) {
    let k = &mut ring.keys[i];
    k.published = Some(cx.now);
    cx.out.push(Action::Publish(tag(k)));
    let k = k.clone();
    cx.log(&k, "published in the DNSKEY RRset");
}

/// A made key: published at once (a KSK or CSK signing the DNSKEY RRset
/// beside the old one; a first ZSK also signing), or while rolling
/// algorithms, signing first and published once its signatures are in
/// every cache.
fn generated(ring: &mut Ring, cx: &mut Cx, i: usize) {
    if rolling(ring, cx.t) {
        let k = &ring.keys[i];
        match k.sign_from {
            None => start_signing(ring, cx, i),
            Some(s) if cx.at(s + cx.t.sig_wait()) => publish(ring, cx, i),
            Some(_) => {}
        }
        return;
    }
    let first_zsk = ring.keys[i].role == Role::Zsk && !active_zsk(ring, cx.t);
    publish(ring, cx, i);
    if ring.keys[i].sep() || first_zsk {
        start_signing(ring, cx, i);
    }
    if first_zsk {
        activate(ring, cx, i);
    }
}

fn active_zsk(ring: &Ring, t: &Timing) -> bool {
    ring.keys.iter().any(|k| {
        k.role == Role::Zsk && k.current() && k.phase() == Phase::Active && t.fits(k.role, k.alg)
    })
}

fn activate(ring: &mut Ring, cx: &mut Cx, i: usize) {
    ring.keys[i].active = Some(cx.now);
    cx.log(&ring.keys[i].clone(), "active");
}

fn retire(ring: &mut Ring, cx: &mut Cx, i: usize) {
    ring.keys[i].retired = Some(cx.now);
    cx.out.push(Action::Retire(tag(&ring.keys[i])));
    cx.log(&ring.keys[i].clone(), "retired");
}

/// A ready ZSK takes over from the active one: signs from now, the old
/// stops (RFC 7583 3.2.1). While algorithms roll it waits for the DS.
fn ready_zsk(ring: &mut Ring, cx: &mut Cx, i: usize) {
    if rolling(ring, cx.t) || !cx.t.fits(ring.keys[i].role, ring.keys[i].alg) {
        return;
    }
    let old: Vec<usize> = (0..ring.keys.len())
        .filter(|&j| {
            let k = &ring.keys[j];
            j != i && k.role == Role::Zsk && k.current() && k.phase() == Phase::Active
        })
        .collect();
    if !ring.keys[i].signing() {
        start_signing(ring, cx, i);
    }
    activate(ring, cx, i);
    for j in old {
        if ring.keys[j].signing() {
            stop_signing(ring, cx, j);
        }
        retire(ring, cx, j);
    }
}

/// A ready KSK or CSK: with its DS seen it becomes the active one and
/// every other KSK or CSK, and every key the policy no longer wants,
/// retires (RFC 7583 3.3.1); else its CDS goes up once a chain from it
/// is in every cache.
fn ready_sep(ring: &mut Ring, cx: &mut Cx, i: usize) {
    if ring.keys[i].ds_seen.is_some() {
        activate(ring, cx, i);
        if ring.keys.iter().any(|k| k.cds.is_some()) {
            ring.keys.iter_mut().for_each(|k| k.cds = None);
            cx.out.push(Action::WithdrawCds);
        }
        for j in 0..ring.keys.len() {
            let k = &ring.keys[j];
            let outgoing = k.sep() || !cx.t.fits(k.role, k.alg);
            if j != i && k.current() && k.tag.is_some() && outgoing {
                retire(ring, cx, j);
            }
        }
        return;
    }
    if ring.keys[i].cds.is_none() && chain_ready(ring, cx, i) {
        let k = &mut ring.keys[i];
        k.cds = Some(cx.now);
        cx.out.push(Action::PublishCds(tag(k)));
        cx.log(&k.clone(), "CDS and CDNSKEY published for the parent");
    }
}

/// Does every cache hold a chain from key `i`: its DNSKEY and its
/// signature of the DNSKEY RRset, and a key of its algorithm in every
/// cached DNSKEY RRset whose signatures every cached RRset carries?
fn chain_ready(ring: &Ring, cx: &mut Cx, i: usize) -> bool {
    let sep = &ring.keys[i];
    let Some(from) = sep.sign_from else {
        return false;
    };
    if !cx.at(from + cx.t.key_wait()) {
        return false;
    }
    let mut when = None;
    for z in &ring.keys {
        let data = z.role != Role::Ksk && z.alg == sep.alg && z.current();
        let Some(s) = z.sign_from.filter(|_| data && z.signing()) else {
            continue;
        };
        if z.phase() >= Phase::Ready {
            let w = s + cx.t.sig_wait();
            when = Some(when.map_or(w, |x: u64| x.min(w)));
        }
    }
    when.is_some_and(|w| cx.at(w))
}

/// When no cache can hold a DS set naming `k` alone of its algorithm:
/// with the same algorithm still at the parent, from its retirement (the
/// new DS was there); else from when its DS was seen gone (or, never
/// seen, from its retirement).
fn ds_clear(k: &KeyRec, t: &Timing) -> Option<u64> {
    let retired = k.retired?;
    let from = if t.fits(k.role, k.alg) {
        Some(retired)
    } else {
        match (k.ds_seen, k.ds_gone) {
            (_, Some(g)) => Some(g),
            (None, None) => Some(retired),
            (Some(_), None) => None,
        }
    };
    from.map(|f| f + t.ds_wait())
}

/// A retired key leaves the DNSKEY RRset: a ZSK once its signatures have
/// left the caches, a KSK or CSK once its DS has; keys of an old
/// algorithm all together once every old DS has, still signing until
/// the DNSKEY RRsets naming them have left the caches too.
fn retired(ring: &mut Ring, cx: &mut Cx, i: usize) {
    let k = &ring.keys[i];
    let when = if !cx.t.fits(k.role, k.alg) {
        ring.keys
            .iter()
            .filter(|o| o.removed.is_none() && o.sep() && !cx.t.fits(o.role, o.alg))
            .map(|o| ds_clear(o, cx.t))
            .try_fold(k.retired.unwrap_or(0), |m, w| w.map(|w| m.max(w)))
    } else if k.sep() {
        ds_clear(k, cx.t)
    } else {
        k.retired.map(|r| r + cx.t.sig_wait())
    };
    let Some(when) = when else {
        return;
    };
    if !cx.at(when) {
        return;
    }
    let k = &mut ring.keys[i];
    k.removed = Some(cx.now);
    cx.out.push(Action::Remove(tag(k)));
    cx.log(&k.clone(), "removed from the DNSKEY RRset");
    if cx.t.fits(ring.keys[i].role, ring.keys[i].alg) && ring.keys[i].signing() {
        stop_signing(ring, cx, i);
    }
}
