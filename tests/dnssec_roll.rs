//! Keys made and rolled by the appliance (issue 26): a zone committed with
//! only a policy (`ZONE._dnssec`) gets its keys made in the image, is
//! served signed, and its key file (key lines + the rollover machine's
//! `kasp` lines) is kept (here in the storage cache: no git remote); the
//! ZSK rolls on a fast clock (the policy's own times: lifetime 30 s,
//! propagation 2 s, TTLs 3-5 s) by pre-publication, and at every step
//! delv, with the KSK as trust anchor, validates positive, NXDOMAIN and
//! NODATA answers; a reboot on the same device signs with the same keys.

mod common;
#[path = "common/dnssec.rs"]
mod shared;
use common::*;
use shared::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const ZONE_NAME: &str = "roll.example";
const POLICY: &str = "algorithm ed25519\nkeys ksk+zsk\nvalidity 60\nrefresh 20\njitter 4\n\
inception 5\nzsk-lifetime 30\ndnskey-ttl 3\npropagation-delay 2\nparent-ds-ttl 4\n\
parent-propagation-delay 2\n";

/// What delv must validate at every step.
const QUESTIONS: &[(&str, &str, bool)] = &[
    ("", "SOA", false),
    ("", "DNSKEY", false),
    ("www", "A", false),
    ("x.wild", "TXT", false),
    ("nope", "A", true),
    ("www", "TXT", true),
];

/// The zone of the DNSSEC tests with TTLs of 5 s (the rollover waits on
/// the largest).
fn zone_text() -> String {
    let z = ZONE
        .replace("$TTL 3600", "$TTL 5")
        .replace("1209600 300", "1209600 5");
    format!("$ORIGIN {ZONE_NAME}.\n{z}")
}

/// The DNSKEY RRset served: (flags, key) of each key.
fn dnskeys(ns: &Netns) -> Vec<(String, String)> {
    let out = dig(ns, &["+short", "+norec", ZONE_NAME, "DNSKEY"]);
    out.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4).then(|| (f[0].to_string(), f[3..].concat()))
        })
        .collect()
}

fn ksk_anchor(ns: &Netns) -> String {
    let keys = dnskeys(ns);
    let ksk = keys.iter().find(|(f, _)| f == "257");
    let (_, key) = ksk.unwrap_or_else(|| panic!("no KSK served: {keys:?}"));
    format!("257 3 15 {key}")
}

#[test]
fn keys_made_kept_and_the_zsk_rolled_while_delv_validates() {
    let t = "keys_made_kept_and_the_zsk_rolled_while_delv_validates";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("delv"), "delv") {
        return;
    }
    let dir = peer_dir("dnssec-roll");
    let zone = zone_text();
    let files = [(ZONE_NAME, zone.as_str()), ("roll.example._dnssec", POLICY)];
    let ns = netns("dnssecroll");
    let dev = zone_device(&ns, &files);
    let args = ["--ipv4=10.0.0.2/24"];
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for(" ready", T);
    g.wait_for("dnssec: roll.example: signed", Duration::from_secs(1));
    g.wait_for("roll.example._dnssec_keys kept in the zone cache", T);
    let anchor = ksk_anchor(&ns);
    let at = ["@10.0.0.2"];

    // Two ZSK lifetimes and a bit: delv validates every few seconds.
    let (mut failed, mut zsks, mut most) = (Vec::new(), BTreeSet::new(), 0);
    let until = Instant::now() + Duration::from_secs(75);
    while Instant::now() < until {
        let keys = dnskeys(&ns);
        most = most.max(keys.len());
        zsks.extend(keys.into_iter().filter(|(f, _)| f == "256").map(|(_, k)| k));
        let signed = (dir.as_path(), ZONE_NAME, anchor.as_str());
        failed.extend(validate_of(&ns, &at, signed, QUESTIONS));
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let out = g.output();
    assert!(zsks.len() >= 3, "two ZSK rollovers: {zsks:?}\n{out}");
    assert_eq!(most, 3, "the next ZSK pre-published beside the two");
    assert!(out.contains("removed from the DNSKEY RRset"), "{out}");
    assert!(out.contains("key step signed in, serial"), "{out}");
    assert_eq!(ksk_anchor(&ns), anchor, "the KSK stays");

    // The key file is in the storage cache; a reboot signs with its keys.
    let served = dnskeys(&ns);
    drop(g);
    let raw = std::fs::read(&dev).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains("\nkasp 1 ksk ed25519 "), "the ring kept");
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for(" ready", T);
    g.wait_for("dnssec: roll.example: signed", Duration::from_secs(1));
    assert_eq!(ksk_anchor(&ns), anchor, "the same KSK after the reboot");
    let again = dnskeys(&ns);
    let zsk_now: Vec<&(String, String)> = again.iter().filter(|(f, _)| f == "256").collect();
    assert!(
        zsk_now.iter().any(|k| served.contains(k)),
        "a ZSK served before the reboot: {served:?} -> {again:?}"
    );
    let signed = (dir.as_path(), ZONE_NAME, anchor.as_str());
    let failed = validate_of(&ns, &at, signed, QUESTIONS);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
