//! Zones signed by gitns's own signer (issue 26, second step) through
//! `gitns sign`: one with NSEC and an ECDSAP256SHA256 CSK (the default
//! policy), one with NSEC3 (no salt, 0 iterations) and an ED25519 KSK and
//! ZSK, one with NSEC3 opt-out. `ldns-verify-zone` accepts all three;
//! Knot serves them and `delv`, with the trust anchor `gitns sign`
//! printed, validates positive, NXDOMAIN, NODATA, wildcard, CNAME and DS
//! answers (opt-out: delv's verdict on each equals its verdict on Knot's
//! signing). The control: Knot signing the same zones itself with the
//! same policies (`dnssec-signing`) answers the same DO=1 questions with
//! the same records, signatures, key material and the SOA serial aside.

mod common;
#[path = "common/dnssec.rs"]
mod shared;
use common::*;
use shared::*;
use std::path::Path;
use std::time::Duration;

/// (zone, gitns policy file, Knot policy lines).
const ZONES: [(&str, &str, &str); 3] = [
    ("nsec.example", "", "    single-type-signing: on\n"),
    (
        "nsec3.example",
        "algorithm ed25519\ndenial nsec3\nkeys ksk+zsk\ncds always\n",
        "    algorithm: ed25519\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    cds-cdnskey-publish: always\n",
    ),
    (
        "optout.example",
        "denial nsec3-opt-out\n",
        "    single-type-signing: on\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    nsec3-opt-out: on\n",
    ),
];

/// Port of the Knot that signs itself (the one serving gitns's output is
/// on 53).
const CONTROL: &str = "5300";

struct Signed {
    zone: &'static str,
    /// The trust anchor: `257 3 ALG BASE64`.
    ksk: String,
}

/// Sign [`ZONE`] as `zone` with `gitns sign` into `zone.signed`.
fn sign(dir: &Path, zone: &'static str, policy: &str) -> Signed {
    std::fs::write(dir.join(zone), format!("$ORIGIN {zone}.\n{ZONE}")).unwrap();
    if !policy.is_empty() {
        std::fs::write(dir.join(format!("{zone}._dnssec")), policy).unwrap();
    }
    let out = std::process::Command::new(tools_bin())
        .current_dir(dir)
        .args(["sign", zone, "--out", &format!("{zone}.signed")])
        .output()
        .expect("gitns sign");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "gitns sign {zone}: {err}");
    let keys = std::fs::read_to_string(dir.join(format!("{zone}._dnssec_keys"))).unwrap();
    assert!(keys.lines().count() >= 2, "the keys were written: {keys}");
    let anchor = err
        .lines()
        .find_map(|l| l.split(" DNSKEY ").nth(1))
        .unwrap_or_else(|| panic!("no trust anchor printed: {err}"));
    let ds = err.lines().find_map(|l| l.split(" DS ").nth(1));
    let ds = ds.unwrap_or_else(|| panic!("no DS printed: {err}"));
    let text = std::fs::read_to_string(dir.join(format!("{zone}.signed"))).unwrap();
    if policy.contains("cds always") {
        let cds = format!("\tCDS\t{ds}");
        assert!(text.contains(&cds), "the CDS is the DS: {cds}");
    }
    let v = run_ok(dir, "ldns-verify-zone", &[&format!("{zone}.signed")]);
    assert!(v.contains("Zone is verified and complete"), "{v}");
    Signed {
        zone,
        ksk: anchor.trim().to_string(),
    }
}

