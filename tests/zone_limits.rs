//! The zone-content limits battery in the appliance (issue 24): zones just
//! below and just above each limit, from the storage cache and from git.
//! Below a limit the zone is served (and transferred as Knot transfers the
//! same file); above it the zone is reported with file:line:col and left
//! out, the others served, the last good version kept, never a crash.
//! `check` runs the same battery in xtask/src/check.rs.

mod common;
use common::*;
use std::time::{Duration, Instant};
use xtask::sshd::{key, GitServer};
use xtask::zones::txt_of_size;

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn zone(serial: u32, extra: &str) -> String {
    format!("$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n{extra}")
}

/// The largest RDATA at `www.<4 letters>.net.` (a 14-octet owner).
fn max() -> usize {
    gitns_dns::rdata::max_rdata(14)
}

/// The zone with the largest TXT, and things the loader warns of.
fn good() -> String {
    zone(
        1,
        &format!(
            "{}other.org. A 192.0.2.9\nwww A 192.0.2.1\nwww A 192.0.2.1\n",
            txt_of_size("www", max())
        ),
    )
}

/// dig in `ns` at `server`.
fn dig_at(ns: &Netns, server: &str, args: &[&str]) -> String {
    let mut a = vec![server, "+tries=2", "+time=3"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// A transfer listing with the records between the SOAs sorted (RFC 5936
/// 2.2 fixes no order for them).
fn transfer(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let n = lines.len();
    if n > 2 {
        lines[1..n - 1].sort();
    }
    lines
}

#[test]
fn the_battery_from_the_storage_cache() {
    let test = "the_battery_from_the_storage_cache";
    if !kvm_or_skip(test) || !netns_or_skip(test) {
        return;
    }
    let ns = netns("zonelimits");
    let (over, u16) = (
        zone(1, &txt_of_size("www", max() + 1)),
        zone(1, &txt_of_size("www", 65536)),
    );
    let inc = |n: usize| zone(1, &"$INCLUDE part\n".repeat(n));
    let part = "x A 192.0.2.7\n";
    let g = Guest::boot_with_zones(
        &ns,
        &[
            ("good.net", &good()),
            ("over.net", &over),
            ("u16a.net", &u16),
            ("in64.net", &inc(64)),
            ("in65.net", &inc(65)),
            ("part", part),
        ],
        &["--ipv4=10.0.0.2/24", "--axfr"],
    );
    g.wait_for(" ready", T);
    let m = max();
    let too_big = |f: &str, n: usize, at_most: usize| {
        format!(
            "zone rejected: {f}:5:5: TXT record: {n} octets of RDATA cannot fit a DNS message (at most {at_most} at this owner"
        )
    };
    for line in [
        too_big("over.net", m + 1, m),
        too_big("u16a.net", 65536, m),
        "zone rejected: in65.net:69:10: $INCLUDE: more than 64 files read for one zone".into(),
        "zone good.net. loaded: serial 1, 5 records".into(),
        "zone in64.net. loaded: serial 1, 4 records".into(),
        "good.net:6:1: other.org. is outside the zone good.net.: left out".into(),
        "good.net:8:1: www.good.net. A: duplicate record, one copy kept".into(),
    ] {
        g.wait_for(&line, T);
    }
    // Above a limit: not served. Below: served, over TCP whole; over UDP
    // truncated (TC), as it cannot fit a datagram.
    for z in ["www.over.net", "www.u16a.net", "x.in65.net"] {
        let out = dig(&ns, &[z, "TXT", "+norec"]);
        assert!(out.contains("status: REFUSED"), "{z}: {out}");
    }
    assert_eq!(dig(&ns, &["+short", "x.in64.net", "A"]), "192.0.2.7\n");
    let out = dig(&ns, &["www.good.net", "TXT", "+norec", "+tcp"]);
    assert!(
        out.contains("status: NOERROR") && out.contains("ANSWER: 1,"),
        "{out}"
    );
    let rcvd: usize = out
        .split("MSG SIZE  rcvd: ")
        .nth(1)
        .and_then(|r| r.trim().parse().ok())
        .expect("MSG SIZE");
    assert!(rcvd > m && rcvd <= 65535, "{rcvd}");
    let out = dig(&ns, &["www.good.net", "TXT", "+norec", "+notcp", "+ignore"]);
    assert!(out.contains(" tc") || out.contains("tc "), "{out}");
    // The transfer carries the big record whole, as Knot's of the same file.
    let ours = dig_at(&ns, "@10.0.0.2", &["+short", "-t", "axfr", "good.net"]);
    let knot = knot_transfers(&ns, "zonelimits-knot", "good.net", &good());
    let end = Instant::now() + T;
    let mut theirs = String::new();
    while Instant::now() < end && theirs.lines().count() != ours.lines().count() {
        std::thread::sleep(Duration::from_millis(200));
        theirs = dig_at(&ns, "@10.0.0.1", &["+short", "-t", "axfr", "good.net"]);
    }
    drop(knot);
    assert_eq!(ours.lines().count(), 6, "{ours}");
    assert!(ours.contains(&"x".repeat(254)));
    assert_eq!(transfer(&ours), transfer(&theirs));
    // Still alive and answering after all of it.
    assert!(dig(&ns, &["+short", "good.net", "SOA"]).contains(" 1 "));
}

/// `gitns-hvt --mem=MIB IMAGE ARGS` in `ns`.
fn boot_with_memory(ns: &Netns, mib: u32, args: &[String]) -> Guest {
    let mut c = ns.command(tender().to_str().expect("utf-8 path"));
    c.arg(format!("--mem={mib}"))
        .arg(format!("--net:service={}", ns.tap))
        .arg(image())
        .args(args);
    Guest::spawn(c)
}

fn notify(ns: &Netns) {
    let y = format!("hmac-sha256:personal._update:{SECRET}");
    let out = dig(
        ns,
        &["good.net", "SOA", "+opcode=notify", "+norec", "-y", &y],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
}

fn serial(ns: &Netns, want: &str) {
    let end = Instant::now() + T;
    let mut out = String::new();
    while Instant::now() < end {
        out = dig(ns, &["+short", "good.net", "SOA"]);
        if out.contains(want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("serial {want}: {out}");
}

/// A zone file larger than a 64 MiB guest may take in (a pack's objects
/// are held to an eighth of the free heap) arrives by git: the fetch is
/// refused with a clear message, the last good zone stays served, and the
/// next good commit is taken.
#[test]
fn a_zone_too_big_for_the_guest_keeps_the_last_good_zone() {
    let test = "a_zone_too_big_for_the_guest_keeps_the_last_good_zone";
    if !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns("zonebig");
    let seed = [0x3c; 32];
    let keys = format!("personal._update.good.net. DNSKEY 0 3 163 {SECRET}\n");
    let srv = GitServer::start(
        &ns,
        "zonebig",
        &key(seed).1,
        &[("good.net", &zone(1, "")), ("good.net._keys", &keys)],
    );
    let args = vec![
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(seed).0),
        format!("--ssh-authenticator={}", srv.fingerprint),
    ];
    let g = boot_with_memory(&ns, 64, &args);
    serial(&ns, " 1 ");
    // 14 MB of zone: more than an eighth of what a 64 MiB guest has free.
    let mut big = zone(2, "");
    for i in 0..600_000u32 {
        big.push_str(&format!(
            "h{i} A 10.{}.{}.{}\n",
            i >> 16,
            (i >> 8) & 255,
            i & 255
        ));
    }
    assert!(big.len() > 8 << 20, "{}", big.len());
    srv.commit(&[("good.net", &big)], "too big");
    notify(&ns);
    g.wait_for("would pass the memory limit of a fetch", T);
    serial(&ns, " 1 ");
    assert!(
        g.output().contains("serving the loaded zones"),
        "{}",
        g.output()
    );
    // The operator's next commit on top is served: a fetch brings the
    // head's files, not the history with the big one in it.
    srv.commit(&[("good.net", &zone(3, "www A 192.0.2.3\n"))], "fits");
    notify(&ns);
    serial(&ns, " 3 ");
    assert_eq!(dig(&ns, &["+short", "www.good.net", "A"]), "192.0.2.3\n");
}
