//! Seed 000 (../shared/seeds/000, "Deploy your DNS primary Git") command
//! for command, with gitns in place of the MirageOS primary (issue 22):
//! its `x25519.net` and `x25519.net._keys` byte for byte in a bare
//! `zone.git` of a `git` user behind OpenSSH, its SSH key (the seed's own
//! `awa_gen_key` output), the image booted with the seed's arguments (no
//! host-key pin), and the seed's outputs checked: `dig +short`, the
//! `dig +short -t axfr` listing, the signed dig NOTIFY and the same
//! NOTIFY by `gitns notify` in onotify's form. Knot serving
//! the same file is the control for the transfer.
//!
//! Each step is its own function taking the [`Seed`] set-up, so a step
//! (e.g. `gitns notify` in the onotify form) is one more call in the test.

mod common;
use common::*;
use std::process::Command;
use std::time::{Duration, Instant};
use xtask::sshd::GitServer;

const T: Duration = Duration::from_secs(30);

/// `cat >x25519.net <<EOF` of the seed, byte for byte (tabs included).
const ZONE: &str = "$ORIGIN\tx25519.net.
$TTL\t3600
@\t\tIN\tSOA\tns1\thostmaster\t1\t86400\t7200\t1048576\t3600
@\t\tIN\tNS\tns1
@\t\tIN\tNS\tns6.gandi.net.
@\t\tIN\tA\t76.8.60.93
ns1\t\tIN\tA\t76.8.60.93
ns6.gandi.net.\tIN\tA\t217.70.177.40
";

/// `cat >x25519.net._keys <<EOF` of the seed.
const KEYS: &str =
    "personal._update.x25519.net. DNSKEY 0 3 163 PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=\n";

/// The seed's `awa_gen_key --keytype ed25519` output: the private key
/// line's fourth field, and the public key line.
const SSH_SEED: &str = "AqKcLX40SblHbAeZ63FCDXJD3xOiRUmCRxzxQFThEf4=";
const SSH_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIF3PyCx3KPc84KGXpel9uMwwKailyUWnoLICjSZo37Y7";

/// The seed's NOTIFY key, as its dig line spells it.
const NOTIFY_KEY: &str =
    "hmac-sha256:personal._update:PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

/// The seed's `dig +short -t axfr x25519.net` output.
const SEED_AXFR: &str = "ns1.x25519.net. hostmaster.x25519.net. 1 86400 7200 1048576 3600
ns6.gandi.net.
ns1.x25519.net.
76.8.60.93
76.8.60.93
ns1.x25519.net. hostmaster.x25519.net. 1 86400 7200 1048576 3600
";

/// The appliance's address in the seed, and the git server's.
const IP: &str = "10.0.0.3";

/// A `git` system user whose home is the test's directory (the seed's
/// `adduser git`), removed again on drop. None when the machine already has
/// one: its account is not ours to change.
struct GitUser;

impl GitUser {
    fn create(home: &std::path::Path) -> Option<GitUser> {
        let exists = Command::new("getent")
            .args(["passwd", "git"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if exists {
            return None;
        }
        let ok = |c: &mut Command| c.status().map(|s| s.success()).unwrap_or(false);
        let made = ok(Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/bin/git-shell",
                "--home-dir",
            ])
            .arg(home)
            .arg("git"));
        // A locked account (no password) is refused by sshd without PAM.
        assert!(
            made && ok(Command::new("usermod").args(["-p", "*", "git"])),
            "useradd git"
        );
        Some(GitUser)
    }
}

impl Drop for GitUser {
    /// Sessions of the user outlive sshd's listener when the guest went
    /// away without closing its connection: those processes are ours (our
    /// sshd started them, as the user this test made), ended by their ids.
    fn drop(&mut self) {
        let pids = Command::new("ps")
            .args(["-o", "pid=", "-u", "git"])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        for pid in pids.split_whitespace() {
            let _ = Command::new("kill").arg(pid).status();
        }
        let _ = Command::new("userdel").args(["--force", "git"]).status();
    }
}

/// What the steps share (dropped in this order: the guest, sshd, the
/// user, the namespace).
struct Seed {
    guest: Guest,
    srv: GitServer,
    _user: GitUser,
    ns: Netns,
}

/// The seed's set-up: the repository as `git push` left it, sshd, the
/// image booted with the seed's arguments.
fn set_up(test: &str) -> Option<Seed> {
    if !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test) {
        return None;
    }
    let ns = netns("seed000");
    // The seed's key: gitns derives the seed's public key from its seed.
    let (ssh_key, line) = xtask::sshd::key(seed_bytes());
    assert_eq!(ssh_key, format!("ed25519:{SSH_SEED}"));
    assert!(line.starts_with(&format!("{SSH_PUB} ")), "{line}");
    let srv = GitServer::start(
        &ns,
        "seed000",
        &line,
        &[("x25519.net", ZONE), ("x25519.net._keys", KEYS)],
    );
    // `git@10.0.0.1:zone.git`: zone.git in the git user's home.
    std::os::unix::fs::symlink(&srv.repo, srv.dir.join("zone.git")).expect("zone.git");
    let Some(user) = GitUser::create(&srv.dir) else {
        skip(
            test,
            "a `git` user exists on this machine; the test makes its own",
        );
        return None;
    };
    let chown = Command::new("chown")
        .arg("-R")
        .arg("git")
        .arg(&srv.dir)
        .status();
    assert!(chown.map(|s| s.success()).unwrap_or(false), "chown");
    // albatross-client-local create ... --arg=... of the seed.
    let guest = Guest::boot(
        &ns,
        &[
            "--axfr",
            &format!("--ipv4={IP}/24"),
            "--ipv4-gateway=10.0.0.1",
            &format!("--ssh-key={ssh_key}"),
            "--remote=git@10.0.0.1:zone.git",
        ],
    );
    Some(Seed {
        guest,
        srv,
        _user: user,
        ns,
    })
}