/// Knot serving the zones gitns signed (port 53) and Knot signing the
/// unsigned zones itself (port [`CONTROL`]).
fn knots(ns: &Netns, dir: &Path) -> (Daemon, Daemon) {
    let conf = |port: &str, d: &Path, signing: bool| {
        let mut c = format!(
            "server:\n  listen: 10.0.0.1@{port}\n  rundir: {d}\n  user: root\n\
             database:\n  storage: {d}\n",
            d = d.display()
        );
        if signing {
            c.push_str("policy:\n");
            for (zone, _, knot) in ZONES {
                let cds = match knot.contains("cds-cdnskey") {
                    true => "",
                    false => "    cds-cdnskey-publish: none\n",
                };
                c.push_str(&format!("  - id: {zone}\n{cds}{knot}"));
            }
        }
        c.push_str("zone:\n");
        for (zone, _, _) in ZONES {
            let file = if signing {
                zone.to_string()
            } else {
                format!("{zone}.signed")
            };
            std::fs::copy(dir.join(&file), d.join(&file)).unwrap();
            c.push_str(&format!(
                "  - domain: {zone}\n    file: {file}\n    storage: {d}\n    semantic-checks: off\n    journal-content: none\n",
                d = d.display()
            ));
            if signing {
                c.push_str(&format!(
                    "    dnssec-signing: on\n    dnssec-policy: {zone}\n"
                ));
            }
        }
        c
    };
    let (a, b) = (
        peer_dir("dnssec-sign-serve"),
        peer_dir("dnssec-sign-control"),
    );
    let serve = spawn_knot(ns, a.clone(), &conf("53", &a, false));
    let control = spawn_knot(ns, b.clone(), &conf(CONTROL, &b, true));
    for (port, zone) in [
        ("53", "nsec3.example"),
        (CONTROL, "nsec3.example"),
        (CONTROL, "nsec.example"),
    ] {
        wait_signed(ns, port, zone);
    }
    (serve, control)
}

