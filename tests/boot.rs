//! The boot issue end to end: the image under gitns-hvt in a network
//! namespace the test creates. Skips loudly without /dev/kvm, fails then
//! when GITNS_REQUIRE_KVM=1.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn vm(test: &str) -> bool {
    kvm_or_skip(test) && netns_or_skip(test)
}

#[test]
fn console_output_and_exit_status_pass_through() {
    if !vm("console_output_and_exit_status_pass_through") {
        return;
    }
    let ns = netns("console");
    let mut g = Guest::boot(&ns, &["--help"]);
    let st = g.wait_exit(T);
    assert_eq!(st.code(), Some(0), "output:\n{}", g.output());
    assert!(
        g.output().contains("gitns: authoritative DNS primary"),
        "{}",
        g.output()
    );
    assert!(g.output().contains("--ipv4=A.B.C.D/N"), "{}", g.output());

    let mut g = Guest::boot(&ns, &["--no-such-option"]);
    assert_eq!(g.wait_exit(T).code(), Some(64), "output:\n{}", g.output());
    assert!(
        g.output().contains("unknown option `--no-such-option`"),
        "{}",
        g.output()
    );
}

#[test]
fn guest_answers_ping_and_udp_echo() {
    if !vm("guest_answers_ping_and_udp_echo") {
        return;
    }
    let ns = netns("ping");
    let g = Guest::boot(&ns, &["--ipv4=10.0.0.2/24", "--udp-echo=7"]);
    g.wait_for(" ready", T);
    assert!(ping(&ns, 3), "no ping reply; output:\n{}", g.output());
    assert_eq!(
        udp_roundtrip(&ns, 7, b"hello from the host").as_deref(),
        Some(&b"hello from the host"[..])
    );
}

#[test]
fn guest_falls_back_to_plain_solo5_hypercalls() {
    if !vm("guest_falls_back_to_plain_solo5_hypercalls") {
        return;
    }
    // --no-extensions: the tender offers no feature bits, as solo5-hvt.
    let ns = netns("noext");
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg("--no-extensions")
        .arg(format!("--net:service={}", ns.tap))
        .arg(image())
        .args(["--udp-echo=7"]);
    let g = Guest::spawn(c);
    g.wait_for(" ready", T);
    assert!(ping(&ns, 2), "no ping reply; output:\n{}", g.output());
    assert_eq!(
        udp_roundtrip(&ns, 7, b"plain").as_deref(),
        Some(&b"plain"[..])
    );
}

