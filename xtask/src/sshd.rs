//! OpenSSH's sshd inside a network namespace (10.0.0.1:22) with a bare
//! zone repository, as an operator's git server, for tests and benchmarks:
//! the appliance logs in as root with an ed25519 key made from a seed.

use crate::netns::Netns;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The git server of a test.
pub struct GitServer {
    sshd: Option<Child>,
    pub dir: PathBuf,
    /// `SHA256:...` of the host key.
    pub fingerprint: String,
    /// The bare repository the appliance clones.
    pub repo: PathBuf,
    /// A clone the "operator" commits in.
    pub work: PathBuf,
    conf: PathBuf,
}

/// Run git with a fixed identity; panics with stderr on failure.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "operator")
        .env("GIT_AUTHOR_EMAIL", "op@example.org")
        .env("GIT_COMMITTER_NAME", "operator")
        .env("GIT_COMMITTER_EMAIL", "op@example.org")
        .output()
        .expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `--ssh-key=` value of a seed and its authorized_keys line.
pub fn key(seed: [u8; 32]) -> (String, String) {
    use base64::Engine;
    (
        format!(
            "ed25519:{}",
            base64::engine::general_purpose::STANDARD.encode(seed)
        ),
        gitns_git::ssh::public_key_line(&seed, "gitns-test"),
    )
}

impl GitServer {
    /// Start sshd in `ns` trusting `authorized`, with a repository holding
    /// `files` in one commit on main.
    pub fn start(ns: &Netns, tag: &str, authorized: &str, files: &[(&str, &str)]) -> GitServer {
        let mut s = GitServer::repository(tag, files);
        let hk = s.dir.join("hostkey");
        assert!(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&hk)
            .status()
            .expect("ssh-keygen")
            .success());
        let fp = Command::new("ssh-keygen")
            .arg("-lf")
            .arg(s.dir.join("hostkey.pub"))
            .output()
            .expect("ssh-keygen -lf");
        s.fingerprint = String::from_utf8_lossy(&fp.stdout)
            .split_whitespace()
            .nth(1)
            .expect("fingerprint")
            .to_string();
        std::fs::write(s.dir.join("authorized_keys"), format!("{authorized}\n")).unwrap();
        let _ = std::fs::create_dir_all("/run/sshd");
        std::fs::write(
            &s.conf,
            format!(
                "Port 22\nListenAddress 0.0.0.0\nHostKey {}\nAuthorizedKeysFile {}\nUsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPidFile {}\n",
                hk.display(),
                s.dir.join("authorized_keys").display(),
                s.dir.join("sshd.pid").display()
            ),
        )
        .unwrap();
        s.start_sshd(ns);
        s
    }

    /// The bare repository `dir/zones.git` holding `files` in one commit on
    /// main and its work tree, without sshd (for the https:// and git://
    /// servers of [`crate::githttp`]).
    pub fn repository(tag: &str, files: &[(&str, &str)]) -> GitServer {
        let dir = std::env::temp_dir().join(format!("gitns-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("git server dir");
        let repo = dir.join("zones.git");
        let work = dir.join("work");
        std::fs::create_dir_all(&repo).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        git(&repo, &["init", "-q", "--bare", "-b", "main"]);
        git(&work, &["init", "-q", "-b", "main"]);
        git(&work, &["remote", "add", "origin", repo.to_str().unwrap()]);
        let s = GitServer {
            sshd: None,
            conf: dir.join("sshd_config"),
            dir,
            fingerprint: String::new(),
            repo,
            work,
        };
        s.commit(files, "zones");
        s
    }

    /// (Re)start sshd; waits until it listens.
    pub fn start_sshd(&mut self, ns: &Netns) {
        let mut c = ns.command("/usr/sbin/sshd");
        c.args(["-D", "-E"])
            .arg(self.dir.join("sshd.log"))
            .arg("-f")
            .arg(&self.conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = c.spawn().expect("sshd");
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let ss = ns
                .command("ss")
                .args(["-Htln", "sport = :22"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            if ss.contains("LISTEN") {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.sshd = Some(child);
    }

    /// Stop sshd (the repository stays): the process we started and the
    /// sessions it forked. A session whose client was a VM that is gone
    /// never sees the connection close (no FIN comes from a deleted
    /// namespace) and would outlive the test with its git-upload-pack.
    pub fn stop_sshd(&mut self) {
        if let Some(mut c) = self.sshd.take() {
            let sessions = children_of(c.id());
            let _ = c.kill();
            let _ = c.wait();
            for pid in sessions {
                // SAFETY: kill(2) on a PID read from /proc as a child of the
                // sshd we started; no memory is touched.
                unsafe { libc::kill(pid, libc::SIGTERM) };
            }
        }
    }

    /// Commit `files` (name, text) in the work tree and push them to the
    /// bare repository, as an operator does.
    pub fn commit(&self, files: &[(&str, &str)], msg: &str) {
        let has_main = Command::new("git")
            .arg("-C")
            .arg(&self.repo)
            .args(["rev-parse", "-q", "--verify", "main"])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if has_main {
            git(&self.work, &["pull", "-q", "--ff-only", "origin", "main"]);
        }
        for (name, text) in files {
            std::fs::write(self.work.join(name), text).unwrap();
        }
        git(&self.work, &["add", "-A"]);
        git(&self.work, &["commit", "-q", "-m", msg]);
        git(&self.work, &["push", "-q", "origin", "main"]);
    }

    /// Logins sshd accepted so far (one per SSH connection).
    pub fn logins(&self) -> usize {
        std::fs::read_to_string(self.dir.join("sshd.log"))
            .unwrap_or_default()
            .matches("Accepted publickey")
            .count()
    }

    /// sshd's log (`-E`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    /// Trust one more public key line.
    pub fn authorize(&self, line: &str) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.dir.join("authorized_keys"))
            .expect("authorized_keys");
        writeln!(f, "{}", line.trim()).expect("authorized_keys");
    }

    /// git in the bare repository.
    pub fn bare(&self, args: &[&str]) -> String {
        git(&self.repo, args)
    }

    /// `--remote=` for this server.
    pub fn remote(&self) -> String {
        format!("--remote=root@10.0.0.1:{}", self.repo.display())
    }
}

/// The PIDs whose parent is `parent`, from /proc/PID/stat.
fn children_of(parent: u32) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            after.split_whitespace().nth(1) == Some(&parent.to_string())
        })
        .collect()
}

impl Drop for GitServer {
    fn drop(&mut self) {
        self.stop_sshd();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
