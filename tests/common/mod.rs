//! Shared harness of the end-to-end tests: binaries, network namespaces,
//! guests with captured output, and the skip-or-fail rule for /dev/kvm.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

pub use xtask::netns::Netns;

/// Poll `f` every 100 ms until it returns true; panics naming `what`
/// after `timeout`.
pub fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("timed out waiting for {what}");
}

/// Report a skipped test on stderr and in $GITNS_SKIP_LOG (which
/// `cargo xtask test` prints and counts: libtest hides a passing test's output).
pub fn skip(test: &str, why: &str) {
    let line = format!("SKIP {test}: {why}");
    eprintln!("{line}");
    if let Some(path) = std::env::var_os("GITNS_SKIP_LOG") {
        use std::io::Write;
        if let Ok(mut f) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(f, "{line}");
        }
    }
}

/// `have` or skip `test` loudly naming `what` it needs; under
/// GITNS_REQUIRE_KVM=1 (CI, where the test command installed everything)
/// a missing need fails the test instead.
pub fn needs(test: &str, have: bool, what: &str) -> bool {
    if have {
        return true;
    }
    if std::env::var("GITNS_REQUIRE_KVM").as_deref() == Ok("1") {
        panic!("{test}: needs {what} (cargo xtask test installs it) and GITNS_REQUIRE_KVM=1");
    }
    skip(test, &format!("needs {what}"));
    false
}

/// Is `program` on PATH?
pub fn have_program(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// True when VM tests can run. Without /dev/kvm they skip loudly, unless
/// GITNS_REQUIRE_KVM=1, where they fail.
pub fn kvm_or_skip(test: &str) -> bool {
    if xtask::util::have_kvm() {
        return true;
    }
    if std::env::var("GITNS_REQUIRE_KVM").as_deref() == Ok("1") {
        panic!("{test}: /dev/kvm is not usable and GITNS_REQUIRE_KVM=1");
    }
    skip(
        test,
        "/dev/kvm is not usable here (set GITNS_REQUIRE_KVM=1 to fail instead)",
    );
    false
}

/// True when network namespaces can be made (root). Otherwise skip loudly,
/// or fail under GITNS_REQUIRE_KVM=1 (CI runs as root).
pub fn netns_or_skip(test: &str) -> bool {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        return true;
    }
    if std::env::var("GITNS_REQUIRE_KVM").as_deref() == Ok("1") {
        panic!("{test}: network namespaces need root and GITNS_REQUIRE_KVM=1");
    }
    skip(test, "network namespaces need root");
    false
}

/// qemu-system-x86_64 is there (the test command installs it). Without it
/// the QEMU tests skip loudly, or fail under GITNS_REQUIRE_KVM=1.
pub fn qemu_or_skip(test: &str) -> bool {
    let have = Command::new(xtask::qemu::QEMU)
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    needs(test, have, "qemu-system-x86_64 (package qemu-system-x86)")
}

/// sshd and git are there (the test command installs them).
pub fn sshd_or_skip(test: &str) -> bool {
    let have = std::path::Path::new("/usr/sbin/sshd").exists() && have_program("git");
    needs(test, have, "openssh-server and git")
}

fn cached(
    cell: &'static OnceLock<PathBuf>,
    var: &str,
    build: fn(bool) -> Result<PathBuf, String>,
) -> PathBuf {
    cell.get_or_init(|| match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => build(true).unwrap_or_else(|e| panic!("building for {var}: {e}")),
    })
    .clone()
}

/// The image (GITNS_IMAGE, or built now).
pub fn image() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_IMAGE", xtask::build::image)
}

/// The tender (GITNS_HVT, or built now).
pub fn tender() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_HVT", xtask::build::tender)
}

/// The storage image variant (GITNS_IMAGE_STORAGE, or built now).
pub fn image_storage() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_IMAGE_STORAGE", xtask::build::image_storage)
}

/// The unix platform binary (GITNS_UNIX, or built now).
pub fn unix() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_UNIX", xtask::build::unix)
}

/// The xtask binary, for its operator tools (GITNS_XTASK, or built now).
pub fn xtask_bin() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_XTASK", xtask::build::xtask_bin)
}

