//! What the DNSSEC tests share (tests/dnssec.rs: zones signed offline,
//! tests/dnssec_sign.rs: zones signed by gitns): the zone, the questions
//! delv must validate and those asked of gitns and of Knot.

#![allow(dead_code)]
use super::common::*;
use std::path::Path;
use std::process::Command;

/// The zone both chains sign: a wildcard, an empty non-terminal, a CNAME,
/// a DNAME, a secure (DS) and an insecure delegation with glue.
pub const ZONE: &str = "$TTL 3600
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

pub fn run_ok(dir: &Path, program: &str, args: &[&str]) -> String {
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

/// Questions delv must validate: (name relative to the zone, type,
/// negative answer).
pub const VALIDATE: &[(&str, &str, bool)] = &[
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

pub fn fqdn(rel: &str, zone: &str) -> String {
    if rel.is_empty() {
        format!("{zone}.")
    } else {
        format!("{rel}.{zone}.")
    }
}

/// delv's verdict (its first `; ` line) on each [`VALIDATE`] question
/// of `zone` asked at `server` (`@IP`, then more arguments such as `-p
/// PORT`) with the trust anchor `ksk` (`257 3 ALG BASE64`, or a DS as
/// `ds TAG ALG DIGEST-TYPE HEX`): (question,
/// verdict, delv's whole output).
pub fn verdicts(
    ns: &Netns,
    server: &[&str],
    dir: &Path,
    zone: &str,
    ksk: &str,
) -> Vec<(String, String, String)> {
    verdicts_of(ns, server, (dir, zone, ksk), VALIDATE)
}

/// [`verdicts`] on the `questions` given, in the form of [`VALIDATE`].
pub fn verdicts_of(
    ns: &Netns,
    server: &[&str],
    (dir, zone, ksk): (&Path, &str, &str),
    questions: &[(&str, &str, bool)],
) -> Vec<(String, String, String)> {
    // `257 3 ALG KEY`: the key; `ds TAG ALG TYPE DIGEST`: a DS.
    let f: Vec<&str> = ksk.split_whitespace().collect();
    let (kind, f) = match f[0] {
        "ds" => ("static-ds", &f[1..]),
        _ => ("static-key", &f[..]),
    };
    let anchors = dir.join(format!("{zone}.{}.{}.anchors", f[0], f[2]));
    let line = format!(
        "trust-anchors {{ {zone}. {kind} {} {} {} \"{}\"; }};\n",
        f[0],
        f[1],
        f[2],
        f[3..].concat()
    );
    std::fs::write(&anchors, line).unwrap();
    let a = anchors.to_str().unwrap();
    let root = format!("+root={zone}");
    questions
        .iter()
        .map(|(rel, t, _)| {
            let name = fqdn(rel, zone);
            let out = run_in(ns, "delv", &[server, &["-a", a, &root, &name, t]].concat());
            let verdict = out.lines().find(|l| l.starts_with("; ")).unwrap_or("?");
            (
                format!("{name} {t}"),
                verdict.trim().to_string(),
                out.clone(),
            )
        })
        .collect()
}

/// [`verdicts`] that are not "fully validated" (positive or negative as
/// [`VALIDATE`] says): the failures.
pub fn validate(ns: &Netns, server: &[&str], dir: &Path, zone: &str, ksk: &str) -> Vec<String> {
    validate_of(ns, server, (dir, zone, ksk), VALIDATE)
}

/// [`validate`] on the `questions` given.
pub fn validate_of(
    ns: &Netns,
    server: &[&str],
    signed: (&Path, &str, &str),
    questions: &[(&str, &str, bool)],
) -> Vec<String> {
    let got = verdicts_of(ns, server, signed, questions);
    got.into_iter()
        .zip(questions)
        .filter_map(|((q, verdict, out), (_, _, negative))| {
            let want = match negative {
                true => "; negative response, fully validated",
                false => "; fully validated",
            };
            (verdict != want).then(|| format!("delv {q}: want {want:?}:\n{out}"))
        })
        .collect()
}

/// Questions asked of Knot and of gitns with DO=1 (and a few without).
pub const COMPARE: &[(&str, &str)] = &[
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
