//! Signed NOTIFY as the seeds' operators send it (dig -y with the short key
//! name), and the TSIG answers dig and kdig check: a good key gets AA and
//! a signed answer and makes the appliance reload; wrong or missing keys
//! get NOTAUTH with the TSIG error.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const OTHER: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";

fn zone(serial: u32) -> String {
    format!("$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.{}\n", serial % 200)
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\nsec._notify.other.net. DNSKEY 0 3 163 {OTHER}\n")
}

fn notify(ns: &Netns, key: Option<&str>) -> String {
    let mut a = vec![
        "x25519.net",
        "SOA",
        "+opcode=notify",
        "+norec",
        "+noad",
        "+noedns",
    ];
    let y;
    if let Some(k) = key {
        y = k.to_string();
        a.push("-y");
        a.push(&y);
    }
    dig(ns, &a)
}

#[test]
fn signed_notify_reloads_and_bad_keys_get_notauth() {
    if !kvm_or_skip("signed_notify_reloads_and_bad_keys_get_notauth")
        || !netns_or_skip("signed_notify_reloads_and_bad_keys_get_notauth")
    {
        return;
    }
    let ns = netns("notify");
    let (z1, k) = (zone(2026112401), keys());
    let g = Guest::boot_with_zones(
        &ns,
        &[
            ("x25519.net", &z1),
            ("x25519.net._keys", &k),
            ("other.net", &zone(1)),
        ],
        &["--ipv4=10.0.0.2/24"],
    );
    g.wait_for(" ready", T);
    assert!(dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026112401"));

    // Keys are never served.
    let out = dig(&ns, &["personal._update.x25519.net", "DNSKEY", "+norec"]);
    assert!(out.contains("status: NXDOMAIN"), "{out}");

    // The zone source changes (the storage cache here; git later).
    let dev = zone_device(
        &ns,
        &[
            ("x25519.net", &zone(2026112402)),
            ("x25519.net._keys", &k),
            ("other.net", &zone(1)),
        ],
    );
    assert!(dev.exists());

    // Unsigned: NOTAUTH, no reload.
    let out = notify(&ns, None);
    assert!(out.contains("status: NOTAUTH"), "{out}");
    // Wrong secret: NOTAUTH + BADSIG.
    let out = notify(&ns, Some(&format!("hmac-sha256:personal._update:{OTHER}")));
    assert!(
        out.contains("status: NOTAUTH") && out.contains("BADSIG"),
        "{out}"
    );
    // Unknown key: NOTAUTH + BADKEY.
    let out = notify(&ns, Some(&format!("hmac-sha256:nobody._update:{SECRET}")));
    assert!(
        out.contains("status: NOTAUTH") && out.contains("BADKEY"),
        "{out}"
    );
    // A key of another zone: NOTAUTH.
    let out = notify(
        &ns,
        Some(&format!("hmac-sha256:sec._notify.other.net:{OTHER}")),
    );
    assert!(out.contains("status: NOTAUTH"), "{out}");
    assert!(
        dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026112401"),
        "no reload yet"
    );

    // The seeds' command: short key name, hmac-sha256. dig verifies our TSIG.
    let out = notify(&ns, Some(&format!("hmac-sha256:personal._update:{SECRET}")));
    assert!(
        out.contains("status: NOERROR") && out.contains("flags: qr aa;"),
        "{out}"
    );
    assert!(
        out.contains("TSIG PSEUDOSECTION")
            && !out.contains("tsig verify failure")
            && !out.contains("failed"),
        "{out}"
    );
    g.wait_for("NOTIFY for x25519.net.", T);
    let end = std::time::Instant::now() + T;
    loop {
        let soa = dig(&ns, &["x25519.net", "SOA", "+short"]);
        if soa.contains("2026112402") {
            break;
        }
        assert!(
            std::time::Instant::now() < end,
            "new serial not served: {soa}\n{}",
            g.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    // kdig (no NOTIFY opcode in kdig 3.2) signs a query with the full key
    // name and checks our signed answer; dig does the same over TCP.
    let out = run_in(
        &ns,
        "kdig",
        &[
            "@10.0.0.2",
            "+tcp",
            "-y",
            &format!("hmac-sha256:personal._update.x25519.net.:{SECRET}"),
            "x25519.net",
            "SOA",
        ],
    );
    assert!(
        out.contains("NOERROR") && out.contains("TSIG") && !out.contains("WARNING"),
        "{out}"
    );
    let out = dig(
        &ns,
        &[
            "-y",
            &format!("hmac-sha256:personal._update.x25519.net:{SECRET}"),
            "www.x25519.net",
            "A",
            "+norec",
        ],
    );
    assert!(
        out.contains("status: NOERROR")
            && out.contains("TSIG PSEUDOSECTION")
            && out.contains("192.0.2."),
        "{out}"
    );
}