/// The operator tools binary `gitns` (GITNS_TOOLS, or built now).
pub fn tools_bin() -> PathBuf {
    static P: OnceLock<PathBuf> = OnceLock::new();
    cached(&P, "GITNS_TOOLS", xtask::build::tools)
}

/// A fresh namespace whose name includes the test name and our PID.
pub fn netns(test: &str) -> Netns {
    let short: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(12)
        .collect();
    Netns::create(&format!("gt-{short}-{}", std::process::id())).expect("create network namespace")
}

/// A running guest (or any process) with its output captured.
pub struct Guest {
    child: Child,
    out: Arc<Mutex<String>>,
}

impl Guest {
    /// Start `cmd` with stdout and stderr captured.
    pub fn spawn(mut cmd: Command) -> Guest {
        cmd.stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(Stdio::null());
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        let out = Arc::new(Mutex::new(String::new()));
        let sink = out.clone();
        xtask::util::follow_output(&mut child, move |line| {
            eprintln!("  | {line}");
            sink.lock().expect("output lock").push_str(&(line + "\n"));
        });
        Guest { child, out }
    }

    /// Boot the image on `ns`'s tap with image arguments `args`.
    pub fn boot(ns: &Netns, args: &[&str]) -> Guest {
        let mut c = ns.command(tender().to_str().expect("utf-8 path"));
        c.arg(format!("--net:service={}", ns.tap))
            .arg(image())
            .args(args);
        Guest::spawn(c)
    }

    /// Boot the image under QEMU TCG on `ns`'s tap with image arguments `args`.
    pub fn qemu(ns: &Netns, args: &[&str]) -> Guest {
        Guest::qemu_with_storage(ns, None, args)
    }

    /// [`Guest::qemu`] with a virtio-blk storage device on `storage`.
    pub fn qemu_with_storage(
        ns: &Netns,
        storage: Option<&std::path::Path>,
        args: &[&str],
    ) -> Guest {
        let image = image();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let vm = xtask::qemu::Vm {
            image: &image,
            accel: xtask::qemu::Accel::Tcg,
            tap: Some(&ns.tap),
            mem_mib: 256,
            storage,
            args: &args,
        };
        let inner = xtask::qemu::command(&vm);
        let mut c = ns.command(xtask::qemu::QEMU);
        c.args(inner.get_args());
        Guest::spawn(c)
    }

    /// Boot the storage image with `zones` (file name, text) on its cache.
    pub fn boot_with_zones(ns: &Netns, zones: &[(&str, &str)], args: &[&str]) -> Guest {
        let dev = zone_device(ns, zones);
        Guest::boot_with_device(ns, &dev, args)
    }

    /// Boot the storage image on an existing storage device file.
    pub fn boot_with_device(ns: &Netns, dev: &std::path::Path, args: &[&str]) -> Guest {
        let mut c = ns.command(tender().to_str().expect("utf-8 path"));
        c.arg(format!("--net:service={}", ns.tap))
            .arg(format!("--block:storage={}", dev.display()))
            .arg(image_storage())
            .args(args);
        Guest::spawn(c)
    }

    /// The unix platform with `zones` on its storage file.
    pub fn unix_with_zones(ns: &Netns, zones: &[(&str, &str)], args: &[&str]) -> Guest {
        let dev = zone_device(ns, zones);
        let mut c = ns.command(unix().to_str().expect("utf-8 path"));
        c.arg(format!("--net:service={}", ns.tap))
            .arg(format!("--block:storage={}", dev.display()))
            .arg("--")
            .args(args);
        Guest::spawn(c)
    }

    /// Start the unix platform on `ns`'s tap with arguments `args`.
    pub fn unix(ns: &Netns, args: &[&str]) -> Guest {
        let mut c = ns.command(unix().to_str().expect("utf-8 path"));
        c.arg(format!("--net:service={}", ns.tap))
            .arg("--")
            .args(args);
        Guest::spawn(c)
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.out.lock().expect("output lock").clone()
    }

    /// Wait until the output contains `needle`; panics with the output after `timeout`.
    pub fn wait_for(&self, needle: &str, timeout: Duration) {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if self.output().contains(needle) {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "`{needle}` not seen within {timeout:?}; output:\n{}",
            self.output()
        );
    }

