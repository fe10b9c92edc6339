//! The same image under QEMU (issue 10): PVH entry, COM1 console, exit
//! status through isa-debug-exit / ACPI poweroff, virtio-net. TCG, so it
//! runs without /dev/kvm; each test in a network namespace of its own.
//! Skips loudly without qemu-system-x86_64 or root (fails then under
//! GITNS_REQUIRE_KVM=1).

mod common;
use common::*;
use std::time::Duration;
use xtask::qemu::guest_status;

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
