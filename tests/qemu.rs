//! The same image under QEMU (issue 10): PVH entry, COM1 console, exit
//! status through isa-debug-exit / ACPI poweroff, virtio-net. TCG, so it
//! runs without /dev/kvm; each test in a network namespace of its own.
//! Skips loudly without qemu-system-x86_64 or root (fails then under
//! GITNS_REQUIRE_KVM=1).

mod common;
use common::*;
use std::time::Duration;
use xtask::qemu::guest_status;
use xtask::sshd::{key, GitServer};

/// TCG on a busy 2-core machine: generous.
const T: Duration = Duration::from_secs(60);

fn vm(test: &str) -> bool {
    qemu_or_skip(test) && netns_or_skip(test)
}

#[test]
fn qemu_console_output_and_exit_status() {
    if !vm("qemu_console_output_and_exit_status") {
        return;
    }
    let ns = netns("qconsole");
    let mut g = Guest::qemu(&ns, &["--help"]);
    let st = g.wait_exit(T);
    assert_eq!(
        st.code().and_then(guest_status),
        Some(0),
        "{st}; output:\n{}",
        g.output()
    );
    assert!(
        g.output().contains("gitns: authoritative DNS primary"),
        "{}",
        g.output()
    );
    assert!(g.output().contains("--ipv4=A.B.C.D/N"), "{}", g.output());

    let mut g = Guest::qemu(&ns, &["--no-such-option"]);
    let st = g.wait_exit(T);
    assert_eq!(st.code(), Some((64 << 1) | 1), "output:\n{}", g.output());
    assert_eq!(st.code().and_then(guest_status), Some(64));
    assert!(
        g.output().contains("unknown option `--no-such-option`"),
        "{}",
        g.output()
    );

    // --wall-clock is the platform's: the appliance never sees it.
    let mut g = Guest::qemu(&ns, &["--wall-clock=1796457971", "--help"]);
    assert_eq!(g.wait_exit(T).code(), Some(0), "output:\n{}", g.output());
}

#[test]
fn qemu_guest_answers_ping_and_udp_echo() {
    if !vm("qemu_guest_answers_ping_and_udp_echo") {
        return;
    }
    let ns = netns("qping");
    let g = Guest::qemu(&ns, &["--ipv4=10.0.0.2/24", "--udp-echo=7"]);
    g.wait_for(" ready", T);
    assert!(g.output().contains("mac 52:54:00:"), "{}", g.output());
    assert!(ping(&ns, 3), "no ping reply; output:\n{}", g.output());
    assert_eq!(
        udp_roundtrip(&ns, 7, b"hello from the host").as_deref(),
        Some(&b"hello from the host"[..])
    );
    // Many frames in one burst: a 200-ping flood crosses both rings.
    let out = run_in(
        &ns,
        "ping",
        &["-c", "200", "-f", "-W", "1", "-s", "1400", "10.0.0.2"],
    );
    assert!(out.contains(" 0% packet loss"), "{out}");
}

const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const ZONE: &str = "$TTL 3600
@ SOA ns1 hostmaster 2026120501 7200 3600 1209600 300
@ NS ns1
ns1 A 10.0.0.2
www A 192.0.2.80
big TXT \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"
big TXT \"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\"
big TXT \"cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc\"
big TXT \"dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd\"
big TXT \"eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee\"
big TXT \"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff\"
";

