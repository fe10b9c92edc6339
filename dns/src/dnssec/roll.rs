//! A signed zone's keys under the rollover machine (issue 26), sans I/O:
//! the ring of [`super::kasp`] with the private keys it names, read from
//! and written to the key file `ZONE._dnssec_keys` (key lines, then
//! `kasp` lines). [`Roll::turn`] steps the machine at a time, makes the
//! keys it asks for from the CSPRNG passed in, and says whether the keys'
//! uses ([`KeySet`]) changed, so the signer re-keys the zone.

use super::kasp::{self, Action, Event, KeyRec, Ring, Timing};
use super::key::{Key, KeyError};
use super::keyfile;
use super::keyset::KeySet;
use super::policy::Policy;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// A zone's ring, its keys, and the policy's times.
#[derive(Clone, Debug)]
pub struct Roll {
    pub ring: Ring,
    pub timing: Timing,
    keys: Vec<Arc<Key>>,
    cds_always: bool,
    /// When the machine has a step due (seconds since the epoch).
    pub next: Option<u64>,
    /// The key file as last read or handed out ([`Roll::unsaved`]).
    saved: String,
    /// The key file's name (`ZONE._dnssec_keys`).
    pub name: String,
    /// Events heard since the last turn (the parent's DS seen).
    pending: Vec<Event>,
}

/// What one [`Roll::turn`] did.
#[derive(Debug, Default)]
pub struct Turn {
    /// The machine's steps, for the log.
    pub log: Vec<String>,
    /// The keys' uses changed: the zone must be re-keyed.
    pub rekey: bool,
}

/// The ring of keys served before the machine ran (a key file without
/// `kasp` lines): each role's newest key of the policy, taken as in use
/// since it was made, its DS (for a KSK or CSK) at the parent.
fn adopt(policy: &Policy, keys: &[Key]) -> Ring {
    let recs = keyfile::active(policy, keys)
        .into_iter()
        .enumerate()
        .map(|(i, k)| {
            let t = Some(k.created);
            let mut r = KeyRec::new(i as u32 + 1, k.role, k.algorithm, k.created);
            r.tag = Some(k.tag());
            (r.published, r.ready, r.active, r.sign_from) = (t, t, t, t);
            if r.sep() {
                r.ds_seen = t;
            }
            r
        })
        .collect();
    Ring::new(recs)
}

impl Roll {
    /// The zone's keys from its key file: `keys` (its key lines), `ring`
    /// (its `kasp` lines; none: adopted from the keys), `text` (the file
    /// as read, empty when there is none), under `timing`; `name` is the
    /// key file's.
    pub fn start(
        name: &str,
        policy: &Policy,
        keys: Vec<Key>,
        ring: Ring,
        (text, timing): (&str, Timing),
    ) -> Roll {
        let ring = if ring.keys.is_empty() {
            adopt(policy, &keys)
        } else {
            ring
        };
        Roll {
            ring,
            timing,
            keys: keys.into_iter().map(Arc::new).collect(),
            cds_always: policy.cds,
            next: None,
            saved: String::from(text),
            name: String::from(name),
            pending: Vec::new(),
        }
    }

    /// The parent serves the DS the CDS asked for (the operator's NOTIFY
    /// for the zone's DS): each key with its CDS up is seen at the next
    /// turn, due at `now`. The tags, none when no CDS is up.
    pub fn ds_seen(&mut self, now: u64) -> Vec<u16> {
        let tags: Vec<u16> = self
            .ring
            .keys
            .iter()
            .filter(|k| k.cds.is_some())
            .filter_map(|k| k.tag)
            .collect();
        self.pending.extend(tags.iter().map(|&t| Event::DsSeen(t)));
        if !tags.is_empty() {
            self.next = Some(now);
        }
        tags
    }

    /// This ring and its keys carried on under `policy` and `timing` (a
    /// reload), the key file read being `text`.
    pub fn resume(&self, policy: &Policy, timing: Timing, text: &str) -> Roll {
        Roll {
            timing,
            cds_always: policy.cds,
            saved: String::from(text),
            ..self.clone()
        }
    }

