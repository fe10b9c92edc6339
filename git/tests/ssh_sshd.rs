//! The SSH transport against OpenSSH's sshd on 127.0.0.1: an ed25519 user
//! key from a 32-byte seed, the host key pinned by its SHA256 fingerprint
//! (as `ssh-keygen -lf` prints it), and a clone through git-upload-pack
//! over the exec channel. A wrong pin is refused; a wrong user key fails.

mod common;

use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::session::{Op, Outcome, Session, SessionError, Timeouts};
use gitns_git::ssh::{fingerprint_ed25519, public_key_line, Credential, SshError, SshExec};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Sshd {
    child: Child,
    port: u16,
    fingerprint: String,
    dir: PathBuf,
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn sshd(authorized: &str) -> Option<Sshd> {
    if !Path::new("/usr/sbin/sshd").exists() || unsafe_euid() != 0 {
        assert_ne!(
            std::env::var("GITNS_REQUIRE_KVM").as_deref(),
            Ok("1"),
            "sshd tests need openssh-server and root"
        );
        eprintln!("SKIP: sshd tests need /usr/sbin/sshd and root");
        return None;
    }
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let k = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("gitns-sshd-{}-{k}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let _ = std::fs::create_dir_all("/run/sshd");
    let hk = dir.join("hostkey");
    assert!(Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&hk)
        .status()
        .unwrap()
        .success());
    let fp = String::from_utf8(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.join("hostkey.pub"))
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    let fingerprint = fp.split_whitespace().nth(1).unwrap().to_string();
    std::fs::write(dir.join("authorized_keys"), format!("{authorized}\n")).unwrap();
    let port = 30_000 + (std::process::id() % 10_000) as u16 * 2 + k;
    let conf = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nAuthorizedKeysFile {ak}\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPidFile {pid}\n",
        hk = hk.display(),
        ak = dir.join("authorized_keys").display(),
        pid = dir.join("sshd.pid").display()
    );
    std::fs::write(dir.join("sshd_config"), conf).unwrap();
    let child = Command::new("/usr/sbin/sshd")
        .args(["-D", "-e", "-f"])
        .arg(dir.join("sshd_config"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(Sshd {
                child,
                port,
                fingerprint,
                dir,
            });
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("sshd did not start");
}

fn unsafe_euid() -> u32 {
    // No libc dependency here: root owns /proc/self when we are root.
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(1)
}

fn repo(dir: &Path) -> PathBuf {
    let r = dir.join("zones.git");
    let w = dir.join("work");
    for d in [&r, &w] {
        std::fs::create_dir_all(d).unwrap();
    }
    let git = |d: &Path, a: &[&str]| {
        assert!(Command::new("git")
            .arg("-C")
            .arg(d)
            .args(a)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@e")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@e")
            .status()
            .unwrap()
            .success())
    };
    git(&r, &["init", "-q", "--bare", "-b", "main"]);
    git(&w, &["init", "-q", "-b", "main"]);
    std::fs::write(
        w.join("example.org"),
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\n",
    )
    .unwrap();
    git(&w, &["add", "-A"]);
    git(&w, &["commit", "-q", "-m", "zones"]);
    git(&w, &["push", "-q", r.to_str().unwrap(), "main"]);
    r
}

/// Run `op` through `cmd` over SSH with a [`Session`], pumping a real
/// TCP connection; time is the test's monotonic clock.
fn run(
    port: u16,
    cred: Credential,
    pin: Option<&str>,
    cmd: &str,
    op: Op,
) -> Result<Outcome, SessionError> {
    run_with(port, cred, pin, cmd, op).0
}

/// [`run`], also saying whether a fetch spoke protocol v2.
fn run_with(
    port: u16,
    cred: Credential,
    pin: Option<&str>,
    cmd: &str,
    op: Op,
) -> (Result<Outcome, SessionError>, Option<bool>) {
    let t0 = Instant::now();
    let now = || t0.elapsed().as_nanos() as u64;
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let ssh = SshExec::new("root", cred, cmd, pin);
    let timeouts = Timeouts {
        idle_ns: 5_000_000_000,
        total_ns: 20_000_000_000,
    };
    let mut s = Session::new(ssh, op, now(), timeouts);
    let mut buf = vec![0u8; 65536];
    loop {
        let out = s.output();
        if !out.is_empty() {
            tcp.write_all(&out).unwrap();
        }
        match tcp.read(&mut buf) {
            Ok(0) => s.closed(),
            Ok(n) => s.input(now(), &buf[..n]),
            Err(_) => {}
        }
        if let Some(r) = s.poll(now()) {
            let r = r.clone();
            return (r, s.fetch_v2());
        }
    }
}

fn clone_over_ssh(
    port: u16,
    seed: [u8; 32],
    pin: Option<&str>,
    cmd: &str,
) -> Result<Fetched, SessionError> {
    let op = Op::Fetch(Fetch::new("main", vec![], false, 64 << 20));
    match run(port, Credential::Ed25519Seed(seed), pin, cmd, op)? {
        Outcome::Fetched(f) => Ok(f),
        other => panic!("{other:?}"),
    }
}

#[test]
fn clone_over_ssh_with_pinned_host_key() {
    let seed = [42u8; 32];
    let Some(d) = sshd(&public_key_line(&seed, "gitns-test")) else {
        return;
    };
    let r = repo(&d.dir);
    let cmd = format!("git-upload-pack '{}'", r.display());
    match clone_over_ssh(d.port, seed, Some(&d.fingerprint), &cmd).unwrap() {
        Fetched::Pack { pack, .. } => assert!(pack.starts_with(b"PACK")),
        other => panic!("{other:?}"),
    }
    // A wrong pin is refused, naming both fingerprints.
    let wrong = fingerprint_ed25519(&[1u8; 32]);
    match clone_over_ssh(d.port, seed, Some(&wrong), &cmd) {
        Err(SessionError::Ssh(SshError::HostKeyMismatch { expected, observed })) => {
            assert_eq!(expected, wrong);
            assert_eq!(observed, d.fingerprint);
        }
        other => panic!("{other:?}"),
    }
    // A user key sshd does not know: the session never opens.
    assert!(clone_over_ssh(d.port, [7u8; 32], Some(&d.fingerprint), &cmd).is_err());
}

/// Someone else's commit of `file` pushed with git from the work tree
/// `work` to the bare repository `bare`.
fn push_with_git(work: &Path, bare: &Path, file: &str, text: &str) {
    std::fs::write(work.join(file), text).unwrap();
    common::git(work, &["add", "-A"]);
    let who = ["-c", "user.name=o", "-c", "user.email=o@e"];
    common::git(work, &[&who[..], &["commit", "-q", "-m", file]].concat());
    common::git(work, &["push", "-q", bare.to_str().unwrap(), "main"]);
}

/// The checkout of `main` after a fetch through `d` with `cmd` (the
/// upload-pack), on top of `have`.
fn fetch_main(
    d: &Sshd,
    cred: Credential,
    cmd: &str,
    have: Option<&gitns_git::checkout::Checkout>,
) -> gitns_git::checkout::Checkout {
    let haves = have.map(|c| vec![c.head]).unwrap_or_default();
    let op = Op::Fetch(Fetch::new("main", haves, false, 64 << 20));
    let limits = gitns_git::pack::Limits::default();
    match run(d.port, cred, Some(&d.fingerprint), cmd, op).unwrap() {
        Outcome::Fetched(Fetched::Pack { head, pack }) => {
            gitns_git::checkout::Checkout::from_pack(&pack, head, limits, have).unwrap()
        }
        Outcome::Fetched(Fetched::UpToDate(h)) => {
            let c = have.unwrap().clone();
            assert_eq!(c.head, h);
            c
        }
        other => panic!("{other:?}"),
    }
}

/// Clone, fetch after a new commit, push an UPDATE's commit through the
/// push queue, and a push that lost a race: all through sshd +
/// git-upload-pack/git-receive-pack, the result read back with git itself.
#[test]
fn clone_fetch_push_and_a_lost_race() {
    use gitns_git::checkout::Checkout;
    use gitns_git::push_queue::{Commit, Edit, Ended, Next, PushQueue};
    let seed = [43u8; 32];
    let Some(d) = sshd(&public_key_line(&seed, "gitns-test")) else {
        return;
    };
    let r = repo(&d.dir);
    let upload = format!("git-upload-pack '{}'", r.display());
    let receive = format!("git-receive-pack '{}'", r.display());
    let cred = || Credential::Ed25519Seed(seed);
    let pin = Some(d.fingerprint.as_str());
    let fetch = |have: Option<&Checkout>| fetch_main(&d, cred(), &upload, have);
    let first = fetch(None);
    assert_eq!(first.files().len(), 1);
    assert_eq!(first.files()[0].0, "example.org");
    // Nothing new: up to date, no pack.
    assert_eq!(fetch(Some(&first)), first);
    // Someone pushes a second zone; the fetch sends our head as a have.
    let net = "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n";
    push_with_git(&d.dir.join("work"), &r, "example.net", net);
    let second = fetch(Some(&first));
    let names: Vec<String> = second.files().into_iter().map(|f| f.0).collect();
    assert_eq!(names, ["example.net", "example.org"]);
    // An UPDATE's commit on top of it, through the push queue.
    let zone = b"$TTL 60\n@ SOA ns hm 2 2 3 4 5\n@ NS ns\n".to_vec();
    let mut q = PushQueue::new("main", "10.0.0.2");
    let mut push = |base: &Checkout, msg: &'static str| {
        q.offer(msg).unwrap();
        let Some(Next::Apply(a)) = q.next(true) else {
            panic!("not applied");
        };
        let edit = Edit {
            file: "example.org".into(),
            text: zone.clone(),
            author: "personal._update.example.org".into(),
            message: msg.into(),
            time: 1_700_000_100,
        };
        let Commit::Push(op, next) = q.commit(a, base, edit) else {
            panic!("nothing to push");
        };
        let outcome = run(d.port, cred(), pin, &receive, *op).map_err(|e| format!("{e:?}"));
        let end = q.ended(next, outcome).expect("a change waited");
        (end, q.next(true))
    };
    let (end, after) = push(&second, "UPDATE from 10.0.0.1");
    let Ended::Pushed("UPDATE from 10.0.0.1", ours) = end else {
        panic!("{end:?}");
    };
    assert_eq!(after, None, "nothing waits after the push");
    let bare = |args: &[&str]| common::git(&r, args);
    assert_eq!(bare(&["rev-parse", "main"]).trim(), ours.head.to_string());
    assert_eq!(
        bare(&["rev-parse", "main^"]).trim(),
        second.head.to_string()
    );
    assert_eq!(bare(&["show", "main:example.org"]).as_bytes(), &zone[..]);
    assert_eq!(
        bare(&["log", "-1", "--format=%an|%ae|%at|%cn|%ce|%s", "main"]).trim(),
        "personal._update.example.org via gitns|gitns@10.0.0.2|1700000100|personal._update.example.org via gitns|gitns@10.0.0.2|UPDATE from 10.0.0.1"
    );
    assert_eq!(bare(&["fsck", "--strict"]), "");
    // A push built on a head that is no longer the remote's is rejected,
    // the remote keeps its head, and the queue fetches before trying again.
    let (end, after) = push(&second, "stale");
    assert!(matches!(end, Ended::Retry(_)), "{end:?}");
    assert_eq!(after, Some(Next::Fetch));
    assert_eq!(bare(&["rev-parse", "main"]).trim(), ours.head.to_string());
}

