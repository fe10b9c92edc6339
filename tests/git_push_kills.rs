//! The VM killed at each point of an UPDATE's push (issue 25): when
//! git-receive-pack is started (the pack not sent), after the pack was
//! received (pre-receive, the ref not moved), and after the ref moved but
//! before the report went back (reference-transaction "committed"). The
//! points are hooks on the real OpenSSH sshd + git remote: a forced
//! command in authorized_keys and two hooks in the bare repository, each
//! blocking once when armed, so the test kills the tender (by PID) there.
//! After the restart: every UPDATE answered NOERROR is in the remote once,
//! the interrupted one at most once (also when its client sends it
//! again), and what is served is the remote's head.

mod common;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xtask::sshd::{key, GitServer};

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const SEED: [u8; 32] = [0x5b; 32];

fn zone() -> String {
    "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n".into()
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

/// Where a push is stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Point {
    /// git-receive-pack about to start: nothing sent yet.
    Start,
    /// The pack received and checked, the ref not moved (pre-receive).
    PackIn,
    /// The ref moved, the report not sent (reference-transaction).
    RefMoved,
}

impl Point {
    fn name(self) -> &'static str {
        match self {
            Point::Start => "start",
            Point::PackIn => "pack-in",
            Point::RefMoved => "ref-moved",
        }
    }
}

/// The shell function every hook uses: block once at point $1 when it is
/// armed (bounded: 30 s), saying so through files in `dir`; status 0 when
/// it blocked.
fn point_fn(dir: &Path) -> String {
    format!(
        "D='{}'\npoint() {{\n  [ -e \"$D/arm-$1\" ] || return 1\n  rm -f \"$D/arm-$1\"; touch \"$D/at-$1\"\n  i=0\n  while [ ! -e \"$D/release\" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done\n  touch \"$D/done-$1\"\n  return 0\n}}\n",
        dir.display()
    )
}

fn script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, body).expect("write hook");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod hook");
}

/// The files and scripts of the kill points. The forced command also
/// marks the end of every git-receive-pack (file `ended`), so the test
/// reads the remote only once the interrupted one is over.
struct Points {
    dir: PathBuf,
}

