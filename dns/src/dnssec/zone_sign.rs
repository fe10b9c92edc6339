//! Between the repository and the signer (issue 26, the step the
//! appliance calls on load): a zone's policy and keys from the files of a
//! commit ([`setup`]: keys the policy needs are made from the CSPRNG passed
//! in, and the key file's new text is handed back to commit), and a loaded
//! [`Zone`] signed whole into the zone that is served ([`sign_zone`]).
//! The returned [`Signer`] keeps the zone signed after that (changes,
//! refresh).

use super::key::Key;
use super::keyfile;
use super::policy::{self, Policy, KEYS_SUFFIX, POLICY_SUFFIX};
use super::signer::{SignError, Signer};
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

/// The setup of zone `zone` (its file name) from `files`: None when it
/// has no policy file (it is not signed by gitns), an error naming the
/// file and line when its policy or key file is broken.
pub fn setup(
    files: &[(String, Vec<u8>)],
    zone: &str,
    now: u64,
    random: &mut dyn FnMut(&mut [u8]),
) -> Option<Result<Setup, String>> {
    let pname = format!("{zone}{POLICY_SUFFIX}");
    let ptext = text(files, &pname)?;
    Some(ptext.and_then(|p| {
        let policy = policy::parse(&pname, p).map_err(|e| format!("{e}"))?;
        let kname = format!("{zone}{KEYS_SUFFIX}");
        let mut keys = match text(files, &kname) {
            Some(t) => keyfile::parse(&kname, t?).map_err(|e| format!("{e}"))?,
            None => Vec::new(),
        };
        let made = keyfile::complete(&policy, &mut keys, now, random)
            .map_err(|e| format!("{kname}: {e}"))?;
        let keys_made = made.then(|| keyfile::print(zone, &keys));
        Ok(Setup {
            policy,
            keys,
            keys_made,
        })
    }))
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
    let mut b = crate::zone::ZoneBuilder::new(zone.origin.clone());
    s.for_each(&mut |r| {
        b.add(
            r.owner,
            r.rtype,
            r.ttl,
            r.rdata,
            crate::zone::Src::default(),
        );
    });
    Ok((s, b.finish()))
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
