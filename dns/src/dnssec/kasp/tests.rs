//! The machine against a simulated zone, parent and resolver caches. At
//! every step the invariant: for every DS set, DNSKEY RRset and signed
//! RRset a resolver may hold (each served within its TTL plus the
//! propagation delay), every algorithm of the DS set has a chain DS ->
//! KSK signing the DNSKEY RRset -> key in it whose signature the data
//! carries; and (RFC 4035 2.2) that every algorithm of the DNSKEY RRset
//! signs it and the data. The parent takes the CDS set as its DS set
//! `lag` seconds after it appears, and then the machine hears DsSeen and
//! DsGone.

use super::text::{parse, print};
use super::*;
use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::ToString;
use alloc::vec;

const DAY: u64 = 86400;

#[derive(Clone, Debug, Default, PartialEq)]
struct World {
    dnskey: BTreeSet<u16>,
    sig_keys: BTreeSet<u16>,
    sig_data: BTreeSet<u16>,
    ds: BTreeSet<u16>,
    cds: BTreeSet<u16>,
}

struct Sim {
    ring: Ring,
    /// The machine's timing, and the true one the caches follow.
    t: Timing,
    truth: Timing,
    now: u64,
    world: World,
    hist: Vec<(u64, World)>,
    keys: BTreeMap<u16, (Role, Algorithm)>,
    next_tag: u16,
    parent_at: Option<u64>,
    lag: u64,
    /// Does the parent check report DS gone (an operator's NOTIFY that
    /// a DS is in place does not)?
    gone: bool,
    next: Option<u64>,
    log: Vec<String>,
}

impl Sim {
    fn new(t: Timing) -> Sim {
        Sim {
            ring: Ring::default(),
            truth: t.clone(),
            t,
            now: 1_000_000,
            world: World::default(),
            hist: vec![(0, World::default())],
            keys: BTreeMap::new(),
            next_tag: 100,
            parent_at: None,
            lag: 7200,
            gone: true,
            next: None,
            log: Vec::new(),
        }
    }

    fn apply(&mut self, a: &Action, made: &mut Vec<(u32, u16)>) {
        let w = &mut self.world;
        match *a {
            Action::Generate { id, role, alg } => {
                self.next_tag += 1;
                self.keys.insert(self.next_tag, (role, alg));
                made.push((id, self.next_tag));
            }
            Action::Publish(t) => assert!(w.dnskey.insert(t), "{t} published twice"),
            Action::Remove(t) => assert!(w.dnskey.remove(&t), "{t} removed unpublished"),
            Action::StartSigning(t) => {
                let role = self.keys[&t].0;
                if role.signs(crate::rtype::DNSKEY) {
                    w.sig_keys.insert(t);
                }
                if role.signs(crate::rtype::A) {
                    w.sig_data.insert(t);
                }
            }
            Action::StopSigning(t) => {
                w.sig_keys.remove(&t);
                w.sig_data.remove(&t);
            }
            Action::PublishCds(t) => {
                w.cds.insert(t);
                self.parent_at = Some(self.now + self.lag);
            }
            Action::WithdrawCds => w.cds.clear(),
            Action::Retire(_) => {}
            Action::Log(ref s) => self.log.push(format!("{} {s}", self.now)),
        }
    }

    fn feed(&mut self, e: Event) {
        let mut events = vec![e];
        while let Some(e) = events.pop() {
            let s = step(&mut self.ring, &self.t, self.now, e);
            let mut made = Vec::new();
            for a in &s.actions {
                self.apply(a, &mut made);
            }
            self.next = s.next;
            if !made.is_empty() {
                events.push(Event::KeysLoaded(made));
            }
        }
        if self.hist.last().map(|h| &h.1) != Some(&self.world) {
            self.hist.push((self.now, self.world.clone()));
        }
        self.check();
    }

    /// The parent replaces its DS set with the CDS set.
    fn parent(&mut self) {
        self.parent_at = None;
        let new = self.world.cds.clone();
        if new.is_empty() {
            return;
        }
        let old = core::mem::replace(&mut self.world.ds, new.clone());
        for &t in new.difference(&old) {
            self.feed(Event::DsSeen(t));
        }
        if !self.gone {
            return;
        }
        for &t in old.difference(&new) {
            self.feed(Event::DsGone(t));
        }
    }

