//! The signer with explicit time: what a zone signed from scratch holds,
//! and that a change signed incrementally gives exactly the zone signed
//! from scratch after it (ECDSA here is deterministic, see key.rs, so the
//! signatures match too), for NSEC, NSEC3 and NSEC3 with opt-out.

use super::*;
use crate::dnssec::key::{Algorithm, Role};
use crate::dnssec::keyfile;
use crate::dnssec::policy::Denial;
use crate::rtype::{A, DS, NS, SOA};
use crate::zone::parser::parse_str;
use alloc::format;
use alloc::string::String;

const NOW: u64 = 1_796_000_000;

const ZONE: &str = "$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
ns1 A 10.0.0.2
www A 192.0.2.3
*.wild TXT \"w\"
a.b.ent TXT \"deep\"
insecure NS ns.insecure
ns.insecure A 192.0.2.53
secure NS ns.secure
secure DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
";

fn origin() -> Name {
    Name::parse("example.", &Name::root()).unwrap()
}

fn records(text: &str) -> Vec<Record> {
    let text = format!("$TTL 3600\n{text}");
    parse_str("example", &text, &origin()).unwrap().records
}

fn signer(denial: Denial, csk: bool) -> Signer {
    let policy = Policy {
        denial,
        csk,
        ..Policy::default()
    };
    let mut keys = Vec::new();
    let mut n = 0u8;
    let mut random = |b: &mut [u8]| {
        n += 1;
        b.fill(n)
    };
    keyfile::complete(&policy, &mut keys, NOW, &mut random).unwrap();
    Signer::new(origin(), policy, keys, 42).unwrap()
}

/// The signed zone as text lines, in order.
fn dump(s: &Signer) -> Vec<String> {
    let mut out = Vec::new();
    s.for_each(&mut |r| {
        out.push(format!(
            "{} {} {} {}",
            r.owner,
            r.ttl,
            crate::rtype::to_text(r.rtype),
            crate::rdata::to_text_rdata(r.rtype, r.rdata)
        ))
    });
    out
}

fn lines_of<'a>(d: &'a [String], t: &str) -> Vec<&'a str> {
    d.iter()
        .filter(|l| l.split(' ').nth(2) == Some(t))
        .map(|l| l.as_str())
        .collect()
}

#[test]
fn nsec_zone_signed_from_scratch() {
    let mut s = signer(Denial::Nsec, true);
    s.load(&records(ZONE), NOW);
    let d = dump(&s);
    let nsec = lines_of(&d, "NSEC");
    assert_eq!(
        nsec,
        [
            "example. 300 NSEC a.b.ent.example. NS SOA RRSIG NSEC DNSKEY",
            "a.b.ent.example. 300 NSEC insecure.example. TXT RRSIG NSEC",
            "insecure.example. 300 NSEC ns1.example. NS RRSIG NSEC",
            "ns1.example. 300 NSEC secure.example. A RRSIG NSEC",
            "secure.example. 300 NSEC *.wild.example. NS DS RRSIG NSEC",
            "*.wild.example. 300 NSEC www.example. TXT RRSIG NSEC",
            "www.example. 300 NSEC example. A RRSIG NSEC",
        ]
    );
    let sigs = lines_of(&d, "RRSIG");
    let covered: Vec<String> = sigs
        .iter()
        .map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            format!("{} {} {}", f[0], f[3], f[5])
        })
        .collect();
    // Nothing at delegations but DS and NSEC; nothing for glue; the
    // wildcard's labels field leaves out the `*` (RFC 4034 3.1.3).
    assert!(
        covered.contains(&"*.wild.example. TXT 2".into()),
        "{covered:?}"
    );
    assert!(covered.contains(&"secure.example. DS 2".into()));
    assert!(!covered.iter().any(|c| c.starts_with("secure.example. NS ")));
    assert!(!covered.iter().any(|c| c.starts_with("ns.insecure")));
    assert_eq!(sigs.len(), 15, "{sigs:#?}");
    let dnskey = lines_of(&d, "DNSKEY");
    assert_eq!(dnskey.len(), 1);
    assert!(dnskey[0].starts_with("example. 3600 DNSKEY 257 3 13 "));
}

#[test]
fn nsec3_chain_has_empty_non_terminals_and_opt_out_leaves_insecure_cuts() {
    let mut s = signer(Denial::Nsec3 { opt_out: false }, false);
    s.load(&records(ZONE), NOW);
    let d = dump(&s);
    // apex, ns1, www, wild, *.wild, ent, b.ent, a.b.ent, insecure, secure.
    assert_eq!(lines_of(&d, "NSEC3").len(), 10);
    assert_eq!(
        lines_of(&d, "NSEC3PARAM"),
        ["example. 300 NSEC3PARAM 1 0 0 -"]
    );
    assert_eq!(lines_of(&d, "DNSKEY").len(), 2, "a KSK and a ZSK");
    let mut o = signer(Denial::Nsec3 { opt_out: true }, true);
    o.load(&records(ZONE), NOW);
    let d = dump(&o);
    let n3 = lines_of(&d, "NSEC3");
    assert_eq!(n3.len(), 9, "insecure. left out: {n3:#?}");
    assert!(n3.iter().all(|l| l.contains(" NSEC3 1 1 0 - ")));
}

