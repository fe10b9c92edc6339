//! README's first command, `cargo xtask demo`, end to end: it must finish,
//! show the clone, the NOTIFY-driven change and the UPDATE committed to
//! its embedded remote, and clean up its namespace.

mod common;
use common::*;
use std::time::{Duration, Instant};

#[test]
fn the_demo_runs_the_operator_flow() {
    if !netns_or_skip("the_demo_runs_the_operator_flow") {
        return;
    }
    let mut c = std::process::Command::new(xtask_bin());
    c.arg("demo");
    let mut g = Guest::spawn(c);
    let t0 = Instant::now();
    let status = g.wait_exit(Duration::from_secs(120));
    let out = g.output();
    assert!(
        status.success(),
        "demo failed after {:?}:\n{out}",
        t0.elapsed()
    );
    for want in [
        "cloned over SSH and answering",
        "www.example.org.\t3600\tIN\tA\t10.0.0.81",
        "personal._update.example.org via gitns: UPDATE of example.org.",
        "example.org | mail2.example.org. 300 IN A 10.0.0.26",
        "demo done",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    assert!(
        !out.contains("--ssh-key=ed25519:"),
        "the secret key was printed:\n{out}"
    );
    let netns = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&netns.stdout).contains(&format!("gitns-demo-{}", g.id())));
}
