//! DNS end to end: the image (and the unix platform) serve zones from the
//! storage cache; real dig and kdig ask over UDP and TCP.

mod common;
use common::*;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

const ZONE: &str = "$TTL 3600
@ IN SOA ns1 hostmaster 2026112401 7200 3600 1209600 300
@ NS ns1
@ MX 10 mail
ns1 A 10.0.0.2
mail A 192.0.2.25
www A 192.0.2.80
 AAAA 2001:db8::80
alias CNAME www
*.wild TXT \"wildcard\"
sub NS ns.sub
ns.sub A 192.0.2.53
big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
big TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"
big TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"
big TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"
";

const BROKEN: &str = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nwww A 192.0.2.300\n";

/// True when `out` has a record line equal to `rr` (whitespace normalised).
fn has(out: &str, rr: &str) -> bool {
    let want: Vec<&str> = rr.split_whitespace().collect();
    out.lines()
        .any(|l| !l.starts_with(';') && l.split_whitespace().collect::<Vec<_>>() == want)
}

/// A query for `name` type A with `id`, framed for TCP.
fn tcp_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = vec![(id >> 8) as u8, id as u8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in name.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.extend(m);
    f
}

/// Two queries pipelined in one TCP write get two answers, in order.
fn tcp_pipelining(ns: &Netns) {
    let ids = ns
        .run_in(|| {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect_timeout(
                &"10.0.0.2:53".parse().unwrap(),
                Duration::from_secs(5),
            )
            .expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut both = tcp_query(0x1111, "www.example.org");
            both.extend(tcp_query(0x2222, "mail.example.org"));
            s.write_all(&both).unwrap();
            let mut ids = Vec::new();
            for _ in 0..2 {
                let mut len = [0u8; 2];
                s.read_exact(&mut len).unwrap();
                let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                s.read_exact(&mut msg).unwrap();
                assert_eq!(msg[3] & 0x0f, 0, "NOERROR");
                ids.push(u16::from_be_bytes([msg[0], msg[1]]));
            }
            ids
        })
        .unwrap();
    assert_eq!(ids, vec![0x1111, 0x2222]);
}

fn checks(ns: &Netns, g: &Guest) {
    g.wait_for(" ready", T);
    let out = dig(ns, &["www.example.org", "A", "+norec"]);
    assert!(
        out.contains("status: NOERROR") && out.contains("flags: qr aa;"),
        "{out}"
    );
    assert!(has(&out, "www.example.org. 3600 IN A 192.0.2.80"), "{out}");
    // Case of the question is preserved.
    let out = dig(ns, &["WwW.ExAmPlE.oRg", "AAAA", "+norec"]);
    assert!(
        has(&out, "WwW.ExAmPlE.oRg. 3600 IN AAAA 2001:db8::80"),
        "{out}"
    );
    // CNAME chased inside the zone.
    let out = dig(ns, &["alias.example.org", "A", "+norec"]);
    assert!(
        has(&out, "alias.example.org. 3600 IN CNAME www.example.org.")
            && out.contains("192.0.2.80"),
        "{out}"
    );
    // Wildcard synthesis.
    let out = dig(ns, &["anything.wild.example.org", "TXT", "+norec"]);
    assert!(
        has(&out, "anything.wild.example.org. 3600 IN TXT \"wildcard\""),
        "{out}"
    );
    // NXDOMAIN with the SOA, TTL = min(SOA TTL, MINIMUM) = 300.
    let out = dig(ns, &["nope.example.org", "A", "+norec"]);
    assert!(out.contains("status: NXDOMAIN") && has(&out, "example.org. 300 IN SOA ns1.example.org. hostmaster.example.org. 2026112401 7200 3600 1209600 300"), "{out}");
    // NODATA.
    let out = dig(ns, &["www.example.org", "MX", "+norec"]);
    assert!(
        out.contains("status: NOERROR") && out.contains("ANSWER: 0, AUTHORITY: 1"),
        "{out}"
    );
    // Referral with glue, no AA.
    let out = dig(ns, &["host.sub.example.org", "A", "+norec"]);
    assert!(
        out.contains("flags: qr;") && has(&out, "ns.sub.example.org. 3600 IN A 192.0.2.53"),
        "{out}"
    );
    // Additional section for MX.
    let out = dig(ns, &["example.org", "MX", "+norec", "+tcp"]);
    assert!(has(&out, "mail.example.org. 3600 IN A 192.0.2.25"), "{out}");
    // Not ours: REFUSED.
    let out = dig(ns, &["example.com", "A", "+norec"]);
    assert!(out.contains("status: REFUSED"), "{out}");
    // Truncation without EDNS, then TCP fallback gets all six strings.
    let out = dig(ns, &["big.example.org", "TXT", "+norec", "+noedns"]);
    assert!(
        out.contains("Truncated, retrying in TCP mode") && out.contains("ANSWER: 6,"),
        "{out}"
    );
    // EDNS version 1: BADVERS.
    let out = dig(
        ns,
        &["www.example.org", "A", "+norec", "+edns=1", "+noednsneg"],
    );
    assert!(out.contains("status: BADVERS"), "{out}");
    // kdig over TCP, and the broken zone is not served while the good one is.
    let out = run_in(
        ns,
        "kdig",
        &["@10.0.0.2", "+tcp", "+norec", "www.example.org", "A"],
    );
    assert!(out.contains("192.0.2.80") && out.contains("TCP"), "{out}");
    let out = dig(ns, &["www.broken.net", "A", "+norec"]);
    assert!(out.contains("status: REFUSED"), "{out}");
    assert!(
        g.output().contains("zone rejected: broken.net:4:"),
        "{}",
        g.output()
    );
    tcp_pipelining(ns);
}

#[test]
fn the_vm_answers_dig_and_kdig() {
    if !kvm_or_skip("the_vm_answers_dig_and_kdig") || !netns_or_skip("the_vm_answers_dig_and_kdig")
    {
        return;
    }
    let ns = netns("dnsvm");
    let g = Guest::boot_with_zones(
        &ns,
        &[("example.org", ZONE), ("broken.net", BROKEN)],
        &["--ipv4=10.0.0.2/24"],
    );
    checks(&ns, &g);
}

#[test]
fn the_unix_platform_answers_dig_and_kdig() {
    if !netns_or_skip("the_unix_platform_answers_dig_and_kdig") {
        return;
    }
    let ns = netns("dnsunix");
    let g = Guest::unix_with_zones(
        &ns,
        &[("example.org", ZONE), ("broken.net", BROKEN)],
        &["--ipv4=10.0.0.2/24"],
    );
    checks(&ns, &g);
}
