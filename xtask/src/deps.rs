//! Install what the tests need on a fresh machine (Debian packages).

use crate::util::run_ok;
use std::process::Command;

/// (program that must exist, Debian package providing it).
pub const TEST_TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ping", "iputils-ping"),
    ("dig", "dnsutils"),
    ("kdig", "knot-dnsutils"),
    ("knotd", "knot"),
    ("nsd", "nsd"),
    ("named", "bind9"),
    ("kzonecheck", "knot-dnssecutils"),
    ("nsupdate", "dnsutils"),
    ("sshd", "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("git", "git"),
    ("pebble", "pebble"),
    ("openssl", "openssl"),
    ("qemu-system-x86_64", "qemu-system-x86"),
];

fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Install the Debian packages of every missing tool (needs root).
pub fn install(tools: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|(p, _)| !have(p))
        .map(|(_, pkg)| *pkg)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    run_ok(Command::new("apt-get").arg("update").arg("-qq"))?;
    run_ok(
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "--no-install-recommends"])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
