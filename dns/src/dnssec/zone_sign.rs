//! Between the repository and the signer (issue 26, the step the
//! appliance calls on load): a zone's policy and keys from the files of a
//! commit ([`setup`]: keys the policy needs are made from the CSPRNG passed
//! in, and the key file's new text is handed back to commit), and a loaded
//! [`Zone`] signed whole into the zone that is served ([`sign_zone`]).
//! The returned [`Signer`] keeps the zone signed after that (changes,
//! refresh).

use super::kasp::{self, Ring, Timing};
use super::key::Key;
use super::keyfile;
use super::policy::{self, Policy, KEYS_SUFFIX, POLICY_SUFFIX};
use super::roll::Roll;
use super::signer::{SignError, Signer};
use super::signers::Signers;
use crate::zone::parser::Record;
use crate::zone::Zone;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// What signing a zone needs, read from the repository.
pub struct Setup {
    pub policy: Policy,
    pub keys: Vec<Key>,
    /// The key file's new text when keys were made (to commit as
    /// `ZONE._dnssec_keys`), else None.
    pub keys_made: Option<String>,
}

fn text<'f>(files: &'f [(String, Vec<u8>)], name: &str) -> Option<Result<&'f str, String>> {
    let (_, data) = files.iter().find(|(n, _)| n == name)?;
    Some(core::str::from_utf8(data).map_err(|_| format!("{name}: not UTF-8 text")))
}

/// A zone's policy and key file as read from the repository.
struct Read {
    policy: Policy,
    keys: Vec<Key>,
    ring: Ring,
    /// The key file's text (empty: there is none).
    text: String,
}

/// The policy, keys and ring of zone `zone` (its file name) from
/// `files`: None when it has no policy file (it is not signed by gitns),
/// an error naming the file and line when its policy or key file is
/// broken.
fn read(files: &[(String, Vec<u8>)], zone: &str) -> Option<Result<Read, String>> {
    let pname = format!("{zone}{POLICY_SUFFIX}");
    let ptext = text(files, &pname)?;
    Some(ptext.and_then(|p| {
        let policy = policy::parse(&pname, p).map_err(|e| format!("{e}"))?;
        let kname = format!("{zone}{KEYS_SUFFIX}");
        let text = text(files, &kname).transpose()?.unwrap_or("");
        let keys = keyfile::parse(&kname, text).map_err(|e| format!("{e}"))?;
        let ring = kasp::text::parse(&kname, text).map_err(|e| format!("{e}"))?;
        Ok(Read {
            policy,
            keys,
            ring,
            text: text.into(),
        })
    }))
}

/// As [`read`], with the keys the policy needs and the key file lacks
/// made from `random` at `now`.
pub fn setup(
    files: &[(String, Vec<u8>)],
    zone: &str,
    now: u64,
    random: &mut dyn FnMut(&mut [u8]),
) -> Option<Result<Setup, String>> {
    Some(read(files, zone)?.and_then(
        |Read {
             policy, mut keys, ..
         }| {
            let made = keyfile::complete(&policy, &mut keys, now, random)
                .map_err(|e| format!("{zone}{KEYS_SUFFIX}: {e}"))?;
            let keys_made = made.then(|| keyfile::print(zone, &keys));
            Ok(Setup {
                policy,
                keys,
                keys_made,
            })
        },
    ))
}

/// The records of `zone`, its own RRSIG, NSEC, NSEC3 and NSEC3PARAM
/// included (the signer leaves those out and makes its own).
fn records_of(zone: &Zone) -> Vec<Record> {
    let mut out = Vec::with_capacity(zone.record_count());
    for node in zone.nodes() {
        let name = node.name();
        for set in node.rrsets() {
            for rd in set.rdatas.iter() {
                out.push(Record {
                    name: name.clone(),
                    rtype: set.rtype,
                    class: crate::rtype::IN,
                    ttl: set.ttl,
                    rdata: rd.to_vec(),
                    file: 0,
                    line: 0,
                    col: 0,
                });
            }
        }
    }
    out
}