    /// Does the ring name a live key the key file lacks? Its tag.
    pub fn missing_key(&self) -> Option<u16> {
        self.ring
            .keys
            .iter()
            .filter(|r| r.removed.is_none() || r.signing())
            .filter_map(|r| r.tag)
            .find(|t| !self.keys.iter().any(|k| k.tag() == *t))
    }

    /// The keys and their uses now.
    pub fn keyset(&self) -> KeySet {
        KeySet::from_ring(&self.ring, &self.keys, self.cds_always)
    }

    /// Take `event` at `now` and every step due, making the keys asked
    /// for from `random`.
    pub fn turn(
        &mut self,
        now: u64,
        event: Event,
        random: &mut dyn FnMut(&mut [u8]),
    ) -> Result<Turn, KeyError> {
        let mut out = Turn::default();
        let mut events: Vec<Event> = core::mem::take(&mut self.pending);
        events.push(event);
        let mut event = events.remove(0);
        // A made key whose tag clashes is asked for again: a few rounds.
        for _ in 0..4 + events.len() {
            let step = kasp::step(&mut self.ring, &self.timing, now, event);
            self.next = step.next;
            let mut made = Vec::new();
            for a in step.actions {
                match a {
                    Action::Log(l) => out.log.push(l),
                    Action::Generate { id, role, alg } => {
                        let k = Key::generate(role, alg, now, random)?;
                        made.push((id, k.tag()));
                        self.keys.push(Arc::new(k));
                    }
                    Action::Retire(_) => {}
                    _ => out.rekey = true,
                }
            }
            event = match (made.is_empty(), events.is_empty()) {
                (false, _) => Event::KeysLoaded(made),
                (true, false) => events.remove(0),
                (true, true) => break,
            };
        }
        self.prune();
        Ok(out)
    }

    /// Forget keys out of the DNSKEY RRset that no longer sign, and their
    /// private keys (RFC 7583 3.1: Removed is the end), and keys made but
    /// never taken into the ring.
    fn prune(&mut self) {
        self.ring
            .keys
            .retain(|r| r.removed.is_none() || r.signing());
        let ring = &self.ring;
        self.keys
            .retain(|k| ring.keys.iter().any(|r| r.tag == Some(k.tag())));
    }

    /// The key file's text: the key lines, then the ring's.
    pub fn file(&self) -> String {
        let zone = self.name.trim_end_matches(super::policy::KEYS_SUFFIX);
        let mut s = keyfile::print(zone, self.keys.iter().map(|k| &**k));
        s.push_str(&kasp::text::print(&self.ring));
        s
    }

    /// The key file's name and new text when it changed since it was
    /// read or last handed out (to commit), else None.
    pub fn unsaved(&mut self) -> Option<(String, String)> {
        let now = self.file();
        if now == self.saved {
            return None;
        }
        self.saved = now.clone();
        Some((self.name.clone(), now))
    }

