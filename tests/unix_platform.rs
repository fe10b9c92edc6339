//! The unix platform passes the same network bring-up checks as the VM.

mod common;
use common::*;
use std::time::Duration;

#[test]
fn unix_platform_answers_ping_and_udp_echo() {
    if !netns_or_skip("unix_platform_answers_ping_and_udp_echo") {
        return;
    }
    let ns = netns("unixnet");
    let g = Guest::unix(&ns, &["--ipv4=10.0.0.2/24", "--udp-echo=7"]);
    g.wait_for("ready", Duration::from_secs(10));
    assert!(ping(&ns, 3), "no ping reply; output:\n{}", g.output());
    assert_eq!(
        udp_roundtrip(&ns, 7, b"hello gitns").as_deref(),
        Some(&b"hello gitns"[..])
    );
    assert_eq!(
        udp_roundtrip(&ns, 8, b"nobody").as_deref(),
        None,
        "port 8 has no echo"
    );
}

#[test]
fn unix_platform_rejects_bad_command_lines() {
    if !netns_or_skip("unix_platform_rejects_bad_command_lines") {
        return;
    }
    let ns = netns("unixbad");
    let mut g = Guest::unix(&ns, &["--frobnicate=1"]);
    let st = g.wait_exit(Duration::from_secs(10));
    assert_eq!(st.code(), Some(64), "output:\n{}", g.output());
    assert!(
        g.output().contains("unknown option `--frobnicate=1`"),
        "{}",
        g.output()
    );
    let mut g = Guest::unix(&ns, &["--ipv4=300.1.1.1/24"]);
    assert_eq!(g.wait_exit(Duration::from_secs(10)).code(), Some(64));
    assert!(g.output().contains("--ipv4"), "{}", g.output());
}
