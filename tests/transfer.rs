//! Zone transfers out: dig AXFR with TSIG (many signed messages), refusal
//! without a key, `--axfr`, and Knot as a TSIG secondary of gitns that
//! transfers the zone, gets our signed NOTIFY when the serial rises, and
//! transfers the new serial.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn zone(serial: u32, hosts: u32) -> String {
    let mut z = format!("$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 10.0.0.2\nns2 A 10.0.0.1\n");
    for i in 0..hosts {
        z.push_str(&format!(
            "host{i} A 192.0.2.{}\nhost{i} TXT \"record number {i} of the transfer test\"\n",
            i % 250
        ));
    }
    z
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

fn vm(t: &str) -> bool {
    kvm_or_skip(t) && netns_or_skip(t)
}

fn wait_serial(ns: &Netns, server: &[&str], serial: &str) {
    let end = Instant::now() + T;
    loop {
        let mut a = server.to_vec();
        a.extend_from_slice(&["x25519.net", "SOA", "+short", "+time=1", "+tries=1"]);
        let out = run_in(ns, "dig", &a);
        if out.contains(serial) {
            return;
        }
        assert!(
            Instant::now() < end,
            "serial {serial} not served by {server:?}: {out}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn axfr_is_signed_and_refused_without_a_key() {
    if !vm("axfr_is_signed_and_refused_without_a_key") {
        return;
    }
    let ns = netns("axfr");
    let g = Guest::boot_with_zones(
        &ns,
        &[
            ("x25519.net", &zone(7, 1500)),
            ("x25519.net._keys", &keys()),
        ],
        &["--ipv4=10.0.0.2/24"],
    );
    g.wait_for(" ready", T);
    let out = dig(
        &ns,
        &[
            "x25519.net",
            "AXFR",
            "-y",
            &format!("hmac-sha256:personal._update.x25519.net:{SECRET}"),
        ],
    );
    let soas = out.lines().filter(|l| l.contains("\tSOA\t")).count();
    assert_eq!(
        soas,
        2,
        "SOA first and last:\n{}",
        &out[out.len().saturating_sub(2000)..]
    );
    assert!(
        out.contains("XFR size: 3006 records"),
        "{}",
        &out[out.len().saturating_sub(500)..]
    );
    let messages: u32 = out
        .split("records (messages ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    assert!(
        messages > 1,
        "several messages: {}",
        &out[out.len().saturating_sub(500)..]
    );
    assert!(
        !out.contains("tsig verify failure") && !out.contains("Transfer failed"),
        "{}",
        &out[..out.len().min(2000)]
    );
    assert!(!out.contains("DNSKEY"), "keys are never transferred");
    // No key, and no --axfr: refused.
    let out = dig(&ns, &["x25519.net", "AXFR"]);
    assert!(out.contains("Transfer failed"), "{out}");
    // A wrong key: NOTAUTH.
    let out = dig(
        &ns,
        &[
            "x25519.net",
            "AXFR",
            "-y",
            "hmac-sha256:personal._update.x25519.net:kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=",
        ],
    );
    assert!(
        out.contains("Transfer failed") || out.contains("NOTAUTH") || out.contains("tsig"),
        "{out}"
    );
    drop(g);
    // --axfr allows unsigned transfers.
    let g = Guest::boot_with_zones(
        &ns,
        &[("x25519.net", &zone(7, 10))],
        &["--ipv4=10.0.0.2/24", "--axfr"],
    );
    g.wait_for(" ready", T);
    let out = dig(&ns, &["x25519.net", "AXFR"]);
    assert!(out.contains("XFR size: 26 records"), "{out}");
}

#[test]
fn knot_secondary_transfers_from_gitns() {
    if !vm("knot_secondary_transfers_from_gitns") {
        return;
    }
    if Command::new("knotd").arg("--version").output().is_err() {
        assert_ne!(
            std::env::var("GITNS_REQUIRE_KVM").as_deref(),
            Ok("1"),
            "knotd missing"
        );
        skip(
            "knot_secondary_transfers_from_gitns",
            "knotd is not installed",
        );
        return;
    }
    let ns = netns("knotsec");
    let g = Guest::boot_with_zones(
        &ns,
        &[
            ("x25519.net", &zone(100, 50)),
            ("x25519.net._keys", &keys()),
        ],
        &["--ipv4=10.0.0.2/24"],
    );
    g.wait_for(" ready", T);
    let k = knot_secondary(&ns, "x25519.net", "personal._update.x25519.net", SECRET);
    wait_serial(&ns, &["@10.0.0.1"], "100");
    let out = run_in(
        &ns,
        "dig",
        &["@10.0.0.1", "host42.x25519.net", "TXT", "+short"],
    );
    assert!(out.contains("record number 42"), "{out}");
    // New serial at the source, signed NOTIFY to gitns, then Knot refreshes.
    zone_device(
        &ns,
        &[
            ("x25519.net", &zone(101, 60)),
            ("x25519.net._keys", &keys()),
        ],
    );
    let out = dig(
        &ns,
        &[
            "x25519.net",
            "SOA",
            "+opcode=notify",
            "+norec",
            "-y",
            &format!("hmac-sha256:personal._update:{SECRET}"),
        ],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    wait_serial(&ns, &["@10.0.0.2"], "101");
    // gitns NOTIFYs its secondary (ns2 = 10.0.0.1, signed with the zone's
    // key); Knot answers, refreshes and serves the new serial.
    g.wait_for("NOTIFY answered by 10.0.0.1", T);
    wait_serial(&ns, &["@10.0.0.1"], "101");
    let out = run_in(
        &ns,
        "dig",
        &["@10.0.0.1", "host55.x25519.net", "A", "+short"],
    );
    assert!(out.contains("192.0.2.55"), "{out}");
    drop(k);
}

fn nsd_secondary(ns: &Netns) -> Daemon {
    let dir = ns.scratch("nsd");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "server:\n  ip-address: 10.0.0.1\n  port: 53\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  verbosity: 1\nremote-control:\n  control-enable: no\nkey:\n  name: \"personal._update.x25519.net\"\n  algorithm: hmac-sha256\n  secret: \"{SECRET}\"\nzone:\n  name: x25519.net\n  zonefile: x25519.net.zone\n  request-xfr: 10.0.0.2@53 personal._update.x25519.net\n  allow-notify: 10.0.0.2 personal._update.x25519.net\n",
        d = dir.display()
    );
    spawn_nsd(ns, dir, &conf, false)
}

#[test]
fn nsd_secondary_transfers_from_gitns_and_follows_updates() {
    if !vm("nsd_secondary_transfers_from_gitns_and_follows_updates") {
        return;
    }
    if Command::new("nsd").arg("-v").output().is_err() {
        assert_ne!(
            std::env::var("GITNS_REQUIRE_KVM").as_deref(),
            Ok("1"),
            "nsd missing"
        );
        skip(
            "nsd_secondary_transfers_from_gitns_and_follows_updates",
            "nsd is not installed",
        );
        return;
    }
    let ns = netns("nsdsec");
    let g = Guest::boot_with_zones(
        &ns,
        &[
            ("x25519.net", &zone(300, 20)),
            ("x25519.net._keys", &keys()),
        ],
        &["--ipv4=10.0.0.2/24"],
    );
    g.wait_for(" ready", T);
    let _nsd = nsd_secondary(&ns);
    wait_serial(&ns, &["@10.0.0.1"], "300");
    // A signed UPDATE raises the serial; gitns NOTIFYs NSD, which transfers.
    let (ok, out) = nsupdate(&ns, &["-y", &format!("hmac-sha256:personal._update.x25519.net:{SECRET}")], "server 10.0.0.2 53\nzone x25519.net\nupdate add fresh.x25519.net 300 A 192.0.2.123\nsend\n");
    assert!(ok, "{out}");
    wait_serial(&ns, &["@10.0.0.1"], "301");
    let out = run_in(
        &ns,
        "dig",
        &["@10.0.0.1", "fresh.x25519.net", "A", "+short"],
    );
    assert!(out.contains("192.0.2.123"), "{out}");
    // NSD asked for IXFR and got the difference, not the zone.
    g.wait_for(
        "transfer of x25519.net. serial 301 to 10.0.0.1: incremental, 1 version(s)",
        T,
    );
}

/// RFC 1995 IXFR from the history of UPDATEs, as dig sees it: the
/// incremental form from any serial in the history, the SOA alone for a
/// current client, the whole zone for a serial the history does not reach.
#[test]
fn ixfr_answers_from_the_update_history() {
    if !vm("ixfr_answers_from_the_update_history") {
        return;
    }
    let ns = netns("ixfr");
    let g = Guest::boot_with_zones(
        &ns,
        &[("x25519.net", &zone(10, 3)), ("x25519.net._keys", &keys())],
        &["--ipv4=10.0.0.2/24"],
    );
    g.wait_for(" ready", T);
    let key = format!("hmac-sha256:personal._update.x25519.net:{SECRET}");
    for script in [
        "update add fresh.x25519.net 300 A 192.0.2.123\n",
        "update delete host1.x25519.net A\n",
    ] {
        let s = format!("server 10.0.0.2 53\nzone x25519.net\n{script}send\n");
        let (ok, out) = nsupdate(&ns, &["-y", &key], &s);
        assert!(ok, "{out}");
    }
    let ixfr = |from: u32| {
        let out = dig(
            &ns,
            &[
                "x25519.net",
                &format!("IXFR={from}"),
                "-y",
                &key,
                "+nocmd",
                "+nostats",
            ],
        );
        let soas: Vec<String> = out
            .lines()
            .filter(|l| l.contains("\tSOA\t"))
            .map(|l| l.split_whitespace().nth(6).unwrap_or("").to_string())
            .collect();
        (out, soas)
    };
    // From 10: 12, (10 -del- 11 +fresh), (11 -host1- 12), 12.
    let (out, soas) = ixfr(10);
    assert_eq!(soas, ["12", "10", "11", "11", "12", "12"], "{out}");
    assert!(
        out.contains("fresh.x25519.net.") && out.contains("host1.x25519.net."),
        "{out}"
    );
    assert!(
        !out.contains("host2.x25519.net."),
        "only the differences: {out}"
    );
    let (out, soas) = ixfr(11);
    assert_eq!(soas, ["12", "11", "12", "12"], "{out}");
    let (out, soas) = ixfr(12);
    assert_eq!(soas, ["12"], "{out}");
    // Outside the history: the whole zone, AXFR-style.
    let (out, soas) = ixfr(5);
    assert_eq!(soas, ["12", "12"], "{out}");
    assert!(out.contains("host2.x25519.net."), "{out}");
    g.wait_for("incremental, 2 version(s)", T);
}