/// Protocol v2 through sshd: the `env GIT_PROTOCOL=version=2` command form
/// gets a v2 answer from git-upload-pack (sunset cannot send an SSH `env`
/// request); the plain command gets v0. Both clone the same head.
#[test]
fn v2_through_the_env_command_and_v0_without() {
    let seed = [44u8; 32];
    let Some(d) = sshd(&public_key_line(&seed, "gitns-test")) else {
        return;
    };
    let r = repo(&d.dir);
    let remote =
        gitns_git::remote::Remote::parse(&format!("root@127.0.0.1:{}", r.display())).unwrap();
    let mut heads = Vec::new();
    for (cmd, want_v2) in [
        (remote.upload_pack_v2(), true),
        (remote.command("git-upload-pack"), false),
    ] {
        let op = Op::Fetch(Fetch::new("main", vec![], true, 64 << 20));
        let (out, v2) = run_with(
            d.port,
            Credential::Ed25519Seed(seed),
            Some(&d.fingerprint),
            &cmd,
            op,
        );
        assert_eq!(v2, Some(want_v2), "{cmd}");
        match out {
            Ok(Outcome::Fetched(Fetched::Pack { head, pack })) => {
                assert!(pack.starts_with(b"PACK"));
                heads.push(head);
            }
            other => panic!("{cmd}: {other:?}"),
        }
    }
    assert_eq!(heads[0], heads[1]);
}