/// `zone` signed whole at `now` under `setup` (`seed`: random, spreads
/// expirations): the signer that keeps it signed, and the zone to serve.
pub fn sign_zone(
    zone: &Zone,
    setup: Setup,
    now: u64,
    seed: u64,
) -> Result<(Signer, Zone), SignError> {
    let mut s = Signer::new(zone.origin.clone(), setup.policy, setup.keys, seed)?;
    s.load(&records_of(zone), now);
    let signed = zone_of(&s);
    Ok((s, signed))
}

/// The zone `s` keeps signed, to serve.
fn zone_of(s: &Signer) -> Zone {
    let mut b = crate::zone::ZoneBuilder::new(s.origin());
    s.for_each(&mut |r| {
        b.add(
            r.owner,
            r.rtype,
            r.ttl,
            r.rdata,
            crate::zone::Src::default(),
        );
    });
    b.finish()
}

/// What [`sign_zones`] is given besides the zones and files.
pub struct Env<'a> {
    /// Wall-clock time, seconds since the epoch.
    pub now: u64,
    /// Random: spreads expirations.
    pub seed: u64,
    /// The CSPRNG keys are made from.
    pub random: &'a mut dyn FnMut(&mut [u8]),
    /// The signers before this load: a ring kept there that is ahead of
    /// the key file's (its commit not fetched back yet) is carried on.
    pub prev: Option<&'a Signers>,
}

/// What [`sign_zones`] did.
#[derive(Debug, Default)]
pub struct Loaded {
    /// For each zone with a policy file: what was done (and each key
    /// step), or why it is not signed.
    pub lines: Vec<Result<String, String>>,
    /// Key files whose text changed (keys made, key steps taken): file
    /// name and text, to commit to the private remote.
    pub key_files: Vec<(String, String)>,
}

/// Sign every zone of `zs` that has a policy file among `files` (the
/// files it was loaded from), in place: the zone served is then the
/// signed one. Its keys are those of its key file under the rollover
/// machine ([`Roll`]): stepped to `env.now`, keys made when it asks
/// (a zone with a policy and no keys gets them here), the key file's
/// new text handed back to commit.
pub fn sign_zones(
    zs: &mut crate::zoneset::ZoneSet,
    files: &[(String, Vec<u8>)],
    env: &mut Env,
) -> Loaded {
    let mut out = Loaded::default();
    for (name, _) in files {
        let Some(zone) = policy::policy_zone(name) else {
            continue;
        };
        let r = match read(files, zone) {
            None => continue,
            Some(Err(e)) => Err(e),
            Some(Ok(read)) => sign_one(zs, zone, read, env, &mut out),
        };
        out.lines
            .push(r.map_err(|e| format!("{zone}: not signed: {e}")));
    }
    out
}

/// The zone's SOA TTL and its largest TTL (what key steps wait on).
fn ttls(zone: &Zone) -> (u32, u32) {
    let soa = zone.soa().map_or(3600, |s| s.ttl);
    let max = zone
        .nodes()
        .flat_map(|n| n.rrsets().map(|s| s.ttl).collect::<Vec<_>>())
        .max()
        .unwrap_or(soa);
    (soa, max)
}

/// The zone's keys: the key file's, or the ring kept before when it is
/// ahead; stepped to `env.now`.
fn roll_of(
    origin: &crate::name::Name,
    zone: &Zone,
    (kname, read): (&str, Read),
    env: &mut Env,
) -> Result<(Roll, Vec<String>), String> {
    let (soa_ttl, max_ttl) = ttls(zone);
    let timing = Timing::from_policy(&read.policy, soa_ttl, max_ttl);
    let file = (&read.text[..], timing);
    let mut roll = Roll::start(kname, &read.policy, read.keys, read.ring, file);
    if let Some(old) = env.prev.and_then(|p| p.roll(origin)) {
        if old.latest() > roll.latest() {
            roll = old.resume(&read.policy, roll.timing.clone(), &read.text);
        }
    }
    if let Some(tag) = roll.missing_key() {
        return Err(format!(
            "the ring names key {tag}, which the key file lacks"
        ));
    }
    let turn = roll
        .turn(env.now, kasp::Event::Tick, env.random)
        .map_err(|e| format!("{e}"))?;
    Ok((roll, turn.log))
}

