//! Serving zones signed offline (issue 26, first step): two zones signed
//! here with ldns-signzone (NSEC; NSEC3 with no salt and 0 iterations,
//! RFC 9276) are served by the booted image. `delv` with each zone's KSK
//! as trust anchor validates positive, NXDOMAIN, NODATA, wildcard, CNAME
//! and DS answers; `ldns-verify-zone` accepts the AXFR; Knot serving the
//! same signed files answers the same DO=1 questions (referrals, DS and
//! their denials, DNAME, additional data) with the same records.

mod common;
use common::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

/// The zone both chains sign: a wildcard, an empty non-terminal, a CNAME,
/// a DNAME, a secure (DS) and an insecure delegation with glue.
const ZONE: &str = "$TTL 3600
@ SOA ns1 hostmaster 1 7200 3600 1209600 300
@ NS ns1
@ MX 10 mail
ns1 A 10.0.0.2
mail A 192.0.2.2
mail AAAA 2001:db8::2
www A 192.0.2.3
alias CNAME www
*.wild TXT \"wildcard\"
a.b.ent TXT \"deep\"
d DNAME target.example.net.
insecure NS ns.insecure
ns.insecure A 192.0.2.53
secure NS ns.secure
ns.secure A 192.0.2.54
secure DS 12345 13 2 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
";

/// The zones: (name, NSEC3).
const ZONES: [(&str, bool); 2] = [("nsec.example", false), ("nsec3.example", true)];

struct Signed {
    zone: &'static str,
    text: String,
    /// The KSK's DNSKEY RDATA: `257 3 13 BASE64`.
    ksk: String,
}

fn run_ok(dir: &Path, program: &str, args: &[&str]) -> String {
    let out = Command::new(program)
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{program} {args:?}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
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

/// Questions delv must validate: (name relative to the zone, type,
/// negative answer).
const VALIDATE: &[(&str, &str, bool)] = &[
    ("", "SOA", false),
    ("", "DNSKEY", false),
    ("www", "A", false),
    ("alias", "A", false),
    ("x.wild", "TXT", false),
    ("mail", "AAAA", false),
    ("secure", "DS", false),
    ("nope", "A", true),
    ("nope.ns1", "A", true),
    ("www", "TXT", true),
    ("ent", "A", true),
    ("b.ent", "TXT", true),
    ("x.wild", "A", true),
    ("insecure", "DS", true),
];

fn fqdn(rel: &str, zone: &str) -> String {
    if rel.is_empty() {
        format!("{zone}.")
    } else {
        format!("{rel}.{zone}.")
    }
}

fn validate(ns: &Netns, dir: &Path, s: &Signed) -> Vec<String> {
    let anchors = dir.join(format!("{}.anchors", s.zone));
    let (flags, proto, alg, key) = {
        let f: Vec<&str> = s.ksk.split_whitespace().collect();
        (f[0], f[1], f[2], f[3..].concat())
    };
    std::fs::write(
        &anchors,
        format!(
            "trust-anchors {{ {}. static-key {flags} {proto} {alg} \"{key}\"; }};\n",
            s.zone
        ),
    )
    .unwrap();
    let mut failed = Vec::new();
    for (rel, t, negative) in VALIDATE {
        let name = fqdn(rel, s.zone);
        let root = format!("+root={}", s.zone);
        let a = anchors.to_str().unwrap();
        let out = run_in(ns, "delv", &["@10.0.0.2", "-a", a, &root, &name, t]);
        let want = if *negative {
            "; negative response, fully validated"
        } else {
            "; fully validated"
        };
        if !out.lines().any(|l| l.trim() == want) {
            failed.push(format!("delv {name} {t}: want {want:?}:\n{out}"));
        }
    }
    failed
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

/// Questions asked of Knot and of gitns with DO=1 (and a few without).
const COMPARE: &[(&str, &str)] = &[
    ("", "SOA"),
    ("", "NS"),
    ("", "MX"),
    ("", "DNSKEY"),
    ("", "NSEC3PARAM"),
    ("www", "A"),
    ("www", "TXT"),
    ("www", "RRSIG"),
    ("alias", "A"),
    ("x.wild", "TXT"),
    ("x.wild", "A"),
    ("wild", "TXT"),
    ("ent", "A"),
    ("b.ent", "TXT"),
    ("nope", "A"),
    ("nope.ns1", "A"),
    ("foo.d", "A"),
    ("secure", "DS"),
    ("secure", "A"),
    ("host.secure", "A"),
    ("insecure", "DS"),
    ("insecure", "NS"),
    ("host.insecure", "A"),
];

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
        failed.extend(validate(&ns, &dir, s));
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
