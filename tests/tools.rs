//! The installed operator tools, `gitns` (xtask/tools), in the seeds'
//! argument forms: `gitns keygen` read as the seed's pipeline reads
//! awa_gen_key (`head -n1 | cut -d' ' -f4`, `tail -n1`), its seed booting
//! the image with `gitns run` against OpenSSH sshd + git; `gitns notify`
//! (onotify), `gitns update` (oupdate) checked with dig and in the pushed
//! commit; the shipped git hooks on real pushes; `--help` everywhere and
//! exit status 64 for a bad command line.

mod common;
use common::*;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};
use xtask::sshd::GitServer;

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const OTHER: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";

fn gitns(args: &[&str]) -> Output {
    Command::new(tools_bin())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("gitns runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn every_tool_has_help_and_a_bad_command_line_exits_64() {
    for tool in [
        "notify", "update", "certify", "keygen", "run", "check", "sign",
    ] {
        let out = gitns(&[tool, "--help"]);
        assert!(
            out.status.success() && text(&out.stdout).starts_with(&format!("usage: gitns {tool}")),
            "{tool} --help: {out:?}"
        );
    }
    let key = format!("--key=personal._update.x25519.net:SHA256:{SECRET}");
    let bad: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["notify", "10.0.0.3"],
        &["notify", "10.0.0.3", "x25519.net", "--key=k:MD5:AAAA"],
        &["notify", "10.0.0.3", "x25519.net", "--key"],
        &["notify", "not-an-address", "x25519.net", &key],
        &["notify", "10.0.0.3", "x25519.net", "--serial=many", &key],
        &[
            "update",
            "10.0.42.2",
            "personal._update.mirage:SHA256:AAAA",
            "x.mirage",
        ],
        &[
            "update",
            "10.0.42.2",
            "personal._update.mirage:SHA256:AAAA",
            "x.mirage",
            "1.2.3",
        ],
        &[
            "update",
            "10.0.42.2",
            "nozone:SHA256:AAAA",
            "x.mirage",
            "1.2.3.4",
        ],
        &[
            "update",
            "10.0.42.2",
            "personal._update.mirage:SHA256:AAAA",
            "x.other",
            "1.2.3.4",
        ],
        &["update", "--server=10.0.0.2", "--zone=z", "frob", "x"],
        &["certify", "10.0.42.2", "foo.mirage"],
        &["certify", "10.0.42.2", "foo.mirage", &key, "--wait=soon"],
        &["keygen", "--keytype", "rsa"],
        &["keygen", "extra"],
        &["run", "--net=lo"],
        &["run", "--net=nosuchtap9", "/etc/hostname"],
        &["run", "--net=lo", "/etc/hostname", "--ipv4=10.0.0.2"],
        &[
            "run",
            "--net=lo",
            "/etc/hostname",
            "--keys=k._transfer.z:MD5:AAAA",
        ],
        &["run", "--net=lo", "/etc/hostname", "--primary=10.0.0.1:0"],
        &["check"],
        &["check", "--old"],
        &["check", "--frob", "x"],
        &["sign"],
        &["sign", "a", "b"],
        &["sign", "x", "--now=soon"],
        &["sign", "x", "--origin=a..b"],
        &["sign", "x", "--frob"],
    ];
    for args in bad {
        let out = gitns(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(64), "{args:?}: {out:?}");
        assert_eq!(err.lines().count(), 1, "{args:?}: one line: {err}");
        assert!(err.starts_with("gitns"), "{args:?}: {err}");
    }
}

/// `gitns keygen > ssh.key`, then the seed's pipeline.
fn keygen(dir: &std::path::Path) -> (String, String, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg("\"$0\" keygen > ssh.key && head -n1 ssh.key | cut -d' ' -f4 && tail -n1 ssh.key")
        .arg(tools_bin())
        .current_dir(dir)
        .output()
        .expect("sh");
    assert!(out.status.success(), "{out:?}");
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    let fp = text(&out.stderr)
        .trim()
        .strip_prefix("fingerprint: ")
        .expect("fingerprint on stderr")
        .to_string();
    (lines[0].to_string(), lines[1].to_string(), fp)
}

#[test]
fn keygen_prints_what_awa_gen_key_prints() {
    let dir = peer_dir("tools-keygen");
    let (seed, public, fp) = keygen(&dir);
    let file = std::fs::read_to_string(dir.join("ssh.key")).unwrap();
    assert_eq!(file.lines().count(), 2, "{file}");
    assert!(file.starts_with("ED25519 private key "), "{file}");
    use base64::Engine;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(&seed)
        .expect("base64 seed");
    let raw: [u8; 32] = raw.try_into().expect("a 32-byte seed");
    assert_eq!(
        public,
        gitns_git::ssh::public_key_line(&raw, "gitns@gitns.local")
    );
    // OpenSSH reads the public line and names the same fingerprint.
    std::fs::write(dir.join("k.pub"), format!("{public}\n")).unwrap();
    let out = Command::new("ssh-keygen")
        .arg("-lf")
        .arg(dir.join("k.pub"))
        .output();
    if let Ok(out) = out {
        assert!(text(&out.stdout).contains(&fp), "{out:?} vs {fp}");
    }
    // Two runs, two keys.
    assert_ne!(keygen(&dir).0, seed);
    let _ = std::fs::remove_dir_all(&dir);
}