/// DNS end to end under QEMU: zones cloned from git over SSH (sshd in the
/// namespace), dig over UDP (with truncation) and TCP, and a TSIG-signed
/// UPDATE pushed back, which also proves the RTC wall clock (TSIG allows
/// 300 s of skew).
#[test]
fn qemu_dns_from_git_over_udp_and_tcp() {
    let test = "qemu_dns_from_git_over_udp_and_tcp";
    if !vm(test) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns("qdns");
    let seed = [0x5a; 32];
    let srv = GitServer::start(
        &ns,
        "qdns",
        &key(seed).1,
        &[
            ("example.test", ZONE),
            (
                "example.test._keys",
                &format!("op._update.example.test. DNSKEY 0 3 163 {SECRET}\n"),
            ),
        ],
    );
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(seed).0),
        format!("--ssh-authenticator={}", srv.fingerprint),
    ];
    let g = Guest::qemu(&ns, &args.iter().map(String::as_str).collect::<Vec<_>>());
    g.wait_for("git: main is at", T);
    g.wait_for("ready", T);

    let www = dig(&ns, &["www.example.test", "A", "+short"]);
    assert_eq!(www.trim(), "192.0.2.80", "output:\n{}", g.output());
    let soa = dig(&ns, &["example.test", "SOA", "+tcp", "+short"]);
    assert!(soa.contains(" 2026120501 "), "{soa}");
    // 600 bytes of TXT: truncated over UDP at 512, whole over TCP.
    let udp = dig(
        &ns,
        &[
            "big.example.test",
            "TXT",
            "+bufsize=0",
            "+ignore",
            "+noedns",
        ],
    );
    assert!(udp.contains("flags: qr aa tc"), "{udp}");
    let tcp = dig(&ns, &["big.example.test", "TXT", "+tcp"]);
    assert!(tcp.contains("ANSWER: 6,"), "{tcp}");
    let nx = dig(&ns, &["nope.example.test", "A"]);
    assert!(nx.contains("status: NXDOMAIN"), "{nx}");

    let script =
        "server 10.0.0.2\nzone example.test\nupdate add new.example.test 300 A 192.0.2.77\nsend\n";
    let (ok, out) = nsupdate(
        &ns,
        &[
            "-y",
            &format!("hmac-sha256:op._update.example.test:{SECRET}"),
        ],
        script,
    );
    assert!(ok, "nsupdate: {out}; output:\n{}", g.output());
    let pushed = xtask::gitread::file_at(&srv.repo, "main", "example.test")
        .unwrap()
        .unwrap();
    assert!(String::from_utf8_lossy(&pushed).contains("new.example.test. 300 IN A 192.0.2.77"));
    let new = dig(&ns, &["new.example.test", "A", "+short"]);
    assert_eq!(new.trim(), "192.0.2.77");
}

/// The zone cache on a virtio-blk device: zones served from it, a signed
/// UPDATE written back to it (whole-archive rewrite, flushed) and still
/// there after a reboot.
#[test]
fn qemu_dns_from_the_storage_device() {
    let test = "qemu_dns_from_the_storage_device";
    if !vm(test) {
        return;
    }
    let ns = netns("qblk");
    let dev = zone_device(
        &ns,
        &[
            ("example.test", ZONE),
            (
                "example.test._keys",
                &format!("op._update.example.test. DNSKEY 0 3 163 {SECRET}\n"),
            ),
        ],
    );
    let g = Guest::qemu_with_storage(&ns, Some(&dev), &["--ipv4=10.0.0.2/24"]);
    g.wait_for("ready: serving 1 zones", T);
    let www = dig(&ns, &["www.example.test", "A", "+short"]);
    assert_eq!(www.trim(), "192.0.2.80", "output:\n{}", g.output());
    let tcp = dig(&ns, &["big.example.test", "TXT", "+tcp"]);
    assert!(tcp.contains("ANSWER: 6,"), "{tcp}");
    let script =
        "server 10.0.0.2\nzone example.test\nupdate add new.example.test 300 A 192.0.2.77\nsend\n";
    let (ok, out) = nsupdate(
        &ns,
        &[
            "-y",
            &format!("hmac-sha256:op._update.example.test:{SECRET}"),
        ],
        script,
    );
    assert!(ok, "nsupdate: {out}; output:\n{}", g.output());
    drop(g);

    let g = Guest::qemu_with_storage(&ns, Some(&dev), &["--ipv4=10.0.0.2/24"]);
    g.wait_for("ready: serving 1 zones", T);
    let new = dig(&ns, &["new.example.test", "A", "+short"]);
    assert_eq!(new.trim(), "192.0.2.77", "output:\n{}", g.output());
    let _ = std::fs::remove_file(&dev);
}