    /// Wait for the process to end; panics after `timeout`.
    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let end = Instant::now() + timeout;
        while Instant::now() < end {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                std::thread::sleep(Duration::from_millis(50)); // let the readers drain
                return st;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!(
            "process did not exit within {timeout:?}; output:\n{}",
            self.output()
        );
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        // Only our own child, by its PID.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ping 10.0.0.2 from inside `ns`: true when answered.
pub fn ping(ns: &Netns, count: u32) -> bool {
    ns.command("ping")
        .args(["-c", &count.to_string(), "-i", "0.2", "-W", "1", "10.0.0.2"])
        .stdout(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Send `payload` to 10.0.0.2:`port` over UDP from inside `ns`, return the reply.
pub fn udp_roundtrip(ns: &Netns, port: u16, payload: &'static [u8]) -> Option<Vec<u8>> {
    ns.run_in(move || {
        let s = std::net::UdpSocket::bind("10.0.0.1:0").ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        for _ in 0..3 {
            s.send_to(payload, ("10.0.0.2", port)).ok()?;
            let mut buf = [0u8; 2048];
            if let Ok((n, _)) = s.recv_from(&mut buf) {
                return Some(buf[..n].to_vec());
            }
        }
        None
    })
    .ok()
    .flatten()
}

/// Write `zones` into a directory and pack it as a storage device file.
pub fn zone_device(ns: &Netns, zones: &[(&str, &str)]) -> PathBuf {
    let dir = ns.scratch("zones");
    let _ = std::fs::remove_dir_all(&dir); // only these zones
    std::fs::create_dir_all(&dir).expect("zone dir");
    for (name, text) in zones {
        std::fs::write(dir.join(name), text).expect("write zone");
    }
    let dev = ns.scratch("storage.tar");
    xtask::zones::pack(&dir, &dev).expect("pack zones")
}

/// Run a command inside `ns`, return its stdout (panics when it cannot run).
pub fn run_in(ns: &Netns, program: &str, args: &[&str]) -> String {
    let out = ns
        .command(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// The tender's `--metrics=127.0.0.1:9100` page at `path`, asked from
/// inside `ns` (the whole HTTP response).
#[allow(dead_code)]
pub fn metrics_get(ns: &Netns, path: &str) -> String {
    use std::io::{Read, Write};
    let req = format!("GET {path} HTTP/1.1\r\nHost: gitns\r\nConnection: close\r\n\r\n");
    ns.run_in(move || {
        let mut s = std::net::TcpStream::connect("127.0.0.1:9100").expect("connect to --metrics");
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .unwrap()
}

/// dig @10.0.0.2 ARGS from inside `ns`.
pub fn dig(ns: &Netns, args: &[&str]) -> String {
    let mut a = vec!["@10.0.0.2", "+tries=2", "+time=2"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// The COOKIE option dig printed (`; COOKIE: <hex> ...`), as hex.
#[allow(dead_code)]
pub fn dig_cookie(out: &str) -> Option<String> {
    out.lines()
        .find_map(|l| l.strip_prefix("; COOKIE: "))
        .and_then(|l| l.split_whitespace().next())
        .map(String::from)
}

/// Run `nsupdate` inside `ns` with `script` on stdin; returns its output.
pub fn nsupdate(ns: &Netns, args: &[&str], script: &str) -> (bool, String) {
    use std::io::Write;
    let mut c = ns.command("nsupdate");
    c.args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("nsupdate");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(script.as_bytes())
        .expect("script");
    let out = child.wait_with_output().expect("nsupdate output");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A peer daemon we started (Knot, NSD): killed by its PID and its
/// directory removed on drop.
pub struct Daemon {
    pub child: Child,
    pub dir: PathBuf,
    pub port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A fresh directory for a peer's files.
pub fn peer_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gitns-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("peer dir");
    dir
}

/// knotd in `ns` with `conf` written to `dir`, on port 53.
pub fn spawn_knot(ns: &Netns, dir: PathBuf, conf: &str) -> Daemon {
    std::fs::write(dir.join("knot.conf"), conf).unwrap();
    let child = ns
        .command("knotd")
        .arg("-c")
        .arg(dir.join("knot.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("knotd");
    Daemon {
        child,
        dir,
        port: 53,
    }
}

/// nsd in `ns` with `conf` written to `dir`, on port 53 (foreground, its
/// log on stderr when `log`).
pub fn spawn_nsd(ns: &Netns, dir: PathBuf, conf: &str, log: bool) -> Daemon {
    std::fs::write(dir.join("nsd.conf"), conf).unwrap();
    let child = ns
        .command("/usr/sbin/nsd")
        .arg("-d")
        .arg("-c")
        .arg(dir.join("nsd.conf"))
        .stdout(Stdio::null())
        .stderr(if log { Stdio::inherit() } else { Stdio::null() })
        .spawn()
        .expect("nsd");
    Daemon {
        child,
        dir,
        port: 53,
    }
}

/// Knot on 10.0.0.1@53 in `ns` as a TSIG secondary of gitns (10.0.0.2)
/// for `zone`, taking NOTIFY from it, with key `key` (hmac-sha256).
pub fn knot_secondary(ns: &Netns, zone: &str, key: &str, secret: &str) -> Daemon {
    let dir = ns.scratch("knot");
    std::fs::create_dir_all(&dir).unwrap();
    let conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: primary\n    address: 10.0.0.2@53\n    key: {key}\nacl:\n  - id: notify_from_primary\n    address: 10.0.0.2\n    key: {key}\n    action: notify\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: none\nzone:\n  - domain: {zone}\n    master: primary\n    acl: notify_from_primary\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// Knot on 10.0.0.1@53 in `ns` serving `zone` (master-file `text`) and
/// letting the namespace transfer it unsigned: the control a test compares
/// gitns's AXFR of the same file with. `tag` names its directory.
#[allow(dead_code)]
pub fn knot_transfers(ns: &Netns, tag: &str, zone: &str, text: &str) -> Daemon {
    let dir = peer_dir(tag);
    std::fs::write(dir.join(format!("{zone}.zone")), text).unwrap();
    let conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\nacl:\n  - id: xfr\n    address: 10.0.0.0/24\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    acl: xfr\nzone:\n  - domain: {zone}\n    file: {zone}.zone\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// Knot on 10.0.0.1@53 in `ns` serving `zone` (master-file `text`) with
/// authority: the resolver the image is pointed at for host names.
#[allow(dead_code)]
pub fn knot_authority(ns: &Netns, zone: &str, text: &str) -> Daemon {
    let dir = ns.scratch("knotauth");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(format!("{zone}.zone")), text).unwrap();
    let conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\ntemplate:\n  - id: default\n    storage: {d}\nzone:\n  - domain: {zone}\n    file: {zone}.zone\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// What an answer looks like once normalised: rcode, AA, and each section
/// as a set of records with whitespace collapsed and names lowercased.
#[derive(Debug, PartialEq, Eq)]
pub struct Norm {
    pub status: String,
    pub aa: bool,
    pub sections: [BTreeSet<String>; 3],
}

pub fn normalise(out: &str) -> Norm {
    let status = out
        .split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("?")
        .to_string();
    let aa = out.lines().any(|l| {
        l.starts_with(";; flags:")
            && l.split(';')
                .nth(2)
                .is_some_and(|f| f.split_whitespace().any(|x| x == "aa"))
    });
    let mut sections: [BTreeSet<String>; 3] = Default::default();
    let mut cur = None;
    for l in out.lines() {
        cur = match l {
            ";; ANSWER SECTION:" => Some(0),
            ";; AUTHORITY SECTION:" => Some(1),
            ";; ADDITIONAL SECTION:" => Some(2),
            "" => None,
            _ => cur,
        };
        if let Some(i) = cur {
            if !l.starts_with(';') {
                let mut f: Vec<String> = l.split_whitespace().map(String::from).collect();
                if let Some(owner) = f.first_mut() {
                    *owner = owner.to_lowercase();
                }
                sections[i].insert(f.join(" "));
            }
        }
    }
    Norm {
        status,
        aa,
        sections,
    }
}