impl Points {
    fn new(tag: &str) -> Points {
        let dir = std::env::temp_dir().join(format!("gitns-{tag}-points-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("points dir");
        let f = point_fn(&dir);
        script(
            &dir.join("forced"),
            &format!(
                "#!/bin/sh\n{f}case \"$SSH_ORIGINAL_COMMAND\" in\n  *git-receive-pack*)\n    if point start; then touch \"$D/ended\"; exit 1; fi\n    sh -c \"$SSH_ORIGINAL_COMMAND\"; st=$?\n    touch \"$D/ended\"; exit $st ;;\nesac\nexec sh -c \"$SSH_ORIGINAL_COMMAND\"\n"
            ),
        );
        Points { dir }
    }

    /// The authorized_keys line: every command goes through `forced`.
    fn authorized(&self) -> String {
        format!(
            "command=\"{}\" {}",
            self.dir.join("forced").display(),
            key(SEED).1
        )
    }

    fn install_hooks(&self, repo: &Path) {
        let f = point_fn(&self.dir);
        script(
            &repo.join("hooks/pre-receive"),
            &format!("#!/bin/sh\n{f}cat >/dev/null\npoint pack-in\nexit 0\n"),
        );
        script(
            &repo.join("hooks/reference-transaction"),
            &format!(
                "#!/bin/sh\n{f}cat >/dev/null\n[ \"$1\" = committed ] && point ref-moved\nexit 0\n"
            ),
        );
    }

    fn arm(&self, p: Point) {
        std::fs::write(self.dir.join(format!("arm-{}", p.name())), "").expect("arm");
    }

    /// Wait for the file `name` in the points directory.
    fn wait(&self, name: &str) {
        let file = self.dir.join(name);
        let end = Instant::now() + T;
        while !file.exists() {
            assert!(Instant::now() < end, "{} not reached", file.display());
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Let the blocked point go on (the server does not know the client
    /// is gone) and receive-pack end.
    fn release(&self) {
        let _ = std::fs::remove_file(self.dir.join("ended"));
        std::fs::write(self.dir.join("release"), "").expect("release");
    }
}

impl Drop for Points {
    fn drop(&mut self) {
        self.release();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn update(ns: &Netns, name: &str, last: u8, udp_timeout: &str) -> (bool, String) {
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let script = format!(
        "server 10.0.0.2\nzone x25519.net\nupdate add {name}.x25519.net 300 A 192.0.2.{last}\nsend\n"
    );
    nsupdate(ns, &["-y", &key, "-u", udp_timeout, "-r", "0"], &script)
}

/// The remote's zone file and the number of commits the appliance made.
fn remote(srv: &GitServer) -> (String, usize) {
    let file = srv.bare(&["show", "main:x25519.net"]);
    let log = srv.bare(&["log", "--format=%s", "main"]);
    let commits = log.lines().filter(|l| l.starts_with("UPDATE of")).count();
    (file, commits)
}

/// Lines of `file` naming `owner`.
fn owned(file: &str, owner: &str) -> usize {
    file.lines().filter(|l| l.starts_with(owner)).count()
}

/// The served serial equals the remote's, and each name of `names` is
/// served as the remote has it.
fn served_is_remote(ns: &Netns, srv: &GitServer, names: &[(&str, &str)]) {
    let (file, _) = remote(srv);
    let soa = file
        .lines()
        .find(|l| l.contains(" SOA "))
        .expect("SOA in the remote's file")
        .to_string();
    let serial = soa.split_whitespace().nth(6).expect("serial").to_string();
    let end = Instant::now() + T;
    loop {
        let served = dig(ns, &["x25519.net", "SOA", "+short"]);
        if served.split_whitespace().nth(2) == Some(serial.as_str()) {
            break;
        }
        assert!(
            Instant::now() < end,
            "served {served} vs remote serial {serial}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for (name, addr) in names {
        let owner = format!("{name}.x25519.net.");
        let a = dig(ns, &[owner.as_str(), "A", "+short"]);
        if owned(&file, &owner) == 1 {
            assert_eq!(a.trim(), *addr, "{owner}");
        } else {
            assert_eq!(a.trim(), "", "{owner} not in the remote, served: {a}");
        }
    }
}

fn kill_during_push(test: &str, tag: &str, point: Point) {
    if !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns(tag);
    let points = Points::new(tag);
    let files = [("x25519.net", zone()), ("x25519.net._keys", keys())];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let srv = GitServer::start(&ns, tag, &points.authorized(), &files);
    points.install_hooks(&srv.repo);
    let dev = zone_device(&ns, &files);
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={}", key(SEED).0),
        format!("--ssh-authenticator={}", srv.fingerprint),
        "-l".into(),
        "debug".into(),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for("git: main is at", T);

    // One UPDATE acknowledged before the kill.
    let (ok, out) = update(&ns, "a", 10, "10");
    assert!(ok, "nsupdate a: {out}");
    assert_eq!(remote(&srv).1, 1);

    // The next one's push stopped at `point`, the VM killed there.
    points.arm(point);
    let (ok, out) = std::thread::scope(|s| {
        let h = s.spawn(|| update(&ns, "b", 11, "5"));
        points.wait(&format!("at-{}", point.name()));
        drop(g); // SIGKILL to the tender, by its PID
        points.release();
        points.wait("ended");
        h.join().expect("nsupdate thread")
    });
    assert!(!ok, "no answer from a killed VM, yet nsupdate said: {out}");
    // What the remote did with the interrupted push.
    let (file, commits) = remote(&srv);
    let b_in = owned(&file, "b.x25519.net.");
    match point {
        Point::Start => assert_eq!(b_in, 0, "no pack was sent: {file}"),
        Point::RefMoved => assert_eq!(b_in, 1, "the ref moved: {file}"),
        Point::PackIn => assert!(b_in <= 1, "{file}"),
    }
    assert_eq!(commits, 1 + b_in, "{file}");

    // After the restart the remote's head is served.
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for("git: main is at", T);
    served_is_remote(&ns, &srv, &[("a", "192.0.2.10"), ("b", "192.0.2.11")]);

    // The client sends its UPDATE again: in the remote once, whatever the
    // kill left there.
    let (ok, out) = update(&ns, "b", 11, "10");
    assert!(ok, "nsupdate b again: {out}\n{}", g.output());
    let (file, commits) = remote(&srv);
    assert_eq!(owned(&file, "a.x25519.net."), 1, "{file}");
    assert_eq!(owned(&file, "b.x25519.net."), 1, "{file}");
    assert_eq!(commits, 2, "one commit per change: {file}");

    // And the next UPDATE is pushed as usual.
    let (ok, out) = update(&ns, "c", 12, "10");
    assert!(ok, "nsupdate c: {out}");
    let (file, commits) = remote(&srv);
    assert_eq!(owned(&file, "c.x25519.net."), 1, "{file}");
    assert_eq!(commits, 3, "{file}");
    served_is_remote(
        &ns,
        &srv,
        &[
            ("a", "192.0.2.10"),
            ("b", "192.0.2.11"),
            ("c", "192.0.2.12"),
        ],
    );
    assert_eq!(srv.bare(&["fsck", "--strict"]), "");
}

#[test]
fn killed_when_receive_pack_starts() {
    kill_during_push("killed_when_receive_pack_starts", "killstart", Point::Start);
}

#[test]
fn killed_after_the_pack_went_in() {
    kill_during_push("killed_after_the_pack_went_in", "killpack", Point::PackIn);
}

#[test]
fn killed_after_the_ref_moved_before_the_report() {
    kill_during_push(
        "killed_after_the_ref_moved_before_the_report",
        "killref",
        Point::RefMoved,
    );
}