    /// Run until `end`, from deadline to deadline.
    fn run(&mut self, end: u64) {
        self.feed(Event::Tick);
        loop {
            let next = match (self.next, self.parent_at) {
                (Some(a), Some(b)) => a.min(b),
                (a, b) => match a.or(b) {
                    Some(n) => n,
                    None => break,
                },
            };
            if next > end {
                break;
            }
            assert!(
                next >= self.now,
                "deadline {next} in the past at {}",
                self.now
            );
            self.now = next;
            if self.parent_at == Some(next) {
                self.parent();
            }
            self.feed(Event::Tick);
        }
        self.now = self.now.max(end);
        self.feed(Event::Tick);
    }

    /// The worlds a cache may hold at `now` for `window` seconds.
    fn views(&self, window: u32) -> impl Iterator<Item = &World> {
        let from = self.now.saturating_sub(window as u64);
        let ends = self.hist.iter().skip(1).map(|h| h.0).chain([u64::MAX]);
        self.hist
            .iter()
            .zip(ends)
            .filter(move |(_, end)| *end > from)
            .map(|(h, _)| &h.1)
    }

    fn check(&self) {
        let t = &self.truth;
        for ds in self.views(t.ds_ttl + t.parent_delay) {
            for keys in self.views(t.dnskey_ttl + t.propagation) {
                for data in self.views(t.max_ttl + t.propagation) {
                    if let Err(e) = self.validates(&ds.ds, keys, data) {
                        panic!(
                            "at {}: {e}\nDS {:?}\nkeys {keys:?}\ndata {:?}\n{}",
                            self.now,
                            ds.ds,
                            data.sig_data,
                            self.log.join("\n")
                        );
                    }
                }
            }
        }
    }

    fn validates(&self, ds: &BTreeSet<u16>, keys: &World, data: &World) -> Result<(), String> {
        let alg = |t: &u16| self.keys[t].1;
        for a in ds.iter().map(alg) {
            let ksk = ds
                .iter()
                .any(|d| alg(d) == a && keys.dnskey.contains(d) && keys.sig_keys.contains(d));
            let zsk = keys
                .dnskey
                .iter()
                .any(|z| alg(z) == a && data.sig_data.contains(z));
            if !ksk {
                return Err(format!("no {a:?} DS -> DNSKEY signer"));
            }
            if !zsk {
                return Err(format!("no {a:?} DNSKEY -> data signer"));
            }
        }
        // RFC 4035 2.2, for strict validators: a signature of every
        // algorithm of the DNSKEY RRset, on it and on the data.
        for a in keys.dnskey.iter().map(alg).filter(|_| !ds.is_empty()) {
            if !keys.sig_keys.iter().any(|k| alg(k) == a) {
                return Err(format!("{a:?} DNSKEY RRset without its {a:?} signature"));
            }
            if !data.sig_data.iter().any(|k| alg(k) == a) {
                return Err(format!("{a:?} DNSKEY, data without its {a:?} signature"));
            }
        }
        Ok(())
    }

    fn count(&self, role: Role, phase: Phase) -> usize {
        let k = self.ring.keys.iter();
        k.filter(|k| k.role == role && k.phase() == phase).count()
    }

    fn logged(&self, what: &str) -> usize {
        self.log.iter().filter(|l| l.contains(what)).count()
    }
}

fn timing(csk: bool) -> Timing {
    let mut t = Timing::fast(Algorithm::EcdsaP256Sha256, csk);
    t.propagation = 3600;
    t.dnskey_ttl = 3600;
    t.max_ttl = 2 * 3600;
    t.ds_ttl = DAY as u32;
    t.parent_delay = 1800;
    t.zsk_lifetime = Some(30 * DAY as u32);
    t.ksk_lifetime = None;
    t
}

/// The zone ends with one active key a role, the parent's DS naming the
/// active KSK or CSK, nothing else signing or published.
fn settled(s: &Sim) {
    let live: Vec<&KeyRec> = s.ring.keys.iter().filter(|k| k.removed.is_none()).collect();
    assert!(live.iter().all(|k| k.phase() == Phase::Active), "{live:?}");
    let tags: BTreeSet<u16> = live.iter().filter_map(|k| k.tag).collect();
    assert_eq!(s.world.dnskey, tags);
    let sep: BTreeSet<u16> = live
        .iter()
        .filter(|k| k.sep())
        .filter_map(|k| k.tag)
        .collect();
    assert_eq!(s.world.ds, sep);
    assert!(s.world.cds.is_empty());
    let signing: BTreeSet<u16> = s.world.sig_keys.union(&s.world.sig_data).copied().collect();
    assert_eq!(signing, tags);
}

