//! The contained tender (issue 25): a running gitns-hvt has no_new_privs
//! and a seccomp filter on every thread, runs as the `--user` it was given
//! inside its `--chroot`, and still serves the guest, the metrics endpoint
//! and restarts. Skips loudly without /dev/kvm, fails then when
//! GITNS_REQUIRE_KVM=1.

mod common;
use common::*;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn field(status: &str, name: &str) -> String {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .map(|v| v.trim().to_string())
        .unwrap_or_else(|| panic!("no {name} in\n{status}"))
}

fn empty_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gitns-jail-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn a_running_tender_is_filtered_unprivileged_and_still_serves() {
    let name = "a_running_tender_is_filtered_unprivileged_and_still_serves";
    if !(kvm_or_skip(name) && netns_or_skip(name)) {
        return;
    }
    let ns = netns("sandbox");
    let jail = empty_dir("run");
    let mut c = ns.command(tender().to_str().unwrap());
    c.args([
        "--user=65534:65534".to_string(),
        format!("--chroot={}", jail.display()),
        "--metrics=127.0.0.1:9101".to_string(),
        format!("--net:service={}", ns.tap),
    ])
    .arg(image())
    .args(["--ipv4=10.0.0.2/24", "--udp-echo=7"]);
    let g = Guest::spawn(c);
    g.wait_for(" ready", T);
    let pid = g.id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(status.contains("gitns-hvt"), "{status}");
    assert_eq!(field(&status, "Seccomp:"), "2");
    assert_eq!(field(&status, "NoNewPrivs:"), "1");
    assert!(
        field(&status, "Uid:").starts_with("65534\t65534\t65534"),
        "{status}"
    );
    assert!(
        field(&status, "Gid:").starts_with("65534\t65534\t65534"),
        "{status}"
    );
    let root = std::fs::read_link(format!("/proc/{pid}/root")).unwrap();
    assert_eq!(root, jail);
    // Every thread (the vCPU's and the metrics server's) is filtered.
    let mut threads = 0;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let t = t.unwrap().path();
        let comm = std::fs::read_to_string(t.join("comm")).unwrap_or_default();
        let st = std::fs::read_to_string(t.join("status")).unwrap_or_default();
        if comm.trim() == "gitns-hvt" || comm.trim() == "metrics" {
            assert_eq!(field(&st, "Seccomp:"), "2", "{comm}");
            threads += 1;
        }
    }
    assert_eq!(threads, 2);
    // The guest, its network and the metrics endpoint work inside.
    assert!(ping(&ns, 2), "{}", g.output());
    assert_eq!(
        udp_roundtrip(&ns, 7, b"contained").as_deref(),
        Some(&b"contained"[..])
    );
    let m = ns
        .run_in(|| {
            use std::io::{Read, Write};
            let mut s = std::net::TcpStream::connect("127.0.0.1:9101").expect("connect");
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: gitns\r\nConnection: close\r\n\r\n")
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        })
        .unwrap();
    assert!(m.contains("gitns_tender_hypercalls_total"), "{m}");
    assert!(!g.output().contains("Bad system call"), "{}", g.output());
}

#[test]
fn restarts_happen_inside_the_sandbox() {
    let name = "restarts_happen_inside_the_sandbox";
    if !(kvm_or_skip(name) && netns_or_skip(name)) {
        return;
    }
    let ns = netns("sbxrestart");
    let jail = empty_dir("restart");
    let mut c = ns.command(tender().to_str().unwrap());
    c.args([
        "--restart-on-fail".to_string(),
        "--user=65534".to_string(),
        format!("--chroot={}", jail.display()),
        "--mem=32".to_string(),
        format!("--net:service={}", ns.tap),
    ])
    .arg(image())
    .arg("--test-exhaust-heap");
    let g = Guest::spawn(c);
    let end = Instant::now() + T;
    // Three boots: two restarts made with the filter in place.
    while g.output().matches("gitns: out of memory").count() < 3 {
        assert!(Instant::now() < end, "no restarts:\n{}", g.output());
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = std::fs::read_to_string(format!("/proc/{}/status", g.id())).unwrap();
    assert_eq!(field(&status, "Seccomp:"), "2");
}

#[test]
fn bad_jails_are_refused_before_the_guest_runs() {
    let name = "bad_jails_are_refused_before_the_guest_runs";
    if !(kvm_or_skip(name) && netns_or_skip(name)) {
        return;
    }
    let ns = netns("sbxbad");
    for (opt, want) in [
        ("--user=no-such-user-gitns", "no such user"),
        ("--user=0", "not root"),
        (
            "--chroot=/nonexistent/gitns-jail",
            "--chroot=/nonexistent/gitns-jail",
        ),
    ] {
        let mut c = ns.command(tender().to_str().unwrap());
        c.arg(opt)
            .arg(format!("--net:service={}", ns.tap))
            .arg(image());
        let mut g = Guest::spawn(c);
        assert_eq!(g.wait_exit(T).code(), Some(1), "{opt}: {}", g.output());
        assert!(g.output().contains(want), "{opt}: {}", g.output());
        assert!(!g.output().contains("booting"), "{opt}: {}", g.output());
    }
}
