//! Serving zones signed offline (issue 26, first step): two zones signed
//! here with ldns-signzone (NSEC; NSEC3 with no salt and 0 iterations,
//! RFC 9276) are served by the booted image. `delv` with each zone's KSK
//! as trust anchor validates positive, NXDOMAIN, NODATA, wildcard, CNAME
//! and DS answers; `ldns-verify-zone` accepts the AXFR; Knot serving the
//! same signed files answers the same DO=1 questions (referrals, DS and
//! their denials, DNAME, additional data) with the same records.

mod common;
#[path = "common/dnssec.rs"]
mod shared;
use common::*;
use shared::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

/// The zones: (name, NSEC3).
const ZONES: [(&str, bool); 2] = [("nsec.example", false), ("nsec3.example", true)];

struct Signed {
    zone: &'static str,
    text: String,
    /// The KSK's DNSKEY RDATA: `257 3 13 BASE64`.
    ksk: String,
}

/// Sign [`ZONE`] as `zone` with a fresh KSK and ZSK (ECDSAP256SHA256).
fn sign(dir: &Path, zone: &'static str, nsec3: bool) -> Signed {
    std::fs::write(dir.join(zone), format!("$ORIGIN {zone}.\n{ZONE}")).unwrap();
    let keygen = |ksk: bool| {
        let mut a = vec!["-a", "ECDSAP256SHA256", "-r", "/dev/urandom"];
        if ksk {
            a.push("-k");
        }
        a.push(zone);
        run_ok(dir, "ldns-keygen", &a).trim().to_string()
    };
    let (ksk, zsk) = (keygen(true), keygen(false));
    let signed = format!("{zone}.signed");
    let mut a = vec!["-f", &signed];
    if nsec3 {
        a.extend(["-n", "-t", "0"]);
    }
    a.extend([zone, &ksk, &zsk]);
    run_ok(dir, "ldns-signzone", &a);
    let key = std::fs::read_to_string(dir.join(format!("{ksk}.key"))).unwrap();
    let rdata = key.split("DNSKEY").nth(1).expect("a DNSKEY line");
    Signed {
        zone,
        text: std::fs::read_to_string(dir.join(&signed)).unwrap(),
        ksk: rdata.split(';').next().unwrap().trim().to_string(),
    }
}

/// The AXFR through dig, as a zone file (the closing SOA left out), to
/// ldns-verify-zone.
fn verify_axfr(ns: &Netns, dir: &Path, zone: &str) -> String {
    let out = dig(ns, &[zone, "AXFR", "+nocmd", "+nostats", "+nocomments"]);
    let mut lines: Vec<&str> = out
        .lines()
        .filter(|l| !l.starts_with(';') && !l.trim().is_empty())
        .collect();
    assert!(lines.len() > 30, "AXFR of {zone}: {out}");
    lines.pop();
    let file = dir.join(format!("{zone}.axfr"));
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let v = Command::new("ldns-verify-zone")
        .arg(&file)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&v.stdout).into_owned() + &String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success(), "ldns-verify-zone {zone} AXFR: {text}");
    text
}

fn knot(ns: &Netns, signed: &[Signed]) -> Daemon {
    let dir = peer_dir("dnssec-knot");
    let mut conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n    journal-content: none\nzone:\n",
        d = dir.display()
    );
    for s in signed {
        std::fs::write(dir.join(s.zone), &s.text).unwrap();
        conf.push_str(&format!("  - domain: {}\n    file: {}\n", s.zone, s.zone));
    }
    let k = spawn_knot(ns, dir, &conf);
    for _ in 0..100 {
        let out = run_in(
            ns,
            "dig",
            &["@10.0.0.1", "+time=1", "+tries=1", "nsec3.example", "SOA"],
        );
        if out.contains("status: NOERROR") {
            return k;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("knotd did not come up");
}

fn compare(ns: &Netns, zone: &str, diffs: &mut Vec<String>) -> usize {
    let mut asked = 0;
    for (rel, t) in COMPARE {
        let name = fqdn(rel, zone);
        for dnssec in ["+dnssec", "+nodnssec"] {
            if dnssec == "+nodnssec" && !matches!(*rel, "www" | "nope" | "host.secure") {
                continue;
            }
            let q = ["+norec", "+time=2", "+tries=2", dnssec, &name, t];
            let kout = run_in(ns, "dig", &[&["@10.0.0.1"][..], &q].concat());
            let gout = dig(ns, &q);
            let (kn, gn) = (normalise(&kout), normalise(&gout));
            asked += 1;
            if kn != gn {
                diffs.push(format!(
                    "{name} {t} {dnssec}\n knot:  {kn:?}\n gitns: {gn:?}"
                ));
            }
        }
    }
    asked
}

#[test]
fn presigned_zones_validate_and_answer_like_knot() {
    let t = "presigned_zones_validate_and_answer_like_knot";
    if !kvm_or_skip(t) || !netns_or_skip(t) {
        return;
    }
    for p in ["ldns-signzone", "ldns-verify-zone", "delv", "knotd"] {
        if !needs(t, have_program(p), p) {
            return;
        }
    }
    let dir = peer_dir("dnssec-sign");
    let signed: Vec<Signed> = ZONES.iter().map(|(z, n3)| sign(&dir, z, *n3)).collect();
    let ns = netns("dnssec");
    let mut files: Vec<(&str, &str)> = signed.iter().map(|s| (s.zone, s.text.as_str())).collect();
    let keys = format!("personal._update.nsec.example. DNSKEY 0 3 163 {SECRET}\n");
    files.push(("nsec.example._keys", &keys));
    let g = Guest::boot_with_zones(&ns, &files, &["--ipv4=10.0.0.2/24", "--axfr"]);
    g.wait_for(" ready", T);
    let mut failed = Vec::new();
    for s in &signed {
        failed.extend(validate(&ns, &["@10.0.0.2"], &dir, s.zone, &s.ksk));
        verify_axfr(&ns, &dir, s.zone);
    }
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let _k = knot(&ns, &signed);
    let (mut diffs, mut asked) = (Vec::new(), 0);
    for s in &signed {
        asked += compare(&ns, s.zone, &mut diffs);
    }
    assert!(asked >= 50, "only {asked} questions");
    assert!(
        diffs.is_empty(),
        "{} of {asked} answers differ from Knot's:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
    update_warns(&ns, &g);
}

/// An UPDATE to a zone signed offline is applied, and the log says the
/// changed names are not signed; the rest keeps its signatures.
fn update_warns(ns: &Netns, g: &Guest) {
    let key = format!("hmac-sha256:personal._update.nsec.example:{SECRET}");
    let script = "server 10.0.0.2 53\nzone nsec.example\nupdate add new.nsec.example 60 A 192.0.2.99\nsend\n";
    let (ok, out) = nsupdate(ns, &["-y", &key], script);
    assert!(ok, "nsupdate: {out}");
    g.wait_for("zone nsec.example. is signed offline", T);
    let new = dig(ns, &["+short", "new.nsec.example", "A"]);
    assert_eq!(new.trim(), "192.0.2.99");
    let www = dig(ns, &["+dnssec", "+norec", "www.nsec.example", "A"]);
    assert!(www.contains("RRSIG\tA 13 3 3600"), "{www}");
}