#[test]
fn kasp_zsk_rollover() {
    let mut s = Sim::new(timing(false));
    s.run(s.now + 100 * DAY);
    assert_eq!(s.count(Role::Zsk, Phase::Removed), 3, "{:#?}", s.log);
    assert_eq!(s.count(Role::Ksk, Phase::Active), 1);
    assert_eq!(s.logged("DS seen"), 1);
    settled(&s);
}

#[test]
fn kasp_ksk_rollover_with_ds_seen() {
    let mut t = timing(false);
    t.ksk_lifetime = Some(20 * DAY as u32);
    t.zsk_lifetime = None;
    let mut s = Sim::new(t);
    s.run(s.now + 50 * DAY);
    assert_eq!(s.count(Role::Ksk, Phase::Removed), 2);
    assert_eq!(s.count(Role::Zsk, Phase::Removed), 0);
    assert_eq!(s.logged("CDS and CDNSKEY published"), 3);
    // The parent lags: a new KSK waits for its DS before the old goes.
    let before = s.count(Role::Ksk, Phase::Removed);
    s.lag = 10 * DAY;
    s.run(s.now + 25 * DAY);
    assert_eq!(s.count(Role::Ksk, Phase::Removed), before + 1);
    settled(&s);
}

#[test]
fn kasp_csk_rollover() {
    let mut t = timing(true);
    t.ksk_lifetime = t.zsk_lifetime;
    let mut s = Sim::new(t);
    s.run(s.now + 70 * DAY);
    assert_eq!(s.count(Role::Csk, Phase::Removed), 2);
    assert_eq!(s.logged("DS seen"), 3);
    settled(&s);
}

#[test]
fn kasp_algorithm_rollover() {
    for csk in [false, true] {
        let mut t = timing(csk);
        t.zsk_lifetime = None;
        let mut s = Sim::new(t);
        s.run(s.now + 5 * DAY);
        s.t.algorithm = Algorithm::Ed25519;
        s.truth.algorithm = Algorithm::Ed25519;
        s.run(s.now + 10 * DAY);
        let old = s
            .ring
            .keys
            .iter()
            .filter(|k| k.alg == Algorithm::EcdsaP256Sha256);
        assert!(old.clone().count() >= 1);
        assert!(old
            .clone()
            .all(|k| k.phase() == Phase::Removed && !k.signing()));
        assert!(s.world.ds.iter().all(|t| s.keys[t].1 == Algorithm::Ed25519));
        settled(&s);
    }
}

#[test]
fn kasp_rollover_survives_a_restart() {
    let mut s = Sim::new(timing(false));
    s.run(s.now + 30 * DAY + 1800);
    let rolling = s
        .ring
        .keys
        .iter()
        .filter(|k| k.current() && k.role == Role::Zsk);
    assert_eq!(rolling.count(), 2, "mid-rollover: {:#?}", s.ring.keys);
    let text = format!(
        "# keys\nzsk ecdsap256sha256 1 AAAA ; a key line\n{}",
        print(&s.ring)
    );
    let again = parse("z._dnssec_keys", &text).unwrap();
    assert_eq!(again.keys, s.ring.keys);
    s.ring = again;
    s.run(s.now + 40 * DAY);
    assert_eq!(s.count(Role::Zsk, Phase::Removed), 2);
    settled(&s);
}

#[test]
fn kasp_ungenerated_key_is_asked_again_after_restart() {
    let t = timing(true);
    let mut ring = Ring::default();
    let s = step(&mut ring, &t, 5, Event::Tick);
    assert!(matches!(
        s.actions[..],
        [Action::Log(_), Action::Generate { id: 1, .. }]
    ));
    let s = step(&mut ring, &t, 6, Event::Tick);
    assert!(!s
        .actions
        .iter()
        .any(|a| matches!(a, Action::Generate { .. })));
    let mut ring = parse("f", &print(&ring)).unwrap();
    let s = step(&mut ring, &t, 7, Event::Tick);
    assert!(s
        .actions
        .iter()
        .any(|a| matches!(a, Action::Generate { id: 1, .. })));
}