fn sign_one(
    zs: &mut crate::zoneset::ZoneSet,
    zone: &str,
    read: Read,
    env: &mut Env,
    out: &mut Loaded,
) -> Result<String, String> {
    let origin =
        crate::name::Name::parse(zone, &crate::name::Name::root()).map_err(|e| format!("{e}"))?;
    let loaded = zs.zone(&origin).ok_or("the zone did not load")?;
    let kname = format!("{zone}{KEYS_SUFFIX}");
    let policy = read.policy.clone();
    let (mut roll, log) =
        roll_of(&origin, loaded, (&kname, read), env).map_err(|e| format!("{kname}: {e}"))?;
    out.lines
        .extend(log.into_iter().map(|l| Ok(format!("{zone}: {l}"))));
    let mut s = Signer::with_keys(origin.clone(), policy, roll.keyset(), env.seed)
        .map_err(|e| format!("{kname}: {e}"))?;
    s.load(&records_of(loaded), env.now);
    let signed = zone_of(&s);
    let n = signed.record_count();
    zs.insert(signed);
    let due = s.next_refresh(env.now).unwrap_or(env.now);
    if let Some(file) = roll.unsaved() {
        out.key_files.push(file);
    }
    zs.signers.insert(&origin, s, roll, env.now);
    Ok(format!(
        "{zone}: signed, {n} records; signatures refreshed from {due} (UNIX time)"
    ))
}