/// Sign ZONE, apply a change, and compare with ZONE + change signed
/// from scratch.
fn incremental_equals_scratch(denial: Denial) {
    let before = records(ZONE);
    let removed = records("www A 192.0.2.3\nsecure DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\na.b.ent TXT \"deep\"\n");
    let added = records(
        "new A 192.0.2.9\nx.y.z TXT \"ent\"\ninsecure DS 1 13 2 00112233\nwww AAAA 2001:db8::1\n",
    );
    let mut s = signer(denial, true);
    s.load(&before, NOW);
    let changed = s.change(&removed, &added, NOW + 60);
    let mut after: Vec<Record> = before
        .iter()
        .filter(|r| {
            !removed
                .iter()
                .any(|x| x.name == r.name && x.rtype == r.rtype && x.rdata == r.rdata)
        })
        .cloned()
        .collect();
    after.extend(added.iter().cloned());
    let mut fresh = signer(denial, true);
    fresh.load(&after, NOW);
    // The RRsets signed at NOW + 60 differ in their times: compare the
    // records without RRSIG times, then the RRSIGs of untouched sets.
    let strip = |d: Vec<String>| -> Vec<String> {
        d.into_iter()
            .map(|l| match l.split(' ').nth(2) {
                Some("RRSIG") => l.split(' ').take(6).collect::<Vec<_>>().join(" "),
                _ => l,
            })
            .collect()
    };
    assert_eq!(strip(dump(&s)), strip(dump(&fresh)));
    let untouched = |d: &[String]| -> Vec<String> {
        d.iter()
            .filter(|l| l.starts_with("ns1.example. 3600 RRSIG"))
            .cloned()
            .collect()
    };
    assert_eq!(untouched(&dump(&s)), untouched(&dump(&fresh)));
    for n in &changed {
        assert!(!n.to_text().starts_with("ns1."), "ns1 is not touched");
    }
}

#[test]
fn incremental_nsec_equals_from_scratch() {
    incremental_equals_scratch(Denial::Nsec);
}

#[test]
fn incremental_nsec3_equals_from_scratch() {
    incremental_equals_scratch(Denial::Nsec3 { opt_out: false });
    incremental_equals_scratch(Denial::Nsec3 { opt_out: true });
}

/// In a zone of 150 hosts, adding one name changes that name, the chain
/// record before it (NSEC3: and the owners of the NSEC3s around its hash)
/// and the SOA-less rest not at all.
/// A load (from scratch, without a change's bookkeeping) gives exactly
/// the zone a change from an empty signer gives, keys, chain and
/// signatures, for every denial and both key layouts; and the names are
/// all returned.
#[test]
fn a_load_signs_as_a_change_from_nothing() {
    let mut text = String::from(ZONE);
    for i in 0..40 {
        text.push_str(&format!("h{i}.e{} A 192.0.2.{i}\nd{i} NS ns.d{i}\n", i % 3));
    }
    let denials = [
        Denial::Nsec,
        Denial::Nsec3 { opt_out: false },
        Denial::Nsec3 { opt_out: true },
    ];
    for denial in denials {
        for csk in [true, false] {
            let mut loaded = signer(denial, csk);
            let owners = loaded.load(&records(&text), NOW);
            let mut changed = signer(denial, csk);
            let names = changed.change(&[], &records(&text), NOW);
            assert_eq!(dump(&loaded), dump(&changed), "{denial:?} csk {csk}");
            assert_eq!(owners, names.len());
            // Kept signed afterwards as any signer: a change is the same.
            let add = records("h9x A 192.0.2.9\n");
            let a = loaded.change(&[], &add, NOW + 60);
            let b = changed.change(&[], &add, NOW + 60);
            assert_eq!(a, b);
            assert_eq!(dump(&loaded), dump(&changed));
        }
    }
}

#[test]
fn a_change_touches_only_its_neighbourhood() {
    let mut text = String::from(ZONE);
    for i in 0..150 {
        text.push_str(&format!("h{i} A 192.0.2.{}\n", i % 250));
    }
    for denial in [Denial::Nsec, Denial::Nsec3 { opt_out: false }] {
        let mut s = signer(denial, true);
        let all = s.load(&records(&text), NOW);
        assert!(all > 150);
        let changed = s.change(&[], &records("h75x A 192.0.2.1\n"), NOW);
        let names: Vec<String> = changed.iter().map(|n| n.to_text()).collect();
        assert!(names.contains(&"h75x.example.".into()), "{names:?}");
        let most = if denial == Denial::Nsec { 2 } else { 3 };
        assert!(changed.len() <= most, "{denial:?}: {names:?}");
    }
}