/// Wait until the Knot on `port` answers `zone`'s DNSKEY.
fn wait_signed(ns: &Netns, port: &str, zone: &str) {
    for _ in 0..200 {
        let q = [
            "@10.0.0.1",
            "-p",
            port,
            "+time=1",
            "+tries=1",
            "+short",
            zone,
            "DNSKEY",
        ];
        if run_in(ns, "dig", &q).contains(" 3 ") {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("knotd on {port} has no DNSKEY for {zone}");
}

/// The KSK (or CSK) of the zone Knot signed itself: its trust anchor.
fn control_anchor(ns: &Netns, zone: &str) -> String {
    let q = ["@10.0.0.1", "-p", CONTROL, "+short", zone, "DNSKEY"];
    let out = run_in(ns, "dig", &q);
    let key = out.lines().find(|l| l.starts_with("257 3 "));
    key.unwrap_or_else(|| panic!("no KSK from Knot: {out}"))
        .to_string()
}

/// The answer without what two signers may differ in: RRSIGs, the key
/// material of DNSKEYs (flags, protocol and algorithm stay) and the SOA
/// serial (Knot raises it when it signs).
fn comparable(out: &str) -> Norm {
    let mut n = normalise(out);
    for s in &mut n.sections {
        *s = std::mem::take(s)
            .into_iter()
            .filter(|l| l.split(' ').nth(3) != Some("RRSIG"))
            .map(|l| {
                let f: Vec<&str> = l.split(' ').collect();
                match f.get(3) {
                    Some(&"DNSKEY") | Some(&"CDNSKEY") => f[..7].join(" "),
                    // The key tag and digest differ with the key.
                    Some(&"CDS") => [&f[..4], &f[5..7]].concat().join(" "),
                    Some(&"SOA") => [&f[..6], &f[7..]].concat().join(" "),
                    _ => l,
                }
            })
            .collect();
    }
    n
}

fn compare(ns: &Netns, zone: &str, diffs: &mut Vec<String>) -> usize {
    let mut asked = 0;
    for (rel, t) in COMPARE.iter().chain(&[("", "CDS"), ("", "CDNSKEY")]) {
        let name = fqdn(rel, zone);
        let q = [
            "@10.0.0.1",
            "+norec",
            "+time=2",
            "+tries=2",
            "+dnssec",
            &name,
            t,
        ];
        let g = run_in(ns, "dig", &q);
        let k = run_in(ns, "dig", &[&q[..], &["-p", CONTROL]].concat());
        let (gn, kn) = (comparable(&g), comparable(&k));
        asked += 1;
        if kn != gn {
            diffs.push(format!("{name} {t}\n knot:  {kn:?}\n gitns: {gn:?}"));
        }
    }
    asked
}

#[test]
fn zones_signed_by_gitns_validate_and_answer_like_knot_signing() {
    let t = "zones_signed_by_gitns_validate_and_answer_like_knot_signing";
    if !netns_or_skip(t) {
        return;
    }
    for p in ["ldns-verify-zone", "delv", "knotd"] {
        if !needs(t, have_program(p), p) {
            return;
        }
    }
    let dir = peer_dir("dnssec-gitns-sign");
    let signed: Vec<Signed> = ZONES.iter().map(|(z, p, _)| sign(&dir, z, p)).collect();
    let ns = netns("dnssecsign");
    let _knots = knots(&ns, &dir);
    let mut failed = Vec::new();
    for s in &signed[..2] {
        failed.extend(validate(&ns, &["@10.0.0.1"], &dir, s.zone, &s.ksk));
    }
    // Opt-out: a wildcard answer whose next closer name falls in an
    // opt-out span is insecure (RFC 5155 9.2): delv must say of each
    // answer what it says of Knot's signing of the same zone.
    let optout = &signed[2];
    let ours = verdicts(&ns, &["@10.0.0.1"], &dir, optout.zone, &optout.ksk);
    let knots = verdicts(
        &ns,
        &["@10.0.0.1", "-p", CONTROL],
        &dir,
        optout.zone,
        &control_anchor(&ns, optout.zone),
    );
    for ((q, mine, out), (_, theirs, kout)) in ours.iter().zip(&knots) {
        if mine != theirs || theirs == "?" {
            failed.push(format!(
                "delv {q}: {mine:?}, of Knot's signing {theirs:?}\n{out}\n{kout}"
            ));
        }
    }
    assert!(
        ours.iter()
            .filter(|v| v.1.contains("fully validated"))
            .count()
            >= 10,
        "{ours:?}"
    );
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let (mut diffs, mut asked) = (Vec::new(), 0);
    for s in &signed {
        asked += compare(&ns, s.zone, &mut diffs);
    }
    assert!(asked >= 60, "only {asked} questions");
    assert!(
        diffs.is_empty(),
        "{} of {asked} answers differ from Knot's signing:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// The appliance signs a zone whose policy and keys are among its files
/// as it loads it (here from the storage cache): delv with the zone's CSK
/// validates every question against the booted image. A zone with a
/// policy and no keys gets keys made in the image and is served signed
/// (delv with its KSK as served validates it too).
#[test]
fn the_appliance_signs_a_zone_with_a_policy_as_it_loads() {
    let t = "the_appliance_signs_a_zone_with_a_policy_as_it_loads";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("delv"), "delv") {
        return;
    }
    let dir = peer_dir("dnssec-appliance-sign");
    let zone = "signed.example";
    let policy = "denial nsec3\n";
    let s = sign(&dir, zone, policy);
    let text = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap();
    let (zone_text, keys_name) = (text(zone), format!("{zone}._dnssec_keys"));
    let keys = text(&keys_name);
    let bare = format!("$ORIGIN nokeys.example.\n{ZONE}");
    let files = [
        (zone, zone_text.as_str()),
        ("signed.example._dnssec", policy),
        (keys_name.as_str(), keys.as_str()),
        ("nokeys.example", bare.as_str()),
        ("nokeys.example._dnssec", policy),
    ];
    let ns = netns("dnssecboot");
    let g = Guest::boot_with_zones(&ns, &files, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", Duration::from_secs(20));
    g.wait_for("dnssec: signed.example: signed", Duration::from_secs(1));
    g.wait_for("dnssec: nokeys.example: signed", Duration::from_secs(1));
    let out = g.output();
    assert!(out.contains("nokeys.example: key "), "its keys made: {out}");
    let failed = validate(&ns, &["@10.0.0.2"], &dir, zone, &s.ksk);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let keys = dig(&ns, &["+short", "+norec", "nokeys.example", "DNSKEY"]);
    let anchor = keys.lines().find(|l| l.starts_with("257 3 13 "));
    let anchor = anchor.unwrap_or_else(|| panic!("no CSK served: {keys}"));
    let failed = validate(&ns, &["@10.0.0.2"], &dir, "nokeys.example", anchor);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}