fn seed_bytes() -> [u8; 32] {
    gitns_dns::base64::decode(SSH_SEED)
        .expect("base64")
        .try_into()
        .expect("32 bytes")
}

/// dig from the namespace at `server` with the seed's arguments.
fn dig_at(ns: &Netns, server: &str, args: &[&str]) -> String {
    let mut a = vec![server, "+tries=2", "+time=2"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// `dig +short x25519.net @10.0.0.3` -> `76.8.60.93`, once the zone is in.
fn step_dig_short(s: &Seed) {
    let at = format!("@{IP}");
    let end = Instant::now() + T;
    let mut out = String::new();
    while Instant::now() < end {
        out = dig_at(&s.ns, &at, &["+short", "x25519.net"]);
        if out == "76.8.60.93\n" {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!(
        "dig +short x25519.net: {out:?}\n--- guest ---\n{}\n--- sshd ---\n{}",
        s.guest.output(),
        s.srv.log()
    );
}

/// A transfer listing as compared: the SOA first and last exactly, the
/// records between them as a sorted list. RFC 5936 2.2 fixes only the SOA
/// at both ends (the records between come in any order) and RFC 2181 5
/// makes an RRset a set: the MirageOS primary lists the apex NS RRset
/// before the apex A, in its own name order; gitns and Knot list RRsets in
/// type order.
fn transfer(text: &str) -> (String, Vec<String>, String) {
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(lines.len() >= 2, "{text}");
    let mut body = lines[1..lines.len() - 1].to_vec();
    body.sort();
    (lines[0].clone(), body, lines[lines.len() - 1].clone())
}

/// `dig +short -t axfr x25519.net @IP` prints the seed's six lines; the
/// out-of-zone A is not transferred. Returns gitns's listing.
fn step_axfr(s: &Seed) -> String {
    let out = dig_at(
        &s.ns,
        &format!("@{IP}"),
        &["+short", "-t", "axfr", "x25519.net"],
    );
    assert_eq!(out.lines().count(), 6, "{out}");
    assert_eq!(transfer(&out), transfer(SEED_AXFR), "{out}");
    assert!(!out.contains("217.70.177.40"), "{out}");
    // The loader said what it left out, with file:line:col.
    s.guest.wait_for(
        "x25519.net:8:1: ns6.gandi.net. is outside the zone x25519.net.: left out",
        T,
    );
    out
}

/// The seed's dig NOTIFY (short key name, `-y hmac-sha256:...`): NOERROR,
/// signed, and it makes gitns fetch again.
fn step_dig_notify(s: &Seed) {
    let out = dig_at(
        &s.ns,
        &format!("@{IP}"),
        &["SOA", "x25519.net", "+opcode=notify", "-y", NOTIFY_KEY],
    );
    assert!(out.contains("opcode: NOTIFY, status: NOERROR"), "{out}");
    assert!(out.contains("TSIG") && !out.contains("BADSIG"), "{out}");
    s.guest
        .wait_for("NOTIFY for x25519.net.: fetching from the git remote", T);
}

/// The seed's `onotify 10.0.0.3 x25519.net --key=...:SHA256:...` with the
/// installed `gitns` in its place: the same two lines, and a fetch.
fn step_gitns_notify(s: &Seed) {
    let fetches = |g: &Guest| {
        g.output()
            .matches("NOTIFY for x25519.net.: fetching from the git remote")
            .count()
    };
    let before = fetches(&s.guest);
    let out =
        s.ns.command(tools_bin().to_str().expect("utf-8 path"))
            .args(["notify", IP, "x25519.net"])
            .arg(format!(
                "--key=personal._update.x25519.net:SHA256:{}",
                NOTIFY_KEY.rsplit(':').next().expect("secret")
            ))
            .output()
            .expect("gitns notify");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("notifying to {IP}:53 zone x25519.net serial 1\nsuccessful TSIG signed notify!\n")
    );
    let end = Instant::now() + T;
    while fetches(&s.guest) == before {
        assert!(
            Instant::now() < end,
            "no fetch after gitns notify:\n{}",
            s.guest.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Knot serving the same file gives the same transfer, record for record
/// (Knot too leaves the out-of-zone A out, with a warning).
fn step_knot_control(s: &Seed, gitns_axfr: &str) {
    let knot = knot_transfers(&s.ns, "seed000-knot", "x25519.net", ZONE);
    let end = Instant::now() + T;
    let mut out = String::new();
    while Instant::now() < end {
        out = dig_at(&s.ns, "@10.0.0.1", &["+short", "-t", "axfr", "x25519.net"]);
        if out.lines().count() == 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(out.lines().count(), 6, "Knot's AXFR: {out}");
    assert_eq!(
        transfer(&out),
        transfer(gitns_axfr),
        "Knot's AXFR of the same file:\n{out}gitns's:\n{gitns_axfr}"
    );
    drop(knot);
}

#[test]
fn seed_000_primary_git_as_the_operator_runs_it() {
    let Some(s) = set_up("seed_000_primary_git_as_the_operator_runs_it") else {
        return;
    };
    step_dig_short(&s);
    let axfr = step_axfr(&s);
    // No host-key pin, as in the seed: accepted, and said loudly.
    s.guest.wait_for(
        &format!("host key {} ACCEPTED WITHOUT CHECK", s.srv.fingerprint),
        T,
    );
    step_dig_notify(&s);
    step_dig_short(&s);
    step_gitns_notify(&s);
    step_dig_short(&s);
    step_knot_control(&s, &axfr);
}
