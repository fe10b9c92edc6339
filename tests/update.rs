//! Dynamic UPDATE with nsupdate (RFC 2136, TSIG-signed per RFC 3007): adds
//! and deletes, prerequisites with their RCODEs, refusal without a key,
//! the serial bump, and durability: after a restart the change is served.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn zone() -> String {
    "$TTL 3600\n@ SOA ns1 hostmaster 2026112401 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.80\n".to_string()
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\nro._notify.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

fn upd(ns: &Netns, key: Option<&str>, body: &str) -> (bool, String) {
    let script = format!("server 10.0.0.2 53\nzone x25519.net\n{body}\nsend\n");
    match key {
        Some(k) => nsupdate(ns, &["-y", k], &script),
        None => nsupdate(ns, &[], &script),
    }
}

#[test]
fn nsupdate_adds_deletes_checks_prerequisites_and_survives_a_restart() {
    if !kvm_or_skip("nsupdate_adds_deletes_checks_prerequisites_and_survives_a_restart")
        || !netns_or_skip("nsupdate_adds_deletes_checks_prerequisites_and_survives_a_restart")
    {
        return;
    }
    let ns = netns("update");
    let dev = zone_device(
        &ns,
        &[("x25519.net", &zone()), ("x25519.net._keys", &keys())],
    );
    let g = Guest::boot_with_device(&ns, &dev, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    let key = format!("hmac-sha256:personal._update.x25519.net:{SECRET}");

    let (ok, out) = upd(&ns, Some(&key), "update add new.x25519.net 300 A 192.0.2.77\nupdate add new.x25519.net 300 TXT \"added by nsupdate\"");
    assert!(ok, "{out}");
    assert!(dig(&ns, &["new.x25519.net", "A", "+short"]).contains("192.0.2.77"));
    assert!(
        dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026112402"),
        "serial bumped"
    );
    assert!(
        g.output()
            .contains("UPDATE of x25519.net. by personal._update.x25519.net. committed"),
        "{}",
        g.output()
    );

    // Prerequisites: each failing form gets its RCODE, and nothing changes.
    for (pre, rcode) in [
        ("prereq nxdomain www.x25519.net", "YXDOMAIN"),
        ("prereq yxdomain nothing.x25519.net", "NXDOMAIN"),
        ("prereq nxrrset www.x25519.net A", "YXRRSET"),
        ("prereq yxrrset www.x25519.net MX", "NXRRSET"),
        ("prereq yxrrset www.x25519.net A 192.0.2.1", "NXRRSET"),
    ] {
        let (ok, out) = upd(
            &ns,
            Some(&key),
            &format!("{pre}\nupdate add bad.x25519.net 300 A 192.0.2.66"),
        );
        assert!(!ok && out.contains(rcode), "{pre}: {out}");
    }
    assert!(
        dig(&ns, &["bad.x25519.net", "A"]).contains("NXDOMAIN"),
        "atomic: no partial change"
    );
    // Passing value-dependent prerequisite, then a delete.
    let (ok, out) = upd(
        &ns,
        Some(&key),
        "prereq yxrrset www.x25519.net A 192.0.2.80\nupdate delete new.x25519.net TXT",
    );
    assert!(ok, "{out}");
    assert!(!dig(&ns, &["new.x25519.net", "TXT", "+short"]).contains("added"));
    // Refused without a key, and with a key that may only notify.
    let (ok, out) = upd(&ns, None, "update add x.x25519.net 300 A 192.0.2.5");
    assert!(!ok && out.contains("REFUSED"), "{out}");
    let (ok, out) = upd(
        &ns,
        Some(&format!("hmac-sha256:ro._notify.x25519.net:{SECRET}")),
        "update add x.x25519.net 300 A 192.0.2.5",
    );
    assert!(!ok && out.contains("REFUSED"), "{out}");
    // The apex SOA and last NS cannot be deleted.
    let (ok, out) = upd(
        &ns,
        Some(&key),
        "update delete x25519.net NS\nupdate delete x25519.net SOA",
    );
    assert!(ok, "{out}");
    assert!(dig(&ns, &["x25519.net", "NS", "+short"]).contains("ns1.x25519.net."));

    // Knot's knsupdate, with the full key name.
    let mut c = ns.command("knsupdate");
    c.args([
        "-y",
        &format!("hmac-sha256:personal._update.x25519.net.:{SECRET}"),
    ]);
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("knsupdate");
    {
        use std::io::Write;
        let script = "server 10.0.0.2\nzone x25519.net.\norigin x25519.net.\nupdate add knot.x25519.net. 300 A 192.0.2.88\nsend\nanswer\n";
        child
            .stdin
            .take()
            .unwrap()
            .write_all(script.as_bytes())
            .unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && text.contains("NOERROR"), "{text}");
    assert!(dig(&ns, &["knot.x25519.net", "A", "+short"]).contains("192.0.2.88"));

    // A signed SOA query over TCP makes the asker a NOTIFY target.
    let out = dig(&ns, &["+tcp", "-y", &key, "x25519.net", "SOA"]);
    assert!(out.contains("status: NOERROR"), "{out}");
    g.wait_for(
        "10.0.0.1 asked for the SOA of x25519.net. with a transfer key",
        T,
    );

    // The operator tools: seeds' key form for NOTIFY, dig's for UPDATE.
    let x = xtask_bin();
    let out = ns
        .command(x.to_str().unwrap())
        .args([
            "notify",
            "--server=10.0.0.2",
            "--zone=x25519.net",
            &format!("--key=personal._update.x25519.net:SHA256:{SECRET}"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).contains("successful TSIG signed notify!"),
        "{out:?}"
    );
    let out = ns
        .command(x.to_str().unwrap())
        .args(["notify", "--server=10.0.0.2", "--zone=x25519.net"])
        .output()
        .unwrap();
    assert!(
        out.status.code() == Some(1) && String::from_utf8_lossy(&out.stderr).contains("NOTAUTH"),
        "{out:?}"
    );
    let out = ns
        .command(x.to_str().unwrap())
        .args([
            "update",
            "--server=10.0.0.2",
            "--zone=x25519.net",
            &format!("--key=hmac-sha256:personal._update.x25519.net:{SECRET}"),
            "add",
            "tool",
            "600",
            "A",
            "192.0.2.99",
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(dig(&ns, &["tool.x25519.net", "A", "+short"]).contains("192.0.2.99"));

    // Restart on the same storage device: the acknowledged change is there.
    drop(g);
    let g = Guest::boot_with_device(&ns, &dev, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    assert!(
        dig(&ns, &["new.x25519.net", "A", "+short"]).contains("192.0.2.77"),
        "{}",
        g.output()
    );
    assert!(dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026112405"));
    assert!(dig(&ns, &["tool.x25519.net", "A", "+short"]).contains("192.0.2.99"));
    // The first UPDATE wrote the archive again, the later ones went to
    // its journal and were replayed.
    assert!(
        g.output().contains("UPDATE(s) replayed from the journal"),
        "{}",
        g.output()
    );
    // Appended after the replayed records, and replayed with them.
    let (ok, out) = upd(
        &ns,
        Some(&key),
        "update add after.x25519.net 300 A 192.0.2.101",
    );
    assert!(ok, "{out}");
    drop(g);
    let g = Guest::boot_with_device(&ns, &dev, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    assert!(dig(&ns, &["after.x25519.net", "A", "+short"]).contains("192.0.2.101"));
    assert!(dig(&ns, &["tool.x25519.net", "A", "+short"]).contains("192.0.2.99"));
    assert!(dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026112406"));
}