/// The checker is not vacuous: a machine believing in no propagation
/// delay and tiny TTLs swaps ZSKs before caches know the new one.
#[test]
#[should_panic(expected = "DNSKEY -> data signer")]
fn kasp_invariant_catches_a_hasty_rollover() {
    let mut s = Sim::new(timing(false));
    s.t.propagation = 0;
    s.t.dnskey_ttl = 1;
    s.t.max_ttl = 1;
    s.run(s.now + 40 * DAY);
}

#[test]
fn kasp_text_errors_name_the_line() {
    let cases = [
        (
            "kasp 1 zsk ecdsap256sha256 active generated=5",
            "times say generated",
        ),
        (
            "kasp 1 zsk ecdsap256sha256 generated",
            "generated=TIME missing",
        ),
        (
            "kasp x zsk ecdsap256sha256 generated generated=1",
            "bad key number",
        ),
        (
            "kasp 1 zzk ecdsap256sha256 generated generated=1",
            "bad role",
        ),
        (
            "kasp 1 zsk ecdsap256sha256 published published=1 published=2 generated=1",
            "twice",
        ),
        (
            "kasp 1 zsk ecdsap256sha256 generated when=1 generated=1",
            "unknown field",
        ),
        (
            "kasp 1 zsk ecdsap256sha256 generated tag=70000 generated=1",
            "bad key tag",
        ),
    ];
    for (l, want) in cases {
        let e = parse("z._dnssec_keys", &format!("# c\n\n{l}\n")).unwrap_err();
        assert_eq!(e.line, 3, "{l}");
        assert!(e.to_string().starts_with("z._dnssec_keys:3: "), "{e}");
        assert!(e.what.contains(want), "{l}: {e}");
    }
    let two = "kasp 1 csk 13 generated generated=1\nkasp 1 csk 13 generated generated=1\n";
    assert_eq!(parse("f", two).unwrap_err().line, 2);
}

/// Nor for KSKs: a machine believing the parent's DS TTL is a second
/// removes the old KSK while caches still hold the DS naming it alone.
#[test]
#[should_panic(expected = "DS -> DNSKEY signer")]
fn kasp_invariant_catches_a_hasty_ksk_removal() {
    let mut t = timing(false);
    t.ksk_lifetime = Some(20 * DAY as u32);
    let mut s = Sim::new(t);
    s.t.ds_ttl = 1;
    s.t.parent_delay = 0;
    s.run(s.now + 30 * DAY);
}

/// Nor for algorithms: new keys published before every cached RRset
/// carries their signatures (RFC 4035 2.2 for strict validators).
#[test]
#[should_panic(expected = "data without its Ed25519 signature")]
fn kasp_invariant_catches_a_hasty_algorithm_change() {
    let mut s = Sim::new(timing(true));
    s.run(s.now + 5 * DAY);
    s.t.algorithm = Algorithm::Ed25519;
    s.truth.algorithm = Algorithm::Ed25519;
    s.t.propagation = 0;
    s.t.max_ttl = 1;
    s.t.dnskey_ttl = 1;
    s.lag = 0;
    s.run(s.now + 10 * DAY);
}

/// Told only that the new DS is in place (an operator's NOTIFY): a KSK
/// rollover completes (the old DS shares the algorithm), an algorithm
/// rollover keeps the old keys until the old DS is reported gone.
#[test]
fn kasp_ds_seen_without_ds_gone() {
    let mut t = timing(false);
    t.ksk_lifetime = Some(20 * DAY as u32);
    let mut s = Sim::new(t);
    s.gone = false;
    s.run(s.now + 25 * DAY);
    assert_eq!(s.count(Role::Ksk, Phase::Removed), 1);
    s.t.algorithm = Algorithm::Ed25519;
    s.truth.algorithm = Algorithm::Ed25519;
    s.run(s.now + 10 * DAY);
    let old: Vec<u16> = s
        .world
        .dnskey
        .iter()
        .copied()
        .filter(|t| s.keys[t].1 == Algorithm::EcdsaP256Sha256)
        .collect();
    assert_eq!(old.len(), 2, "{:?}", s.ring.keys);
    let ksk = *old.iter().find(|t| s.keys[t].0 == Role::Ksk).unwrap();
    s.feed(Event::DsGone(ksk));
    s.run(s.now + 3 * DAY);
    settled(&s);
}
