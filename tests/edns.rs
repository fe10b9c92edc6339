//! UDP and EDNS on the wire (issue 24), with real dig against the booted
//! image and, in the same test, NSD as the control behind a 1500-byte MTU
//! link: an answer bigger than the MTU to `+bufsize=4096` arrives (TC or
//! fitting, never lost), DO is copied, EDNS version 1 gets BADVERS,
//! unsigned IXFR is refused, CH TXT version.bind is REFUSED unless
//! configured, NSID, cookies (the second query carries the server cookie
//! and gets NOERROR), and response rate limiting slips and drops a burst
//! and counts it in /metrics.

mod common;
use common::*;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// A zone with a 20 x 200-byte TXT RRset (about 4.3 KB: bigger than any
/// UDP answer on a 1500 MTU) and a 6 x 200-byte one (about 1.3 KB: above
/// 1232, below 1472).
fn zone() -> String {
    let mut z = String::from(
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.80\n",
    );
    for (name, n) in [("big", 20), ("mid", 6)] {
        for i in 0..n {
            let c = (b'a' + i as u8) as char;
            z.push_str(&format!("{name} TXT \"{}\"\n", c.to_string().repeat(200)));
        }
    }
    z
}

/// A second namespace joined to `ns` by a veth with a 1500-byte MTU
/// (10.0.5.1 in `ns`, 10.0.5.2 in the peer); deleted on drop.
struct Peer {
    name: String,
}

