//! Install what the tests need on a fresh machine (Debian packages, and
//! cargo-deny from crates.io).

use crate::util::run_ok;
use std::process::Command;

/// (program that must exist, or an absolute path of a file, Debian
/// package providing it).
pub const TEST_TOOLS: &[(&str, &str)] = &[
    ("ip", "iproute2"),
    ("ping", "iputils-ping"),
    ("dig", "dnsutils"),
    ("kdig", "knot-dnsutils"),
    ("knotd", "knot"),
    ("nsd", "nsd"),
    ("named", "bind9"),
    ("pdns_server", "pdns-server"),
    (
        "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql",
        "pdns-backend-sqlite3",
    ),
    ("sqlite3", "sqlite3"),
    ("kzonecheck", "knot-dnssecutils"),
    ("ldns-signzone", "ldnsutils"),
    ("delv", "bind9-dnsutils"),
    ("dnsviz", "dnsviz"),
    ("nsupdate", "dnsutils"),
    ("sshd", "openssh-server"),
    ("ssh-keygen", "openssh-client"),
    ("git", "git"),
    ("lighttpd", "lighttpd"),
    ("/usr/lib/lighttpd/mod_openssl.so", "lighttpd-mod-openssl"),
    ("pebble", "pebble"),
    ("openssl", "openssl"),
    ("qemu-system-x86_64", "qemu-system-x86"),
];

fn have(program: &str) -> bool {
    if program.starts_with('/') {
        return std::path::Path::new(program).exists();
    }
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

/// cargo-deny, pinned: `cargo install --locked` of this version.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// Install cargo-deny at [`CARGO_DENY_VERSION`] unless `cargo deny
/// --version` already names it (a cold install compiles it: minutes).
pub fn install_cargo_deny() -> Result<(), String> {
    let installed = crate::util::cargo()
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .any(|w| w == CARGO_DENY_VERSION)
        });
    if installed {
        return Ok(());
    }
    eprintln!("xtask: installing cargo-deny {CARGO_DENY_VERSION}");
    run_ok(crate::util::cargo().args([
        "install",
        "--locked",
        &format!("cargo-deny@{CARGO_DENY_VERSION}"),
    ]))
}
