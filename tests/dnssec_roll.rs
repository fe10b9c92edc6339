//! Keys made and rolled by the appliance (issue 26): a zone committed with
//! only a policy (`ZONE._dnssec`) gets its keys made in the image, is
//! served signed, and its key file (key lines + the rollover machine's
//! `kasp` lines) is kept (here in the storage cache: no git remote); the
//! ZSK rolls on a fast clock (the policy's own times: lifetime 30 s,
//! propagation 2 s, TTLs 3-5 s) by pre-publication, and at every step
//! delv, with the KSK as trust anchor, validates positive, NXDOMAIN and
//! NODATA answers (and dnsviz mid-rollover); a reboot on the same device
//! signs with the same keys.
//! With a git remote the key file is committed and pushed; an appliance
//! booted afresh from the remote signs with the same keys. A CSK rolls
//! (double signature, CDS for the parent): the test plays the parent,
//! taking the CDS as its DS set and telling the appliance with a NOTIFY
//! for the zone's DS; delv validates from the old DS until the old key
//! is gone and from the new DS once it is published.

mod common;
#[path = "common/dnssec.rs"]
mod shared;
use common::*;
use shared::*;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use xtask::sshd::{key, GitServer};

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
    let (viz, mut vizzed) = (have_program("dnsviz"), false);
    let until = Instant::now() + Duration::from_secs(75);
    while Instant::now() < until {
        let keys = dnskeys(&ns);
        most = most.max(keys.len());
        zsks.extend(keys.into_iter().filter(|(f, _)| f == "256").map(|(_, k)| k));
        let signed = (dir.as_path(), ZONE_NAME, anchor.as_str());
        failed.extend(validate_of(&ns, &at, signed, QUESTIONS));
        // The first KSK's CDS stands for the parent's DS: dnsviz, while
        // the next ZSK is pre-published.
        if let Some(ds) = cds(&ns).filter(|_| viz && most == 3 && !vizzed) {
            let grok = dnsviz(&ns, &dir, &ds);
            if !grok.contains("SECURE") || grok.contains("\"errors\"") {
                failed.push(format!("dnsviz from {ds}: {grok}"));
            }
            vizzed = true;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    assert_eq!(vizzed, viz, "dnsviz ran mid-rollover");
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

#[test]
fn keys_made_in_the_image_are_pushed_to_the_git_remote() {
    let t = "keys_made_in_the_image_are_pushed_to_the_git_remote";
    let tools = have_program("delv");
    if !kvm_or_skip(t) || !netns_or_skip(t) || !sshd_or_skip(t) || !needs(t, tools, "delv") {
        return;
    }
    let dir = peer_dir("dnssec-roll-git");
    let zone = zone_text();
    let policy = "algorithm ed25519\n";
    let ns = netns("dnssecgit");
    let seed = [0x5e; 32];
    let files = [(ZONE_NAME, zone.as_str()), ("roll.example._dnssec", policy)];
    let srv = GitServer::start(&ns, "dnssecgit", &key(seed).1, &files);
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(seed).0),
        format!("--ssh-authenticator={}", srv.fingerprint),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::boot(&ns, &args);
    g.wait_for("dnssec: roll.example: signed", T);
    g.wait_for("to main: roll.example._dnssec_keys", T);
    let file = srv.bare(&["show", "main:roll.example._dnssec_keys"]);
    assert!(file.contains("\ncsk ed25519 "), "the private key: {file}");
    assert!(
        file.contains("\nkasp 1 csk ed25519 published tag="),
        "the ring: {file}"
    );
    let anchor = ksk_anchor(&ns);
    let signed = (dir.as_path(), ZONE_NAME, anchor.as_str());
    let failed = validate_of(&ns, &["@10.0.0.2"], signed, QUESTIONS);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let log = srv.bare(&["log", "--format=%an <%ae>: %s", "main"]);
    assert!(
        log.contains("dnssec via gitns <gitns@10.0.0.2>: DNSSEC keys: roll.example._dnssec_keys"),
        "{log}"
    );

    // A fresh appliance (no storage) on the same remote: the same keys,
    // and nothing more to commit.
    drop(g);
    let g = Guest::boot(&ns, &args);
    g.wait_for("dnssec: roll.example: signed", T);
    assert_eq!(ksk_anchor(&ns), anchor, "the committed CSK");
    let failed = validate_of(&ns, &["@10.0.0.2"], signed, QUESTIONS);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    std::thread::sleep(Duration::from_secs(2));
    assert!(!g.output().contains("changed (keys made"), "{}", g.output());
    assert_eq!(srv.bare(&["log", "--format=%an <%ae>: %s", "main"]), log);
}

const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

/// The CDS served, as a trust anchor (`ds TAG ALG TYPE HEX`), if any.
fn cds(ns: &Netns) -> Option<String> {
    let out = dig(ns, &["+short", "+norec", ZONE_NAME, "CDS"]);
    let line = out.lines().next()?;
    Some(format!("ds {}", line.trim()))
}

/// The parent (the test) now serves `ds`: NOTIFY the appliance.
fn notify_ds(ns: &Netns, g: &Guest) {
    let key = format!("hmac-sha256:personal._update.{ZONE_NAME}:{SECRET}");
    let out = dig(
        ns,
        &[ZONE_NAME, "DS", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}\n{}", g.output());
}

/// dnsviz's view of the zone served at 10.0.0.2 under the DS `ds` (`ds
/// TAG ALG TYPE HEX`): `dnsviz probe` (authoritative analysis, the
/// delegation and DS given, nothing asked above the zone), then `dnsviz
/// grok`: what it printed (the zone "SECURE", no "errors" when fine).
fn dnsviz(ns: &Netns, dir: &std::path::Path, ds: &str) -> String {
    let probe = dir.join("probe.json");
    let probe = probe.to_str().unwrap();
    let f: Vec<&str> = ds.split_whitespace().collect();
    let ds = format!("{ZONE_NAME}:{} {} {} {}", f[1], f[2], f[3], f[4..].concat());
    let x = format!("{ZONE_NAME}:10.0.0.2");
    let n = format!("{ZONE_NAME}:ns1.{ZONE_NAME}=10.0.0.2");
    let args = [
        "probe", "-A", "-a", ZONE_NAME, "-x", &x, "-N", &n, "-D", &ds, "-o", probe, ZONE_NAME,
    ];
    let out = ns.command("dnsviz").args(args).output().expect("dnsviz");
    if !out.status.success() {
        return format!("dnsviz probe: {}", String::from_utf8_lossy(&out.stderr));
    }
    run_in(ns, "dnsviz", &["grok", "-P", "-r", probe])
}

#[test]
fn a_csk_rolls_with_the_parents_ds_while_delv_validates() {
    let t = "a_csk_rolls_with_the_parents_ds_while_delv_validates";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("delv"), "delv") {
        return;
    }
    let dir = peer_dir("dnssec-roll-csk");
    let zone = zone_text();
    let policy = "algorithm ed25519\nksk-lifetime 30\nvalidity 60\nrefresh 20\njitter 4\n\
        inception 5\ndnskey-ttl 3\npropagation-delay 2\nparent-ds-ttl 4\nparent-propagation-delay 2\n";
    let tsig = format!("personal._update.{ZONE_NAME}. DNSKEY 0 3 163 {SECRET}\n");
    let files = [
        (ZONE_NAME, zone.as_str()),
        ("roll.example._dnssec", policy),
        ("roll.example._keys", tsig.as_str()),
    ];
    let ns = netns("dnsseccsk");
    let g = Guest::boot_with_zones(&ns, &files, &["--ipv4=10.0.0.2/24"]);
    g.wait_for("dnssec: roll.example: signed", T);
    let at = ["@10.0.0.2"];
    // The first CSK's CDS: the parent takes it.
    let mut ds = Vec::new();
    eventually("the first CDS", T, || cds(&ns).is_some());
    ds.push(cds(&ns).unwrap());
    notify_ds(&ns, &g);
    g.wait_for("DS seen at the parent", T);
    eventually("the CDS withdrawn", T, || cds(&ns).is_none());
    let viz = have_program("dnsviz");
    if viz {
        let grok = dnsviz(&ns, &dir, &ds[0]);
        assert!(
            grok.contains("SECURE") && !grok.contains("\"errors\""),
            "{grok}"
        );
    }

    // The lifetime ends: a second CSK, its CDS; every DS the parent has
    // served keeps validating while its key is in the zone.
    let (mut failed, mut csks, mut notified) = (Vec::new(), BTreeSet::new(), false);
    // Until the old CSK is gone (the next rollover would start 30 s on).
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        let keys = dnskeys(&ns);
        if notified && keys.len() == 1 {
            break;
        }
        csks.extend(keys.iter().map(|(_, k)| k.clone()));
        if let Some(new) = cds(&ns).filter(|c| !ds.contains(c)) {
            ds.push(new);
        }
        // The parent serves the new DS, and says so once.
        if ds.len() == 2 && !notified {
            notify_ds(&ns, &g);
            notified = true;
        }
        let live: Vec<&String> = match keys.len() {
            1 => ds.last().into_iter().collect(),
            _ => ds.iter().collect(),
        };
        for anchor in live {
            let signed = (dir.as_path(), ZONE_NAME, anchor.as_str());
            let mut from_anchor = validate_of(&ns, &at, signed, QUESTIONS);
            // Mid-rollover (two CSKs), from each DS: dnsviz too.
            if viz && keys.len() == 2 {
                let grok = dnsviz(&ns, &dir, anchor);
                if !grok.contains("SECURE") || grok.contains("\"errors\"") {
                    from_anchor.push(format!("dnsviz from {anchor}: {grok}"));
                }
            }
            // The checks take seconds: an old DS whose key left the zone
            // while they ran (parent-ds-ttl + parent-propagation-delay
            // after the parent's switch, so no cache holds that DS) is no
            // failure. The new DS is always held to it.
            let removed_meanwhile = dnskeys(&ns).len() == 1 && ds.last() != Some(anchor);
            if !removed_meanwhile {
                failed.extend(from_anchor);
            }
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let out = g.output();
    assert!(failed.is_empty(), "{}\n{out}", failed.join("\n"));
    assert_eq!(ds.len(), 2, "a second CDS: {ds:?}\n{out}");
    assert!(csks.len() >= 2, "a second CSK: {csks:?}");
    assert_eq!(dnskeys(&ns).len(), 1, "the old CSK removed\n{out}");
    assert!(
        out.contains("retired") && out.contains("removed from the DNSKEY RRset"),
        "{out}"
    );
    let signed = (dir.as_path(), ZONE_NAME, ds[1].as_str());
    let failed = validate_of(&ns, &at, signed, QUESTIONS);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