impl Peer {
    fn create(ns: &Netns) -> Peer {
        let name = format!("{}-p", ns.name);
        let _ = Command::new("ip")
            .args(["netns", "del", &name])
            .stderr(Stdio::null())
            .status();
        let ok = |c: &mut Command| assert!(c.status().expect("ip").success(), "{c:?}");
        ok(Command::new("ip").args(["netns", "add", &name]));
        let peer = Peer { name };
        let (a, b) = (
            format!("ve{}a", std::process::id() % 100_000),
            format!("ve{}b", std::process::id() % 100_000),
        );
        ok(Command::new("ip").args([
            "link", "add", &a, "mtu", "1500", "type", "veth", "peer", "name", &b, "mtu", "1500",
        ]));
        ok(Command::new("ip").args(["link", "set", &a, "netns", &ns.name]));
        ok(Command::new("ip").args(["link", "set", &b, "netns", &peer.name]));
        for (n, dev, ip) in [
            (&ns.name, &a, "10.0.5.1/24"),
            (&peer.name, &b, "10.0.5.2/24"),
        ] {
            ok(Command::new("ip").args(["netns", "exec", n, "ip", "addr", "add", ip, "dev", dev]));
            ok(Command::new("ip").args(["netns", "exec", n, "ip", "link", "set", dev, "up"]));
            ok(Command::new("ip").args(["netns", "exec", n, "ip", "link", "set", "lo", "up"]));
        }
        peer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// NSD on 10.0.5.2 in `peer` serving `zone`, hiding version and identity.
fn nsd(peer: &Peer, ns: &Netns, zone: &str) -> Daemon {
    let dir = peer_dir("edns-nsd");
    std::fs::write(dir.join("example.org.zone"), zone).unwrap();
    let conf = format!(
        "server:\n  ip-address: 10.0.5.2\n  port: 53\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  hide-version: yes\n  hide-identity: yes\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: example.org\n  zonefile: example.org.zone\n",
        d = dir.display()
    );
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let child = Command::new("ip")
        .args(["netns", "exec", &peer.name, "nsd", "-d", "-c"])
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("nsd");
    let d = Daemon {
        child,
        dir,
        port: 53,
    };
    for _ in 0..100 {
        if dig_at(ns, "10.0.5.2", &["www.example.org", "A"]).contains("status: NOERROR") {
            return d;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("nsd did not come up");
}

fn dig_at(ns: &Netns, server: &str, args: &[&str]) -> String {
    let at = format!("@{server}");
    let mut a = vec![at.as_str(), "+tries=2", "+time=2", "+norec"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// `;; MSG SIZE  rcvd: N` of a dig answer.
fn size(out: &str) -> usize {
    out.split("MSG SIZE  rcvd: ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {out}"))
}

fn status(out: &str) -> &str {
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("(no answer)")
}

/// Both servers: a big answer to `+bufsize=4096 +ignore` arrives over UDP
/// (gitns: truncated to one packet; NSD: whatever it does, it arrives);
/// DO copied; EDNS version 1 is BADVERS.
fn both(ns: &Netns, server: &str, max: usize) {
    let out = dig_at(
        ns,
        server,
        &["+bufsize=4096", "+ignore", "big.example.org", "TXT"],
    );
    assert_eq!(status(&out), "NOERROR", "{server}: {out}");
    assert!(size(&out) <= max, "{server}: {} bytes: {out}", size(&out));
    let out = dig_at(ns, server, &["+bufsize=4096", "big.example.org", "TXT"]);
    let records = out
        .lines()
        .filter(|l| l.starts_with("big.example.org."))
        .count();
    assert_eq!(
        records, 20,
        "{server}: all 20 records, over TCP if need be: {out}"
    );
    let out = dig_at(ns, server, &["+dnssec", "www.example.org", "A"]);
    assert!(
        out.contains("; EDNS: version: 0, flags: do;"),
        "{server}: {out}"
    );
    let out = dig_at(
        ns,
        server,
        &["+edns=1", "+noednsneg", "www.example.org", "A"],
    );
    assert_eq!(status(&out), "BADVERS", "{server}: {out}");
    let out = dig_at(ns, server, &["CH", "TXT", "version.bind"]);
    assert_eq!(status(&out), "REFUSED", "{server}: {out}");
}

fn scrape(ns: &Netns) -> String {
    ns.run_in(|| {
        let mut s = std::net::TcpStream::connect("127.0.0.1:9100").expect("--metrics");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: gitns\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .unwrap()
}

fn metric(text: &str, key: &str) -> u64 {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.trim().parse().ok())
        .unwrap_or(0)
}

/// 200 UDP queries for one name sent back to back from one address:
/// (answers, TC answers) that came back.
fn burst(ns: &Netns) -> (usize, usize) {
    ns.run_in(|| {
        let s = std::net::UdpSocket::bind("10.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500)))
            .unwrap();
        let mut q = vec![0u8, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        q.extend_from_slice(b"\x03www\x07example\x03org\x00\x00\x01\x00\x01");
        for id in 0..200u16 {
            q[..2].copy_from_slice(&id.to_be_bytes());
            s.send_to(&q, "10.0.0.2:53").unwrap();
        }
        let (mut answers, mut tc) = (0, 0);
        let mut buf = [0u8; 1500];
        while let Ok(n) = s.recv(&mut buf) {
            answers += 1;
            if n > 3 && buf[2] & 0x02 != 0 {
                tc += 1;
            }
        }
        (answers, tc)
    })
    .unwrap()
}

/// An IXFR query for example.org (client serial 0) over UDP: the RCODE.
fn ixfr_udp(ns: &Netns) -> Option<u8> {
    ns.run_in(|| {
        let s = std::net::UdpSocket::bind("10.0.0.1:0").unwrap();
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut q = vec![0x12u8, 0x34, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0];
        q.extend_from_slice(b"\x07example\x03org\x00\x00\xfb\x00\x01");
        // Authority: example.org SOA with serial 0 (RFC 1995 3).
        q.extend_from_slice(&[0xc0, 12, 0, 6, 0, 1, 0, 0, 0, 0, 0, 22]);
        q.extend_from_slice(&[
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ]);
        s.send_to(&q, "10.0.0.2:53").ok()?;
        let mut buf = [0u8; 1500];
        let n = s.recv(&mut buf).ok()?;
        (n >= 12 && buf[..2] == [0x12, 0x34]).then_some(buf[3] & 0x0f)
    })
    .unwrap()
}

#[test]
fn udp_and_edns_like_nsd() {
    let t = "udp_and_edns_like_nsd";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("nsd"), "nsd") {
        return;
    }
    let ns = netns("edns");
    let peer = Peer::create(&ns);
    let z = zone();
    let _nsd = nsd(&peer, &ns, &z);
    let dev = zone_device(&ns, &[("example.org", z.as_str())]);
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg("--metrics=127.0.0.1:9100")
        .arg(format!("--net:service={}", ns.tap))
        .arg(format!("--block:storage={}", dev.display()))
        .arg(image_storage())
        .args([
            "--ipv4=10.0.0.2/24",
            "--edns-udp-size=4096",
            "--nsid=gitns-test",
            "--rrl-rate=10",
        ]);
    let g = Guest::spawn(c);
    g.wait_for(" ready", T);

    // NSD first: if the control fails a step, the step is wrong.
    both(&ns, "10.0.5.2", 65_535);
    // gitns: even with --edns-udp-size=4096, no answer above one packet
    // (1500 - 20 - 8), and never an IP fragment.
    both(&ns, "10.0.0.2", 1472);
    let out = dig_at(
        &ns,
        "10.0.0.2",
        &["+bufsize=4096", "+ignore", "big.example.org", "TXT"],
    );
    assert!(out.contains(" tc"), "TC: {out}");
    let out = dig_at(
        &ns,
        "10.0.0.2",
        &["+bufsize=4096", "+ignore", "mid.example.org", "TXT"],
    );
    assert!(
        !out.contains(" tc") && size(&out) > 1232 && size(&out) <= 1472,
        "fits one packet: {out}"
    );

    // Unsigned IXFR refused over UDP and TCP, like AXFR (dig prints no
    // status for a transfer: the UDP answer is read raw).
    let rcode = ixfr_udp(&ns);
    assert_eq!(rcode, Some(5), "IXFR over UDP: REFUSED");
    for args in [
        &["example.org", "IXFR=0", "+tcp"][..],
        &["example.org", "AXFR"],
    ] {
        let out = dig_at(&ns, "10.0.0.2", args);
        assert!(out.contains("Transfer failed"), "{args:?}: {out}");
        assert!(!out.contains("IN\tSOA\tns1"), "{args:?} answered: {out}");
    }

    // NSID.
    let out = dig_at(&ns, "10.0.0.2", &["+nsid", "www.example.org", "A"]);
    assert!(out.contains("NSID: 67 69 74 6e 73 2d 74 65 73 74"), "{out}");

    // Cookies: a client cookie gets a server cookie; sent back, it is good.
    let out = dig_at(&ns, "10.0.0.2", &["+cookie", "www.example.org", "A"]);
    let cookie = dig_cookie(&out).unwrap_or_else(|| panic!("no COOKIE: {out}"));
    assert_eq!(cookie.len(), 48, "client + RFC 9018 server cookie: {out}");
    let again = dig_at(
        &ns,
        "10.0.0.2",
        &[&format!("+cookie={cookie}"), "www.example.org", "A"],
    );
    assert_eq!(status(&again), "NOERROR", "{again}");
    assert!(again.contains("(good)"), "{again}");

    // RRL at 10/s: a burst of 200 gets about 10 answers, then every second
    // limited answer slipped (TC), the rest dropped; /metrics counts them.
    let (answers, tc) = burst(&ns);
    assert!(tc >= 50 && answers - tc <= 20, "answers {answers}, TC {tc}");
    assert!(answers < 150, "some were dropped: {answers}");
    let mut m = String::new();
    for _ in 0..30 {
        m = scrape(&ns);
        if metric(&m, "gitns_rrl_responses_total{action=\"slipped\"}") >= tc as u64 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let (slipped, dropped) = (
        metric(&m, "gitns_rrl_responses_total{action=\"slipped\"}"),
        metric(&m, "gitns_rrl_responses_total{action=\"dropped\"}"),
    );
    assert!(
        slipped >= tc as u64 && dropped >= 50,
        "slipped {slipped} dropped {dropped}:\n{m}"
    );
    // A client with our server cookie is not limited (as Knot).
    let out = dig_at(
        &ns,
        "10.0.0.2",
        &[
            &format!("+cookie={cookie}"),
            "+notcp",
            "+ignore",
            "www.example.org",
            "A",
        ],
    );
    assert!(
        out.contains("status: NOERROR") && !out.contains(" tc"),
        "{out}"
    );
    drop(g);
}

#[test]
fn chaos_identity_when_configured() {
    let t = "chaos_identity_when_configured";
    if !kvm_or_skip(t) || !netns_or_skip(t) {
        return;
    }
    let ns = netns("chaos");
    let z = zone();
    let g = Guest::boot_with_zones(
        &ns,
        &[("example.org", z.as_str())],
        &[
            "--ipv4=10.0.0.2/24",
            "--version=gitns-test",
            "--identity=ns1.test",
        ],
    );
    g.wait_for(" ready", T);
    let out = dig_at(&ns, "10.0.0.2", &["CH", "TXT", "version.bind"]);
    assert!(
        out.contains("version.bind.\t\t0\tCH\tTXT\t\"gitns-test\""),
        "{out}"
    );
    let out = dig_at(&ns, "10.0.0.2", &["CH", "TXT", "id.server"]);
    assert!(
        out.contains("\"ns1.test\"") && out.contains("flags: qr;"),
        "{out}"
    );
    let out = dig_at(&ns, "10.0.0.2", &["CH", "TXT", "other.bind"]);
    assert_eq!(status(&out), "REFUSED", "{out}");
}