fn zone(serial: u32, extra: &str) -> String {
    format!(
        "$ORIGIN\tx25519.net.\n$TTL\t3600\n@\t\tIN\tSOA\tns1\thostmaster\t{serial}\t86400\t7200\t1048576\t3600\n@\t\tIN\tNS\tns1\n@\t\tIN\tA\t76.8.60.93\nns1\t\tIN\tA\t76.8.60.93\n{extra}"
    )
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

fn eventually(what: &str, g: &Guest, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + T;
    while !f() {
        assert!(
            Instant::now() < end,
            "timed out waiting for {what}\n{}",
            g.output()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `gitns ARGS` inside `ns`.
fn gitns_in(ns: &Netns, args: &[&str]) -> Output {
    ns.command(tools_bin().to_str().unwrap())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("gitns runs")
}

#[test]
fn the_seed_flow_with_the_installed_tools() {
    let test = "the_seed_flow_with_the_installed_tools";
    if !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns("toolsseed");
    // awa_gen_key's place: the seed for the image, the line for sshd.
    let dir = peer_dir("tools-seed");
    let (seed, public, _) = keygen(&dir);
    let srv = GitServer::start(
        &ns,
        "toolsseed",
        &public,
        &[("x25519.net", &zone(1, "")), ("x25519.net._keys", &keys())],
    );
    // What the seed does with albatross: the image on an existing tap.
    let mut c = ns.command(tools_bin().to_str().unwrap());
    c.env("GITNS_HVT", tender())
        .args(["run", &format!("--net=service:{}", ns.tap), "--mem=256"])
        .arg(image())
        .args(["--axfr", "--ipv4=10.0.0.2/24", "--ipv4-gateway=10.0.0.1"])
        .arg(format!("--ssh-key=ed25519:{seed}"))
        .arg(srv.remote());
    let g = Guest::spawn(c);
    g.wait_for("git: main is at", T);
    assert_eq!(dig(&ns, &["+short", "x25519.net"]).trim(), "76.8.60.93");

    // onotify's form: the serial served now, then success; the change
    // pushed before it is served after it.
    srv.commit(
        &[("x25519.net", &zone(2, "www IN A 192.0.2.2\n"))],
        "serial 2",
    );
    let key = format!("--key=personal._update.x25519.net:SHA256:{SECRET}");
    let out = gitns_in(&ns, &["notify", "10.0.0.2", "x25519.net", &key]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        text(&out.stdout),
        "notifying to 10.0.0.2:53 zone x25519.net serial 1\nsuccessful TSIG signed notify!\n"
    );
    eventually("serial 2", &g, || {
        dig(&ns, &["+short", "www.x25519.net"]).contains("192.0.2.2")
    });
    // A wrong secret: exit 1 with the RCODE and the TSIG error.
    let wrong = format!("--key=personal._update.x25519.net:SHA256:{OTHER}");
    let out = gitns_in(&ns, &["notify", "10.0.0.2", "x25519.net", &wrong]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        text(&out.stderr).contains("NOTAUTH (TSIG BADSIG)"),
        "{out:?}"
    );

    // oupdate's form: A, replaced; AAAA for an IPv6 address.
    let k = format!("personal._update.x25519.net:SHA256:{SECRET}");
    for addr in ["1.2.3.4", "5.6.7.8"] {
        let out = gitns_in(
            &ns,
            &["update", "10.0.0.2", &k, "my-other.x25519.net", addr],
        );
        assert!(
            out.status.success() && text(&out.stdout).ends_with("successful TSIG signed update!\n"),
            "{out:?}"
        );
        assert_eq!(
            dig(&ns, &["+short", "my-other.x25519.net", "A"]).trim(),
            addr
        );
    }
    let out = gitns_in(
        &ns,
        &[
            "update",
            "10.0.0.2",
            &k,
            "my-other.x25519.net",
            "2001:db8::7",
        ],
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        dig(&ns, &["+short", "my-other.x25519.net", "AAAA"]).trim(),
        "2001:db8::7"
    );
    assert_eq!(
        dig(&ns, &["+short", "my-other.x25519.net", "A"]).trim(),
        "5.6.7.8"
    );
    let info = xtask::gitread::commit_info(&srv.repo, "main").unwrap();
    assert_eq!(info.author_name, "personal._update.x25519.net via gitns");
    let pushed = xtask::gitread::file_at(&srv.repo, "main", "x25519.net")
        .unwrap()
        .unwrap();
    let pushed = text(&pushed);
    assert!(
        pushed.contains("2001:db8::7") && !pushed.contains("1.2.3.4"),
        "{pushed}"
    );

    hooks_on_the_appliance_remote(&ns, &srv, &g);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The shipped hooks in the bare repository the appliance clones; the
/// operator pushes from inside the namespace (the appliance is reachable
/// there only), the appliance pushes its UPDATEs over sshd.
fn hooks_on_the_appliance_remote(ns: &Netns, srv: &GitServer, g: &Guest) {
    install_hooks(
        &srv.repo,
        "10.0.0.2",
        &format!("personal._update.x25519.net:SHA256:{SECRET}"),
    );
    let work = &srv.work;
    let git = |args: &[&str]| -> Output {
        ns.command("git")
            .arg("-C")
            .arg(work)
            .args(args)
            .env("GIT_AUTHOR_NAME", "operator")
            .env("GIT_AUTHOR_EMAIL", "op@example.org")
            .env("GIT_COMMITTER_NAME", "operator")
            .env("GIT_COMMITTER_EMAIL", "op@example.org")
            .output()
            .expect("git")
    };
    assert!(git(&["pull", "-q", "--ff-only", "origin", "main"])
        .status
        .success());
    let commit = |text: &str| {
        std::fs::write(work.join("x25519.net"), text).unwrap();
        assert!(git(&["commit", "-qam", "edit"]).status.success());
    };
    // A broken zone: refused with file:line:col, nothing changes.
    let head = srv.bare(&["rev-parse", "main"]);
    let now = text(&std::fs::read(work.join("x25519.net")).unwrap());
    commit(&format!("{now}bad IN A 1.2.3\n"));
    let out = git(&["push", "origin", "main"]);
    let err = text(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("x25519.net:") && err.contains("expected an IPv4 address"),
        "{err}"
    );
    assert_eq!(srv.bare(&["rev-parse", "main"]), head);
    // Fixed, but the serial did not rise: refused.
    assert!(git(&["reset", "-q", "--hard", "origin/main"])
        .status
        .success());
    commit(&format!("{now}more IN A 192.0.2.3\n"));
    let out = git(&["push", "origin", "main"]);
    let err = text(&out.stderr);
    assert!(
        !out.status.success() && err.contains("did not rise"),
        "{err}"
    );
    // Raised: accepted, and the post-receive hook's NOTIFY makes the
    // appliance serve it without anyone running notify.
    let serial = dig(ns, &["+short", "x25519.net", "SOA"]);
    let s: u32 = serial.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(git(&["reset", "-q", "--hard", "origin/main"])
        .status
        .success());
    let raised = raise_serial(&now, s);
    commit(&format!("{raised}more IN A 192.0.2.3\n"));
    let out = git(&["push", "origin", "main"]);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("successful TSIG signed notify!"), "{err}");
    eventually("the pushed record", g, || {
        dig(ns, &["+short", "more.x25519.net"]).contains("192.0.2.3")
    });
    // The appliance's own push (an UPDATE) is not notified back.
    let notifies = g.output().matches("NOTIFY for x25519.net.").count();
    let k = format!("personal._update.x25519.net:SHA256:{SECRET}");
    let out = gitns_in(
        ns,
        &["update", "10.0.0.2", &k, "hook.x25519.net", "192.0.2.9"],
    );
    assert!(out.status.success(), "{out:?}");
    std::thread::sleep(Duration::from_secs(1));
    assert_eq!(
        g.output().matches("NOTIFY for x25519.net.").count(),
        notifies,
        "{}",
        g.output()
    );
}

/// The zone text with the SOA serial `s` raised by one (the file as the
/// appliance last wrote it).
fn raise_serial(zone: &str, s: u32) -> String {
    let mut done = false;
    let lines: Vec<String> = zone
        .lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            match w.iter().position(|t| *t == "SOA") {
                Some(at) if !done => {
                    done = true;
                    let mut w: Vec<String> = w.iter().map(|t| t.to_string()).collect();
                    let i = at + 3; // SOA MNAME RNAME SERIAL
                    assert_eq!(w[i], s.to_string(), "{l}");
                    w[i] = (s + 1).to_string();
                    w.join(" ")
                }
                _ => l.to_string(),
            }
        })
        .collect();
    assert!(done, "no SOA line in\n{zone}");
    lines.join("\n") + "\n"
}

/// Copy the shipped hooks into `repo` and configure them.
fn install_hooks(repo: &std::path::Path, server: &str, key: &str) {
    let hooks = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("xtask/tools/hooks");
    for h in ["pre-receive", "post-receive"] {
        std::fs::copy(hooks.join(h), repo.join("hooks").join(h)).unwrap();
    }
    let cfg = |k: &str, v: &str| {
        let ok = Command::new("git")
            .arg("-C")
            .arg(repo)
            .args(["config", "--add", k, v])
            .status()
            .unwrap()
            .success();
        assert!(ok);
    };
    cfg("gitns.path", tools_bin().to_str().unwrap());
    cfg("gitns.server", server);
    cfg("gitns.key", key);
}
