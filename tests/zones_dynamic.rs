//! Seed 001's fine print: a `_keys` file without a zone prefix holds keys
//! for every zone; zones come and go with their files (git + NOTIFY, or
//! the storage device + NOTIFY); a signed SOA query for the root gets an
//! SOA without AA and a NOTIFY for every zone the key may transfer, each
//! carrying the zone's SOA in its answer section (RFC 1996 3.7).

mod common;
use common::*;
use std::net::UdpSocket;
use std::time::{Duration, Instant};
use xtask::sshd::{git, key, GitServer};

const T: Duration = Duration::from_secs(30);
const S1: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const S2: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
const S3: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
const SEED: [u8; 32] = [0x3c; 32];

fn zone(serial: u32) -> String {
    format!("$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.{}\n", serial % 200)
}

/// Keys of the root: update (and so notify/transfer) and transfer only.
fn root_keys() -> String {
    format!("all._update. DNSKEY 0 3 163 {S1}\nsec._transfer. DNSKEY 0 3 163 {S2}\n")
}

fn vm(test: &str) -> bool {
    kvm_or_skip(test) && netns_or_skip(test)
}

/// Poll `f` until it returns true or `T` passes.
fn eventually(what: &str, g: &Guest, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + T;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}\n{}", g.output());
}

fn notify(ns: &Netns, zone: &str, key: &str) -> String {
    dig(
        ns,
        &[
            zone,
            "SOA",
            "+opcode=notify",
            "+norec",
            "+noedns",
            "-y",
            key,
        ],
    )
}

/// dig's NOTIFY answer: NOERROR with AA, its TSIG verified by dig.
fn acked(out: &str, g: &Guest) {
    assert!(
        status(out) == "NOERROR" && flags(out).contains("aa"),
        "{out}\n{}",
        g.output()
    );
    assert!(
        out.contains("TSIG PSEUDOSECTION") && !out.contains("failed"),
        "{out}"
    );
}

fn status(out: &str) -> &str {
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("?")
}

/// The flags of dig's header line (`flags: qr aa;` -> "qr aa").
fn flags(out: &str) -> String {
    out.split("flags: ")
        .nth(1)
        .and_then(|s| s.split(';').next())
        .unwrap_or("?")
        .to_string()
}

/// A name at `at` in `m` (compression followed); its text and the offset
/// after it.
fn name(m: &[u8], mut at: usize) -> (String, usize) {
    let mut out = String::new();
    let mut end = None;
    for _ in 0..64 {
        let len = m[at] as usize;
        if len & 0xc0 == 0xc0 {
            end.get_or_insert(at + 2);
            at = ((len & 0x3f) << 8) | m[at + 1] as usize;
            continue;
        }
        if len == 0 {
            end.get_or_insert(at + 1);
            break;
        }
        out.push_str(&String::from_utf8_lossy(&m[at + 1..at + 1 + len]));
        out.push('.');
        at += 1 + len;
    }
    (if out.is_empty() { ".".into() } else { out }, end.unwrap())
}

/// What a captured NOTIFY says: (zone, SOA serial in its answer section,
/// AA set, signed).
fn parse_notify(m: &[u8]) -> (String, u32, bool, bool) {
    let be = |i: usize| u16::from_be_bytes([m[i], m[i + 1]]);
    assert_eq!((m[2] >> 3) & 0xf, 4, "opcode NOTIFY");
    assert_eq!((be(4), be(6)), (1, 1), "one question, one answer");
    let (zone, at) = name(m, 12);
    assert_eq!(be(at), 6, "question type SOA");
    let (owner, at) = name(m, at + 4);
    assert_eq!(
        (owner.as_str(), be(at)),
        (zone.as_str(), 6),
        "answer: the SOA"
    );
    let (_, rd) = name(m, at + 10);
    let (_, rd) = name(m, rd);
    let serial = u32::from_be_bytes([m[rd], m[rd + 1], m[rd + 2], m[rd + 3]]);
    (zone, serial, m[2] & 0x04 != 0, be(10) == 1)
}

