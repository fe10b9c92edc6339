//! A zone the appliance signs stays valid after its load (issue 26):
//! an UPDATE is served signed at once (the new name, and the NXDOMAIN of a
//! deleted one, validate with delv), and signatures are refreshed before
//! they expire with no reload: with a policy of 40 s validity (refresh
//! 15 s, jitter 4 s) delv still validates every question after twice the
//! validity, the serial rose, and the refresh is an IXFR of new RRSIGs.
//! The policy's own times make the clock fast: no test option needed.

mod common;
#[path = "common/dnssec.rs"]
mod shared;
use common::*;
use shared::*;
use std::path::Path;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const ZONE_NAME: &str = "keep.example";
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const VALIDITY: u64 = 40;
const POLICY: &str = "denial nsec3\nvalidity 40\nrefresh 15\njitter 4\ninception 5\n";

/// The names the UPDATE adds and deletes, as delv must see them.
const AFTER_UPDATE: &[(&str, &str, bool)] = &[
    ("fresh", "A", false),
    ("d", "DNAME", true),
    ("d", "A", true),
];

/// Keys for the zone made by `gitns sign` in `dir` (the key file's
/// text) and the trust anchor it printed (`257 3 ALG BASE64`).
fn make_keys(dir: &Path) -> (String, String) {
    std::fs::write(dir.join(ZONE_NAME), format!("$ORIGIN {ZONE_NAME}.\n{ZONE}")).unwrap();
    std::fs::write(dir.join(format!("{ZONE_NAME}._dnssec")), POLICY).unwrap();
    let out = std::process::Command::new(tools_bin())
        .current_dir(dir)
        .args(["sign", ZONE_NAME, "--out", "ignored.signed"])
        .output()
        .expect("gitns sign");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "gitns sign: {err}");
    let anchor = err
        .lines()
        .find_map(|l| l.split(" DNSKEY ").nth(1))
        .unwrap_or_else(|| panic!("no trust anchor printed: {err}"));
    let keys = std::fs::read_to_string(dir.join(format!("{ZONE_NAME}._dnssec_keys"))).unwrap();
    (keys, anchor.trim().to_string())
}

fn serial(ns: &Netns) -> u32 {
    let out = dig(ns, &["+short", &format!("{ZONE_NAME}."), "SOA"]);
    let s = out.split_whitespace().nth(2);
    s.and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no SOA: {out}"))
}

#[test]
fn a_signed_zone_stays_valid_through_updates_and_expiry() {
    let t = "a_signed_zone_stays_valid_through_updates_and_expiry";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("delv"), "delv") {
        return;
    }
    let dir = peer_dir("dnssec-keep");
    let (keys, ksk) = make_keys(&dir);
    let zone_text = format!("$ORIGIN {ZONE_NAME}.\n{ZONE}");
    let tsig = format!("personal._update.{ZONE_NAME}. DNSKEY 0 3 163 {SECRET}\n");
    let files = [
        (ZONE_NAME, zone_text.as_str()),
        ("keep.example._dnssec", POLICY),
        ("keep.example._dnssec_keys", keys.as_str()),
        ("keep.example._keys", tsig.as_str()),
    ];
    let ns = netns("dnsseckeep");
    let g = Guest::boot_with_zones(&ns, &files, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    let signed_at = Instant::now();
    g.wait_for("dnssec: keep.example: signed", Duration::from_secs(1));
    let at = ["@10.0.0.2"];
    let signed = (dir.as_path(), ZONE_NAME, ksk.as_str());
    let failed = validate_of(&ns, &at, signed, VALIDATE);
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // An UPDATE: served signed at once, its proofs with it.
    let key = format!("hmac-sha256:personal._update.{ZONE_NAME}:{SECRET}");
    let script = format!(
        "server 10.0.0.2 53\nzone {ZONE_NAME}\nupdate add fresh.{ZONE_NAME} 300 A 192.0.2.77\nupdate delete d.{ZONE_NAME}\nsend\n"
    );
    let (ok, out) = nsupdate(&ns, &["-y", &key], &script);
    assert!(ok, "{out}");
    let updated = serial(&ns);
    let failed = validate_of(&ns, &at, signed, AFTER_UPDATE);
    assert!(failed.is_empty(), "{}", failed.join("\n"));

    // Twice the validity with no reload: refreshed, still valid.
    let until = signed_at + Duration::from_secs(2 * VALIDITY + 5);
    std::thread::sleep(until.saturating_duration_since(Instant::now()));
    assert!(
        g.output().contains("signatures refreshed"),
        "{}",
        g.output()
    );
    let failed = validate_of(&ns, &at, signed, VALIDATE);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let failed = validate_of(&ns, &at, signed, AFTER_UPDATE);
    assert!(failed.is_empty(), "{}", failed.join("\n"));
    let now = serial(&ns);
    assert!(
        now > updated,
        "the serial rose with the refresh: {updated} -> {now}"
    );

    // The refreshes are incremental: IXFR from the UPDATE's version.
    let out = dig(
        &ns,
        &[
            ZONE_NAME,
            &format!("IXFR={updated}"),
            "-y",
            &key,
            "+nocmd",
            "+nostats",
        ],
    );
    let soas = out.lines().filter(|l| l.contains("\tSOA\t")).count();
    assert!(soas >= 4, "incremental (SOA pairs): {out}");
    assert!(out.contains("\tRRSIG\t"), "{out}");
    assert!(!out.contains("\tMX\t"), "only the differences: {out}");
}