#[test]
fn a_new_delegation_occludes_and_unsigns_below_it() {
    let mut s = signer(Denial::Nsec, true);
    s.load(&records(ZONE), NOW);
    s.change(&[], &records("www NS ns.elsewhere.\n"), NOW);
    let d = dump(&s);
    assert!(
        d.contains(&"www.example. 300 NSEC example. NS RRSIG NSEC".into()),
        "{d:#?}"
    );
    assert!(!d.iter().any(|l| l.starts_with("www.example. 3600 RRSIG")));
    s.change(&records("www NS ns.elsewhere.\n"), &[], NOW);
    let d = dump(&s);
    assert!(d.contains(&"www.example. 300 NSEC example. A RRSIG NSEC".into()));
    assert_eq!(
        d.iter()
            .filter(|l| l.starts_with("www.example. 3600 RRSIG"))
            .count(),
        1
    );
}

#[test]
fn refresh_resigns_before_expiry_with_jitter() {
    let mut s = signer(Denial::Nsec, true);
    s.load(&records(ZONE), NOW);
    let p = Policy::default();
    let first = s.next_refresh(NOW).unwrap();
    let span = p.validity as u64 - p.refresh as u64;
    assert!(
        first >= NOW + span - p.jitter as u64 && first <= NOW + span,
        "{first}"
    );
    let mut exps: Vec<u64> = Vec::new();
    s.for_each(&mut |r| {
        if r.rtype == RRSIG {
            exps.push(canon::expiration(r.rdata, NOW));
        }
    });
    exps.sort();
    exps.dedup();
    assert!(exps.len() > 5, "expirations spread: {exps:?}");
    assert!(
        s.refresh(NOW + 86_400).is_empty(),
        "nothing due a day later"
    );
    let changed = s.refresh(first);
    assert!(!changed.is_empty());
    let next = s.next_refresh(first).unwrap();
    assert!(
        next > first,
        "the earliest were made again: {next} > {first}"
    );
    // A round takes the whole generation, not only the first expiration.
    assert!(next >= first + span - p.jitter as u64, "{next}");
    // Two weeks on, every signature was made again.
    let late = NOW + 14 * 86_400;
    s.refresh(late);
    let mut oldest = u64::MAX;
    s.for_each(&mut |r| {
        if r.rtype == RRSIG {
            oldest = oldest.min(canon::expiration(r.rdata, late));
        }
    });
    assert!(oldest > late + p.refresh as u64);
}

#[test]
fn out_of_zone_and_generated_records_are_ignored() {
    let mut s = signer(Denial::Nsec, true);
    let mut recs = records(ZONE);
    let other = Name::parse("other.", &Name::root()).unwrap();
    recs.push(Record {
        name: other,
        ..recs[0].clone()
    });
    let mut nsec = recs[0].clone();
    nsec.rtype = NSEC;
    recs.push(nsec);
    s.load(&recs, NOW);
    let d = dump(&s);
    assert!(!d.iter().any(|l| l.starts_with("other.")));
    assert_eq!(lines_of(&d, "NSEC").len(), 7);
    assert!(s.sep_keys()[0].starts_with(&[1, 1, 3, 13]));
    let _ = (A, DS, NS, SOA, Role::Csk, Algorithm::Ed25519);
}

/// `cds always`: CDS and CDNSKEY of the KSK at the apex, signed by it
/// (RFC 7344 4.1), listed in the apex's NSEC; the CDS is the KSK's DS.
#[test]
fn cds_and_cdnskey_name_the_ksk() {
    let policy = Policy {
        csk: false,
        cds: true,
        ..Policy::default()
    };
    let mut keys = Vec::new();
    let mut n = 0u8;
    keyfile::complete(&policy, &mut keys, NOW, &mut |b: &mut [u8]| {
        n += 1;
        b.fill(n)
    })
    .unwrap();
    let ksk = keys.iter().find(|k| k.role == Role::Ksk).unwrap();
    let (ds, ksk_tag) = (ksk.ds(&origin()), ksk.tag());
    let mut s = Signer::new(origin(), policy, keys, 1).unwrap();
    s.load(&records(ZONE), NOW);
    let mut seen = Vec::new();
    s.for_each_at(&origin(), &mut |r| seen.push((r.rtype, r.rdata.to_vec())));
    assert!(seen.contains(&(crate::rtype::CDS, ds)));
    assert!(seen
        .iter()
        .any(|(t, rd)| *t == crate::rtype::CDNSKEY && rd[..2] == [1, 1]));
    for covered in [crate::rtype::CDS, crate::rtype::CDNSKEY] {
        let sigs: Vec<&Vec<u8>> = seen
            .iter()
            .filter(|(t, rd)| *t == RRSIG && rd[..2] == covered.to_be_bytes())
            .map(|(_, rd)| rd)
            .collect();
        assert_eq!(sigs.len(), 1);
        assert_eq!(sigs[0][16..18], ksk_tag.to_be_bytes(), "signed by the KSK");
    }
    let d = dump(&s);
    assert!(
        lines_of(&d, "NSEC")[0].ends_with("NS SOA RRSIG NSEC DNSKEY CDS CDNSKEY"),
        "{d:?}"
    );
}

#[test]
fn missing_keys_are_refused() {
    let policy = Policy::default();
    assert_eq!(
        Signer::new(origin(), policy, Vec::new(), 0).err(),
        Some(SignError::NoKey)
    );
}