/// NOTIFYs arriving at `sock` until one per zone of `want` came (each
/// answered so gitns stops sending it): zone -> (serial, aa, signed).
fn capture(sock: &UdpSocket, want: &[&str]) -> Vec<(String, u32, bool, bool)> {
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let end = Instant::now() + Duration::from_secs(15);
    let mut got: Vec<(String, u32, bool, bool)> = Vec::new();
    let mut buf = [0u8; 2048];
    while Instant::now() < end && !want.iter().all(|w| got.iter().any(|g| g.0 == *w)) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let m = &buf[..n];
        let mut ack = m[..12].to_vec();
        ack[2] |= 0x80;
        ack[4..12].copy_from_slice(&[0; 8]);
        let _ = sock.send_to(&ack, from);
        let n = parse_notify(m);
        if !got.iter().any(|g| g.0 == n.0) {
            got.push(n);
        }
    }
    got.sort();
    got
}

/// Root keys NOTIFY/UPDATE/transfer any zone as their operation allows;
/// a signed root SOA query gets the SOA without AA and NOTIFYs for every
/// zone; zones added to and removed from the storage device come and go
/// with a NOTIFY (one signed with the new zone's own key waits for the
/// reload that brings that key).
#[test]
fn root_keys_the_root_soa_and_zones_from_the_storage_device() {
    let test = "root_keys_the_root_soa_and_zones_from_the_storage_device";
    if !vm(test) {
        return;
    }
    let ns = netns("rootkeys");
    let files = |extra: &[(&'static str, String)]| {
        let mut f = vec![
            ("example.org", zone(10)),
            ("other.net", zone(20)),
            ("_keys", root_keys()),
        ];
        f.extend(extra.iter().cloned());
        f
    };
    let dev = {
        let f = files(&[]);
        let v: Vec<(&str, &str)> = f.iter().map(|(n, t)| (*n, t.as_str())).collect();
        zone_device(&ns, &v)
    };
    let g = Guest::boot_with_device(&ns, &dev, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    let all = format!("hmac-sha256:all._update:{S1}");
    let sec = format!("hmac-sha256:sec._transfer:{S2}");

    // A root _update key notifies (and reloads) any zone, and updates it.
    acked(&notify(&ns, "example.org", &all), &g);
    let script =
        "server 10.0.0.2\nzone other.net\nupdate add root.other.net 300 A 192.0.2.55\nsend\n";
    let (ok, out) = nsupdate(&ns, &["-y", &all], script);
    assert!(ok, "{out}");
    assert_eq!(dig(&ns, &["root.other.net", "+short"]).trim(), "192.0.2.55");
    // A root _transfer key transfers but cannot UPDATE.
    let out = dig(&ns, &["+tcp", "-y", &sec, "other.net", "AXFR"]);
    assert!(
        out.contains("root.other.net.") && !out.contains("failed") && out.contains("TSIG"),
        "{out}"
    );
    let (ok, out) = nsupdate(&ns, &["-y", &sec], &script.replace("root.", "no."));
    assert!(!ok && out.contains("REFUSED"), "{out}");

    // The seed's secondary asks for the root SOA over TCP with its key:
    // an SOA without AA, then a NOTIFY per zone to the asker (port 53),
    // each with the zone's SOA in its answer.
    let sock = ns
        .run_in(|| UdpSocket::bind("10.0.0.1:53"))
        .unwrap()
        .expect("bind 10.0.0.1:53 in the namespace");
    let out = dig(&ns, &["+tcp", "+norec", "-y", &sec, ".", "SOA"]);
    assert_eq!(status(&out), "NOERROR", "{out}");
    assert!(!flags(&out).contains("aa"), "no AA: {out}");
    assert!(
        out.contains("hostmaster. 0 16384 2048 1048576 300"),
        "{out}"
    );
    assert!(
        out.contains("TSIG PSEUDOSECTION") && !out.contains("failed"),
        "{out}"
    );
    let got = capture(&sock, &["example.org.", "other.net."]);
    g.wait_for("NOTIFY to 10.0.0.1 for 2 zone(s)", T);
    assert_eq!(
        got,
        [
            ("example.org.".to_string(), 10, true, true),
            ("other.net.".to_string(), 21, true, true)
        ],
        "{}",
        g.output()
    );
    drop(sock);
    // Unsigned: REFUSED, as any name not served (Knot below says the
    // same); wrongly signed: NOTAUTH with BADSIG (RFC 8945 5.2.2).
    let unsigned = dig(&ns, &["+tcp", "+norec", ".", "SOA"]);
    assert_eq!(status(&unsigned), "REFUSED", "{unsigned}");
    let out = dig(
        &ns,
        &[
            "+tcp",
            "-y",
            &format!("hmac-sha256:sec._transfer:{S3}"),
            ".",
            "SOA",
        ],
    );
    assert!(status(&out) == "NOTAUTH" && out.contains("BADSIG"), "{out}");
    {
        let _knot = knot_authority(&ns, "example.org", &zone(10));
        let knot = root_soa_of_peer(&ns);
        assert_eq!(status(&knot), "REFUSED", "Knot, unsigned root SOA: {knot}");
    }
    {
        let _nsd = nsd_authority(&ns, "example.org", &zone(10));
        let nsd = root_soa_of_peer(&ns);
        assert_eq!(status(&nsd), "REFUSED", "NSD, unsigned root SOA: {nsd}");
    }

    // The device gets a new zone with its own key, and loses other.net.
    let fresh_keys = format!("own._update.fresh.test. DNSKEY 0 3 163 {S3}\n");
    let f: Vec<(&str, String)> = vec![
        ("example.org", zone(10)),
        ("fresh.test", zone(30)),
        ("fresh.test._keys", fresh_keys),
        ("_keys", root_keys()),
    ];
    let v: Vec<(&str, &str)> = f.iter().map(|(n, t)| (*n, t.as_str())).collect();
    assert_eq!(zone_device(&ns, &v), dev);
    // Its key is known only after the reload: the NOTIFY waits for it.
    let out = notify(&ns, "fresh.test", &format!("hmac-sha256:own._update:{S3}"));
    acked(&out, &g);
    assert!(dig(&ns, &["fresh.test", "SOA", "+short"]).contains(" 30 "));
    let out = dig(&ns, &["other.net", "SOA"]);
    assert_eq!(status(&out), "REFUSED", "{out}");
    g.wait_for("zone other.net. removed", T);
    // A key nobody knows, for a zone nobody has: NOTAUTH + BADKEY once the
    // reload showed it (or at once when the rate limit holds it back).
    let out = notify(
        &ns,
        "nothing.test",
        &format!("hmac-sha256:who._update:{S3}"),
    );
    assert!(status(&out) == "NOTAUTH" && out.contains("BADKEY"), "{out}");
}

/// An unsigned root SOA query over TCP to the peer at 10.0.0.1, once it
/// answers.
fn root_soa_of_peer(ns: &Netns) -> String {
    let mut out = String::new();
    for _ in 0..50 {
        out = run_in(
            ns,
            "dig",
            &[
                "@10.0.0.1",
                "+tcp",
                "+norec",
                "+time=1",
                "+tries=1",
                ".",
                "SOA",
            ],
        );
        if out.contains("status: ") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    out
}

/// NSD on 10.0.0.1@53 in `ns` serving `zone` (master-file `text`).
fn nsd_authority(ns: &Netns, zone: &str, text: &str) -> Daemon {
    let dir = peer_dir(&format!("{}-nsdauth", ns.name));
    std::fs::write(dir.join("zone"), text).unwrap();
    let conf = format!(
        "server:\n  ip-address: 10.0.0.1\n  port: 53\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\nremote-control:\n  control-enable: no\nzone:\n  name: {zone}\n  zonefile: zone\n",
        d = dir.display()
    );
    spawn_nsd(ns, dir, &conf, false)
}

fn commit_remove(srv: &GitServer, names: &[&str], msg: &str) {
    git(&srv.work, &["pull", "-q", "--ff-only", "origin", "main"]);
    let mut a = vec!["rm", "-q"];
    a.extend_from_slice(names);
    git(&srv.work, &a);
    git(&srv.work, &["commit", "-q", "-m", msg]);
    git(&srv.work, &["push", "-q", "origin", "main"]);
}

/// A zone pushed to git with its own keys, then a NOTIFY signed with its
/// own key: fetched, served, and its secondary (Knot, named by the zone's
/// `<primary>.<secondary>._transfer.` key) follows after gitns's NOTIFY.
/// Removed from git: REFUSED after the NOTIFY, and after a restart from
/// the storage cache with the remote down.
#[test]
fn a_zone_added_and_removed_through_git() {
    let test = "a_zone_added_and_removed_through_git";
    if !vm(test) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns("gitzones");
    let keys = format!("personal._update.example.org. DNSKEY 0 3 163 {S1}\n");
    let mut srv = GitServer::start(
        &ns,
        "gitzones",
        &key(SEED).1,
        &[("example.org", &zone(1)), ("example.org._keys", &keys)],
    );
    let dev = zone_device(&ns, &[("example.org", &zone(1))]);
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(SEED).0),
        format!("--ssh-authenticator={}", srv.fingerprint),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for("git: main is at", T);
    let out = dig(&ns, &["new.test", "SOA"]);
    assert_eq!(status(&out), "REFUSED", "{out}");

    // Knot will be new.test's secondary, named by the zone's own key.
    let sec_key = "10.0.0.2.10.0.0.1._transfer.new.test";
    let knot = knot_secondary(&ns, "new.test", sec_key, S2);
    let new_keys =
        format!("personal._update.new.test. DNSKEY 0 3 163 {S3}\n{sec_key}. DNSKEY 0 3 163 {S2}\n");
    srv.commit(
        &[("new.test", &zone(7)), ("new.test._keys", &new_keys)],
        "a new zone",
    );
    // Signed with the new zone's own key, which only the fetch brings.
    let out = notify(
        &ns,
        "new.test",
        &format!("hmac-sha256:personal._update:{S3}"),
    );
    acked(&out, &g);
    assert!(dig(&ns, &["new.test", "SOA", "+short"]).contains(" 7 "));
    eventually("Knot serving new.test", &g, || {
        run_in(
            &ns,
            "dig",
            &[
                "@10.0.0.1",
                "+time=1",
                "+tries=1",
                "www.new.test",
                "A",
                "+short",
            ],
        )
        .contains("192.0.2.7")
    });
    g.wait_for("transfer of new.test. serial 7 to 10.0.0.1", T);
    drop(knot);

    // The same over TCP, with another zone and key: the held answer goes
    // back on the client's connection. (The gate lets one such fetch
    // through per 2 s.)
    std::thread::sleep(Duration::from_secs(2));
    let ops_keys = format!("ops._update.tcp.test. DNSKEY 0 3 163 {S2}\n");
    srv.commit(
        &[("tcp.test", &zone(9)), ("tcp.test._keys", &ops_keys)],
        "another zone",
    );
    let out = dig(
        &ns,
        &[
            "+tcp",
            "tcp.test",
            "SOA",
            "+opcode=notify",
            "+norec",
            "-y",
            &format!("hmac-sha256:ops._update:{S2}"),
        ],
    );
    acked(&out, &g);
    assert!(dig(&ns, &["tcp.test", "SOA", "+short"]).contains(" 9 "));

    // Removed from git: REFUSED after the NOTIFY (any zone's key fetches).
    commit_remove(&srv, &["new.test", "new.test._keys"], "new.test goes");
    let out = notify(
        &ns,
        "example.org",
        &format!("hmac-sha256:personal._update:{S1}"),
    );
    assert_eq!(status(&out), "NOERROR", "{out}");
    eventually("new.test REFUSED", &g, || {
        status(&dig(&ns, &["new.test", "SOA"])) == "REFUSED"
    });
    g.wait_for("zone new.test. removed", T);
    // Restart from the storage cache with the remote down: still gone.
    drop(g);
    srv.stop_sshd();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for(" ready", T);
    assert!(
        dig(&ns, &["example.org", "SOA", "+short"]).contains(" 1 "),
        "{}",
        g.output()
    );
    let out = dig(&ns, &["new.test", "SOA"]);
    assert_eq!(status(&out), "REFUSED", "{out}\n{}", g.output());
    assert!(
        !g.output().contains("zone new.test. loaded"),
        "{}",
        g.output()
    );
}