/// Run the tender on a modified copy of the image; return (status, output).
fn boot_bytes(ns: &Netns, name: &str, bytes: &[u8]) -> (Option<i32>, String) {
    let dir = std::env::temp_dir().join(format!("gitns-badimg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg(format!("--net:service={}", ns.tap)).arg(&path);
    let mut g = Guest::spawn(c);
    let st = g.wait_exit(T);
    let _ = std::fs::remove_file(&path);
    (st.code(), g.output())
}

fn u16_at(b: &[u8], o: usize) -> usize {
    u16::from_le_bytes([b[o], b[o + 1]]) as usize
}

fn u64_at(b: &[u8], o: usize) -> u64 {
    u64::from_le_bytes(b[o..o + 8].try_into().unwrap())
}

/// Offsets of the program headers of an ELF64 image.
fn phdrs(b: &[u8]) -> Vec<usize> {
    let phoff = u64_at(b, 32) as usize;
    let size = u16_at(b, 54);
    (0..u16_at(b, 56)).map(|i| phoff + i * size).collect()
}

#[test]
fn bad_images_are_rejected_with_clear_errors() {
    if !vm("bad_images_are_rejected_with_clear_errors") {
        return;
    }
    let ns = netns("badimg");
    let good = std::fs::read(image()).unwrap();

    let (st, out) = boot_bytes(&ns, "truncated", &good[..100]);
    assert_eq!(st, Some(1), "truncated: {out}");
    assert!(out.contains("gitns-hvt"), "truncated: {out}");

    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (st, out) = boot_bytes(&ns, "garbage", &garbage);
    assert_eq!(st, Some(1), "garbage: {out}");
    assert!(
        out.contains("invalid or unsupported executable"),
        "garbage: {out}"
    );

    // Entry point below 1 MiB.
    let mut b = good.clone();
    b[24..32].copy_from_slice(&0x1000u64.to_le_bytes());
    let (st, out) = boot_bytes(&ns, "entry", &b);
    assert_eq!(st, Some(1), "entry: {out}");
    assert!(out.contains("e_entry"), "entry: {out}");

    // The text segment made writable: W+X.
    let mut b = good.clone();
    let text = phdrs(&b).into_iter().find(|&p| u16_at(&b, p) == 1).unwrap();
    b[text + 4..text + 8].copy_from_slice(&7u32.to_le_bytes());
    let (st, out) = boot_bytes(&ns, "wx", &b);
    assert_eq!(st, Some(1), "W+X: {out}");
    assert!(out.contains("WRITE and EXEC"), "W+X: {out}");

    // ABI version 3 in the ABI note.
    let mut b = good.clone();
    let note = b
        .windows(12)
        .position(|w| w == [6, 0, 0, 0, 16, 0, 0, 0, 0x41, 0x42, 0x49, 0x31])
        .expect("ABI note");
    b[note + 24..note + 28].copy_from_slice(&3u32.to_le_bytes());
    let (st, out) = boot_bytes(&ns, "abi", &b);
    assert_eq!(st, Some(1), "ABI: {out}");
    assert!(out.to_lowercase().contains("abi"), "ABI: {out}");
}

#[test]
fn device_and_memory_errors_are_clear() {
    if !vm("device_and_memory_errors_are_clear") {
        return;
    }
    let ns = netns("deverr");
    // No --net for the declared `service` device.
    let mut g = Guest::spawn({
        let mut c = ns.command(tender().to_str().unwrap());
        c.arg(image());
        c
    });
    assert_eq!(g.wait_exit(T).code(), Some(1));
    assert!(g.output().contains("service"), "{}", g.output());
    // A tap that does not exist.
    let mut g = Guest::spawn({
        let mut c = ns.command(tender().to_str().unwrap());
        c.arg("--net:service=nosuchtap9").arg(image());
        c
    });
    assert_eq!(g.wait_exit(T).code(), Some(1));
    assert!(g.output().contains("nosuchtap9"), "{}", g.output());
    // Too little memory for the image.
    let mut g = Guest::spawn({
        let mut c = ns.command(tender().to_str().unwrap());
        c.arg("--mem=1")
            .arg(format!("--net:service={}", ns.tap))
            .arg(image());
        c
    });
    assert_ne!(g.wait_exit(T).code(), Some(0));
    assert!(g.output().to_lowercase().contains("mem"), "{}", g.output());
}

#[test]
fn tender_without_arguments_prints_usage() {
    let out = Command::new(tender()).output().expect("run tender");
    assert_ne!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("usage") || text.contains("Usage"), "{text}");
}

#[test]
fn heap_exhaustion_exits_with_its_status_and_is_restarted() {
    if !vm("heap_exhaustion_exits_with_its_status_and_is_restarted") {
        return;
    }
    let ns = netns("oom");
    let run = |restart: bool| {
        let mut c = ns.command(tender().to_str().unwrap());
        if restart {
            c.arg("--restart-on-fail");
        }
        c.args(["--mem=32", &format!("--net:service={}", ns.tap)])
            .arg(image())
            .arg("--test-exhaust-heap");
        Guest::spawn(c)
    };
    let mut g = run(false);
    assert_eq!(g.wait_exit(T).code(), Some(71), "{}", g.output());
    let out = g.output();
    let line = out
        .lines()
        .find(|l| l.contains("gitns: out of memory: an allocation of "))
        .unwrap_or_else(|| panic!("no out-of-memory report:\n{out}"));
    assert!(line.contains(" heap bytes in use ("), "{line}");
    assert!(
        line.contains("last log line: gitns: --test-exhaust-heap: allocating"),
        "{line}"
    );
    assert!(!out.contains("PANIC"), "{out}");
    // The heap in use is most of the heap (the report is not made up).
    let nums: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let (used, heap) = (nums[2], nums[3]);
    assert!(used > heap / 2 && used <= heap, "{line}");

    // --restart-on-fail boots it again after the crash.
    let g = run(true);
    let end = std::time::Instant::now() + T;
    while g.output().matches("gitns: out of memory").count() < 2 {
        assert!(
            std::time::Instant::now() < end,
            "no restart:\n{}",
            g.output()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        g.output()
            .contains("guest crashed with status 71; restarting in 1 s"),
        "{}",
        g.output()
    );
}
