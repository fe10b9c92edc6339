//! The SSH transport against OpenSSH's sshd on 127.0.0.1: an ed25519 user
//! key from a 32-byte seed, the host key pinned by its SHA256 fingerprint
//! (as `ssh-keygen -lf` prints it), and a clone through git-upload-pack
//! over the exec channel. A wrong pin is refused; a wrong user key fails.

use gitns_git::proto::fetch::{Fetch, Fetched};
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
    let dir = std::env::temp_dir().join(format!("gitns-sshd-{}", std::process::id()));
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
    let port = 30_000 + (std::process::id() % 20_000) as u16;
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

/// Run `cmd` over SSH and drive a fetch through it.
fn clone_over_ssh(
    port: u16,
    seed: [u8; 32],
    pin: Option<&str>,
    cmd: &str,
) -> Result<Fetched, SshError> {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_millis(20)))
        .unwrap();
    let mut ssh = SshExec::new("root", Credential::Ed25519Seed(seed), cmd, pin);
    let mut fetch = Fetch::new("main", vec![], false, 64 << 20);
    let mut buf = vec![0u8; 65536];
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        let out = ssh.output();
        if !out.is_empty() {
            tcp.write_all(&out).unwrap();
        }
        match tcp.read(&mut buf) {
            Ok(0) => return Err(SshError::Closed),
            Ok(n) => {
                ssh.input(&buf[..n])?;
            }
            Err(_) => ssh.progress()?,
        }
        if ssh.ready() {
            let o = fetch.take_output();
            if !o.is_empty() {
                assert_eq!(ssh.write(&o), o.len());
            }
            loop {
                let n = ssh.read(&mut buf);
                if n == 0 {
                    break;
                }
                fetch.input(&buf[..n]).unwrap();
            }
            if let Some(r) = fetch.result() {
                return Ok(r.clone());
            }
        }
        if ssh.finished && !ssh.ready() {
            return Err(SshError::Closed);
        }
    }
    panic!("ssh clone timed out");
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
        Err(SshError::HostKeyMismatch { expected, observed }) => {
            assert_eq!(expected, wrong);
            assert_eq!(observed, d.fingerprint);
        }
        other => panic!("{other:?}"),
    }
    // A user key sshd does not know: the session never opens.
    assert!(clone_over_ssh(d.port, [7u8; 32], Some(&d.fingerprint), &cmd).is_err());
}