    /// When the ring last changed: its latest time (a ring read back
    /// from an older commit is behind the one kept in memory).
    pub fn latest(&self) -> u64 {
        self.ring
            .keys
            .iter()
            .flat_map(|k| {
                let t = [k.published, k.ready, k.active, k.retired, k.removed];
                let u = [k.sign_from, k.sign_until, k.cds, k.ds_seen, k.ds_gone];
                t.into_iter().chain(u).flatten().chain([k.generated])
            })
            .max()
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dnssec::kasp::Phase;
    use crate::dnssec::key::{Algorithm, Role};

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            n = n.wrapping_add(1);
            b.fill(n)
        }
    }

    fn policy() -> Policy {
        Policy {
            csk: false,
            algorithm: Algorithm::Ed25519,
            zsk_lifetime: Some(60),
            ..Policy::default()
        }
    }

    #[test]
    fn keys_made_rolled_and_written_back() {
        let p = policy();
        let t = Timing::fast(p.algorithm, p.csk);
        let mut random = counter();
        let name = "example.org._dnssec_keys";
        let mut r = Roll::start(name, &p, Vec::new(), Ring::default(), ("", t.clone()));
        let turn = r.turn(1000, Event::Tick, &mut random).unwrap();
        assert!(turn.rekey);
        assert_eq!(r.keys.len(), 2, "a KSK and a ZSK made");
        let ks = r.keyset();
        assert!(ks.complete());
        assert_eq!(ks.published().count(), 2);
        let (n, file) = r.unsaved().unwrap();
        assert_eq!(n, name);
        assert!(file.starts_with("# DNSSEC keys of example.org "), "{file}");
        assert!(r.unsaved().is_none(), "handed out once");
        // Read back: the same keys, the same ring.
        let keys = keyfile::parse("f", &file).unwrap();
        let ring = kasp::text::parse("f", &file).unwrap();
        let mut back = Roll::start(name, &p, keys, ring, (&file, t));
        assert_eq!(back.ring.keys, r.ring.keys);
        assert!(back.missing_key().is_none());
        // The ZSK rolls at its lifetime: a third key, published first.
        let mut now = 1000;
        let mut rekeys = 0;
        while now < 1000 + 200 {
            now = back.next.unwrap_or(now + 1).max(now + 1);
            let turn = back.turn(now, Event::Tick, &mut random).unwrap();
            rekeys += turn.rekey as u32;
        }
        assert!(rekeys >= 3, "{rekeys}");
        let zsks: Vec<Phase> = back
            .ring
            .keys
            .iter()
            .filter(|k| k.role == Role::Zsk)
            .map(|k| k.phase())
            .collect();
        assert!(zsks.contains(&Phase::Active), "{zsks:?}");
        assert!(back.ring.keys.iter().all(|k| k.tag.is_some()));
        assert!(back.missing_key().is_none());
        assert!(back.latest() > 1000);
    }

    #[test]
    fn a_csk_is_active_once_its_ds_is_notified() {
        let p = Policy {
            algorithm: Algorithm::Ed25519,
            ..Policy::default()
        };
        let t = Timing::fast(p.algorithm, true);
        let mut r = Roll::start("z._dnssec_keys", &p, Vec::new(), Ring::default(), ("", t));
        r.turn(100, Event::Tick, &mut counter()).unwrap();
        assert!(r.ds_seen(101).is_empty(), "no CDS up yet");
        let mut now = 100;
        while r.ring.keys[0].cds.is_none() {
            now = r.next.unwrap();
            r.turn(now, Event::Tick, &mut counter()).unwrap();
        }
        assert_eq!(r.keyset().cds().count(), 1);
        assert_eq!(r.ds_seen(now + 1), [r.ring.keys[0].tag.unwrap()]);
        assert_eq!(r.next, Some(now + 1));
        let turn = r.turn(now + 1, Event::Tick, &mut counter()).unwrap();
        assert!(
            turn.log.iter().any(|l| l.contains("DS seen")),
            "{:?}",
            turn.log
        );
        assert_eq!(r.ring.keys[0].phase(), Phase::Active);
        assert!(turn.rekey, "the CDS withdrawn");
        assert_eq!(r.keyset().cds().count(), 0);
    }

    #[test]
    fn keys_served_before_are_adopted() {
        let p = policy();
        let mut keys = Vec::new();
        keyfile::complete(&p, &mut keys, 500, &mut counter()).unwrap();
        let tags: Vec<u16> = keys.iter().map(|k| k.tag()).collect();
        let t = Timing::fast(p.algorithm, false);
        let mut r = Roll::start("z._dnssec_keys", &p, keys, Ring::default(), ("", t));
        let turn = r.turn(510, Event::Tick, &mut counter()).unwrap();
        assert!(!turn.rekey, "{:?}", turn.log);
        let ks = r.keyset();
        let signing: Vec<u16> = ks.signing().map(|k| k.tag()).collect();
        assert_eq!(signing, tags);
        assert!(r.ring.keys.iter().all(|k| k.phase() == Phase::Active));
    }
}