/// [`sign_zones`] with a counter for the CSPRNG and no previous signers.
#[cfg(test)]
pub(crate) fn sign_at(
    zs: &mut crate::zoneset::ZoneSet,
    files: &[(String, Vec<u8>)],
    now: u64,
    seed: u64,
) -> Loaded {
    let mut n = 0u8;
    let mut random = |b: &mut [u8]| {
        n = n.wrapping_add(1);
        b.fill(n)
    };
    let mut env = Env {
        now,
        seed,
        random: &mut random,
        prev: None,
    };
    sign_zones(zs, files, &mut env)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lookup::{lookup, AnyPolicy};
    use crate::name::Name;
    use crate::rtype::{A, NSEC, RRSIG, SOA};
    use crate::zoneset::ZoneSet;
    use alloc::string::ToString;

    const NOW: u64 = 1_796_000_000;
    const ZONE: &str = "$TTL 3600\n@ SOA ns1 hm 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.3\n";

    fn f(name: &str, text: &str) -> (String, Vec<u8>) {
        (name.to_string(), text.as_bytes().to_vec())
    }

    fn counter() -> impl FnMut(&mut [u8]) {
        let mut n = 0u8;
        move |b: &mut [u8]| {
            n += 1;
            b.fill(n)
        }
    }

    #[test]
    fn setup_makes_missing_keys_once_and_says_where_files_are_broken() {
        let mut random = counter();
        let files = [
            f("example.org", ZONE),
            f("example.org._dnssec", "denial nsec3\n"),
        ];
        assert!(setup(&files, "other.org", NOW, &mut random).is_none());
        let s = setup(&files, "example.org", NOW, &mut random)
            .unwrap()
            .unwrap();
        let made = s.keys_made.expect("a CSK was made");
        assert_eq!(s.keys.len(), 1);
        let again = [&files[..], &[f("example.org._dnssec_keys", &made)]].concat();
        let s2 = setup(&again, "example.org", NOW, &mut random)
            .unwrap()
            .unwrap();
        assert!(s2.keys_made.is_none(), "the committed keys are used");
        assert_eq!(s2.keys[0].dnskey(), s.keys[0].dnskey());
        let broken = [f("example.org._dnssec", "keys three\n")];
        let e = setup(&broken, "example.org", NOW, &mut random)
            .unwrap()
            .err()
            .unwrap();
        assert!(e.starts_with("example.org._dnssec:1: unknown keys"), "{e}");
        let bad_keys = [
            f("example.org._dnssec", ""),
            f("example.org._dnssec_keys", "csk 13 1 AA==\n"),
        ];
        let e = setup(&bad_keys, "example.org", NOW, &mut random)
            .unwrap()
            .err()
            .unwrap();
        assert!(e.starts_with("example.org._dnssec_keys:1: "), "{e}");
    }

    #[test]
    fn zones_with_a_policy_and_keys_are_signed_in_place() {
        let mut random = counter();
        let files = [f("example.org", ZONE), f("example.org._dnssec", "")];
        let made = setup(&files, "example.org", NOW, &mut random)
            .unwrap()
            .unwrap()
            .keys_made
            .unwrap();
        let with_keys = [
            &files[..],
            &[f("example.org._dnssec_keys", &made), f("example.net", ZONE)],
        ]
        .concat();
        let (mut zs, _) = ZoneSet::load(&with_keys, None);
        let done = sign_at(&mut zs, &with_keys, NOW, 1).lines;
        assert_eq!(done.len(), 1);
        assert!(
            done[0]
                .as_ref()
                .unwrap()
                .starts_with("example.org: signed, "),
            "{done:?}"
        );
        let org = Name::parse("example.org.", &Name::root()).unwrap();
        let net = Name::parse("example.net.", &Name::root()).unwrap();
        assert!(crate::dnssec::signed_offline(zs.zone(&org).unwrap()));
        assert!(!crate::dnssec::signed_offline(zs.zone(&net).unwrap()));
        // The adopted keys: the key file gets its ring lines, once.
        let first = sign_at(&mut zs, &with_keys, NOW, 1);
        let [(name, text)] = &first.key_files[..] else {
            panic!("{first:?}")
        };
        assert_eq!(name, "example.org._dnssec_keys");
        assert!(
            text.contains("\nkasp 1 csk ecdsap256sha256 active tag="),
            "{text}"
        );
        let again = [&files[..], &[f(name, text)]].concat();
        let (mut zs, _) = ZoneSet::load(&again, None);
        assert!(sign_at(&mut zs, &again, NOW + 5, 1).key_files.is_empty());
        // No key file: keys made, the zone signed, the key file handed
        // back to commit.
        let (mut zs, _) = ZoneSet::load(&files, None);
        let done = sign_at(&mut zs, &files, NOW, 1);
        let lines: Vec<&String> = done.lines.iter().map(|l| l.as_ref().unwrap()).collect();
        assert!(
            lines
                .iter()
                .any(|l| l.contains("csk ecdsap256sha256, #1): generated")),
            "{lines:?}"
        );
        assert!(lines.last().unwrap().starts_with("example.org: signed, "));
        assert!(crate::dnssec::signed_offline(zs.zone(&org).unwrap()));
        let (_, text) = &done.key_files[0];
        let keys = keyfile::parse("f", text).unwrap();
        assert_eq!(keys.len(), 1);
        assert!(
            text.contains(&format!(
                "kasp 1 csk ecdsap256sha256 published tag={} ",
                keys[0].tag()
            )),
            "{text}"
        );
    }

    /// The zone loaded from files, signed, then served: DO=1 answers carry
    /// RRSIGs, NXDOMAIN its NSEC proof; DO=0 answers none.
    #[test]
    fn a_loaded_zone_signed_is_served_signed() {
        let files = [f("example.org", ZONE), f("example.org._dnssec", "")];
        let (mut zs, rep) = ZoneSet::load(&files, None);
        assert!(rep.errors.is_empty(), "{:?}", rep.errors);
        let origin = Name::parse("example.org.", &Name::root()).unwrap();
        let setup = setup(&files, "example.org", NOW, &mut counter())
            .unwrap()
            .unwrap();
        let (_, signed) = sign_zone(zs.zone(&origin).unwrap(), setup, NOW, 7).unwrap();
        assert!(crate::dnssec::signed_offline(&signed));
        zs.insert(signed);
        let www = Name::parse("www.example.org.", &Name::root()).unwrap();
        let a = lookup(&zs, &www, A, AnyPolicy::One, true).unwrap();
        let types: Vec<u16> = a.answer.iter().map(|o| o.rtype).collect();
        assert_eq!(types, [A, RRSIG]);
        let plain = lookup(&zs, &www, A, AnyPolicy::One, false).unwrap();
        assert_eq!(plain.answer.len(), 1);
        let nope = Name::parse("nope.example.org.", &Name::root()).unwrap();
        let n = lookup(&zs, &nope, A, AnyPolicy::One, true).unwrap();
        assert_eq!(n.rcode, 3);
        let auth: Vec<u16> = n.authority.iter().map(|o| o.rtype).collect();
        assert!(auth.contains(&SOA) && auth.contains(&NSEC), "{auth:?}");
        assert_eq!(auth.iter().filter(|&&t| t == RRSIG).count(), auth.len() / 2);
    }
}
