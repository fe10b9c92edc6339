//! gitns-hvt against the current upstream solo5-hvt interface (Solo5's
//! tests/tests.bats): the tap's MTU reported to the guest and used by it
//! (test_net_mtu's "MTU is 9000"), and `--block-sector-size:NAME=N` with
//! solo5-hvt's checks and messages. Skips loudly without /dev/kvm, fails
//! then when GITNS_REQUIRE_KVM=1.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn vm(test: &str) -> bool {
    kvm_or_skip(test) && netns_or_skip(test)
}

/// IP reassemblies the namespace's kernel did (its own /proc/net/snmp).
fn reassemblies(ns: &Netns) -> u64 {
    let snmp = run_in(ns, "cat", &["/proc/net/snmp"]);
    let mut ip = snmp.lines().filter(|l| l.starts_with("Ip:"));
    let (names, values) = (ip.next().unwrap_or(""), ip.next().unwrap_or(""));
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "ReasmReqds")
        .and_then(|(_, v)| v.parse().ok())
        .expect("ReasmReqds in /proc/net/snmp")
}

/// ping 10.0.0.2 with `size` bytes of payload, Don't Fragment set.
fn ping_df(ns: &Netns, size: u32) -> String {
    run_in(
        ns,
        "ping",
        &[
            "-M",
            "do",
            "-s",
            &size.to_string(),
            "-c",
            "3",
            "-i",
            "0.2",
            "-W",
            "2",
            "10.0.0.2",
        ],
    )
}

#[test]
fn the_taps_mtu_reaches_the_guest_and_jumbo_frames_cross_whole() {
    if !vm("the_taps_mtu_reaches_the_guest_and_jumbo_frames_cross_whole") {
        return;
    }
    let ns = netns("mtu9000");
    run_in(&ns, "ip", &["link", "set", &ns.tap, "mtu", "9000"]);
    let g = Guest::boot(&ns, &["--ipv4=10.0.0.2/24", "--udp-echo=7"]);
    g.wait_for(" ready", T);
    assert!(g.output().contains("mtu 9000)"), "{}", g.output());
    let before = reassemblies(&ns);
    let out = ping_df(&ns, 8000);
    assert!(out.contains(" 0% packet loss"), "{out}\n{}", g.output());
    assert!(out.contains("8008 bytes from 10.0.0.2"), "{out}");
    assert_eq!(
        reassemblies(&ns),
        before,
        "the guest's 8028-byte replies came in IP fragments"
    );

    // The default tap: MTU 1500 reported, full-size frames still answered,
    // and larger ones refused by the host before they reach the guest.
    let ns = netns("mtu1500");
    let g = Guest::boot(&ns, &["--ipv4=10.0.0.2/24"]);
    g.wait_for(" ready", T);
    assert!(g.output().contains("mtu 1500)"), "{}", g.output());
    let out = ping_df(&ns, 1472);
    assert!(out.contains(" 0% packet loss"), "{out}\n{}", g.output());
    assert!(!ping_df(&ns, 8000).contains(" 0% packet loss"));
}

/// A zeroed file of `len` bytes.
fn file_of(name: &str, len: u64) -> PathBuf {
    let p = std::env::temp_dir().join(format!("gitns-sector-{name}-{}", std::process::id()));
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(len).unwrap();
    p
}

/// The tender with `opts` before the storage image; (status, output).
fn tender_run(ns: &Netns, opts: &[String]) -> (Option<i32>, String) {
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg(format!("--net:service={}", ns.tap))
        .args(opts)
        .arg(image_storage())
        .arg("--help");
    let mut g = Guest::spawn(c);
    let st = g.wait_exit(T);
    (st.code(), g.output())
}

#[test]
fn block_sector_size_is_checked_as_solo5_hvt_checks_it() {
    if !vm("block_sector_size_is_checked_as_solo5_hvt_checks_it") {
        return;
    }
    let ns = netns("sectors");
    let opt = |f: &Path, size: &str| {
        vec![
            format!("--block:storage={}", f.display()),
            format!("--block-sector-size:storage={size}"),
        ]
    };
    // tests.bats "blk misaligned hvt": 3 x 2 KiB with 4096-byte sectors.
    let f = file_of("misaligned", 3 * 2048);
    let (st, out) = tender_run(&ns, &opt(&f, "4096"));
    assert_eq!(st, Some(1), "{out}");
    assert!(
        out.contains("storage: Backing storage size must be block aligned (4096 bytes)"),
        "{out}"
    );
    // "blk odd hvt" and "blk too small hvt".
    for (size, len) in [("521", 3 * 521), ("256", 256)] {
        let f = file_of(size, len);
        let (st, out) = tender_run(&ns, &opt(&f, size));
        assert_eq!(st, Some(1), "{out}");
        assert!(
            out.contains("Block size must be a multiple of 2 greater than or equal 512"),
            "{out}"
        );
    }
    let f = file_of("undeclared", 4 << 20);
    let mut o = opt(&f, "4096");
    o.push("--block-sector-size:nosuch=4096".into());
    let (st, out) = tender_run(&ns, &o);
    assert_eq!(st, Some(1), "{out}");
    assert!(
        out.contains("Resource not declared in manifest: 'nosuch'"),
        "{out}"
    );
    // "blk block-sector-size=4096 hvt": accepted, and the guest runs.
    let (st, out) = tender_run(&ns, &opt(&f, "4096"));
    assert_eq!(st, Some(0), "{out}");
}

fn boot_sectors(ns: &Netns, dev: &Path, sector: u32) -> Guest {
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg(format!("--net:service={}", ns.tap))
        .arg(format!("--block:storage={}", dev.display()))
        .arg(format!("--block-sector-size:storage={sector}"))
        .arg(image_storage())
        .arg("--ipv4=10.0.0.2/24");
    Guest::spawn(c)
}

#[test]
fn storage_on_4096_byte_sectors_keeps_acknowledged_updates() {
    if !vm("storage_on_4096_byte_sectors_keeps_acknowledged_updates") {
        return;
    }
    let ns = netns("sector4k");
    let zone = "$TTL 3600\n@ SOA ns1 hostmaster 2026120701 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n";
    let keys = format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n");
    let dev = zone_device(&ns, &[("x25519.net", zone), ("x25519.net._keys", &keys)]);
    let len = std::fs::metadata(&dev).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&dev).unwrap();
    f.set_len(len.div_ceil(4096) * 4096).unwrap();
    let key = format!("hmac-sha256:personal._update.x25519.net:{SECRET}");
    let g = boot_sectors(&ns, &dev, 4096);
    g.wait_for(" ready", T);
    for i in 1..=3 {
        let script = format!(
            "server 10.0.0.2 53\nzone x25519.net\nupdate add n{i}.x25519.net 300 A 192.0.2.{i}\nsend\n"
        );
        let (ok, out) = nsupdate(&ns, &["-y", &key], &script);
        assert!(ok, "{out}\n{}", g.output());
    }
    drop(g);
    // Again on 4096-byte sectors, then on 512-byte ones: the same bytes.
    for sector in [4096, 512] {
        let g = boot_sectors(&ns, &dev, sector);
        g.wait_for(" ready", T);
        for i in 1..=3 {
            let a = dig(&ns, &[&format!("n{i}.x25519.net"), "A", "+short"]);
            assert!(a.contains(&format!("192.0.2.{i}")), "{a}\n{}", g.output());
        }
        assert!(
            dig(&ns, &["x25519.net", "SOA", "+short"]).contains("2026120704"),
            "{}",
            g.output()
        );
    }
}
