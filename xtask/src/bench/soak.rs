//! `cargo xtask bench soak [--minutes N] [--qps Q]`: everything at once for
//! N minutes (issue 25), two VMs, one per durability mode, each in its own
//! namespace:
//! - "storage": the storage image with a block device, `--metrics`; dnsperf
//!   at half the measured maximum QPS (or `--qps`), signed UPDATEs to the
//!   storage journal, TCP connection churn, and two Knot secondaries (on
//!   10.0.0.3 and 10.0.0.4 of the tap's host side) taking the NOTIFYs and
//!   IXFRs of every UPDATE plus a forced AXFR (`knotc zone-retransfer`)
//!   every 10 s, in turn;
//! - "git": the git image cloning from sshd in its namespace; signed UPDATEs
//!   (each a commit pushed before the answer) and a signed NOTIFY (a
//!   fetch) every 2 s.
//!
//! Per minute: the guests' heap in use (highest of the 5 s samples of the
//! tender's `/metrics`), the tenders' VmRSS/VmHWM, dnsperf's p50/p99 and
//! errors, and every other request's outcome. At the end, every UPDATE
//! answered NOERROR is looked for: the storage VM is killed and booted
//! again from its device and queried (the serial counts the UPDATEs
//! applied; the last WINDOW names and addresses are asked), and the git
//! remote's history is read (each acknowledged name added exactly once).

use super::dns::{percentile, run_dnsperf, verbose_lines, ZONE};
use super::ops::{knot, poll_soa_long, update_key, Knot, SECRET};
use super::soak_load::{self as load, Load, Sender, WINDOW};
use super::{report, Kill};
use crate::build;
use crate::netns::Netns;
use crate::sshd::GitServer;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// `bench soak` options.
pub struct Options {
    pub minutes: u32,
    /// The dnsperf rate; None: half of a 10 s unthrottled run.
    pub qps: Option<u32>,
}

/// The two secondaries' addresses on the storage namespace's tap.
const SECONDARIES: [&str; 2] = ["10.0.0.3", "10.0.0.4"];
const SAMPLE: Duration = Duration::from_secs(5);

pub fn run(o: &Options) -> Result<(), String> {
    crate::deps::install(&[
        ("dnsperf", "dnsperf"),
        ("knotd", "knot"),
        ("taskset", "util-linux"),
        ("sshd", "openssh-server"),
        ("git", "git"),
    ])?;
    let dir = std::env::temp_dir().join(format!("gitns-bench-soak-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let r = soak(&dir, o);
    let _ = std::fs::remove_dir_all(&dir);
    let (body, lost) = r?;
    report::write_section("soak", &body)?;
    print!("{body}");
    match lost {
        0 => Ok(()),
        n => Err(format!(
            "bench soak: {n} acknowledged UPDATE(s) lost (see above)"
        )),
    }
}

fn keys_file() -> String {
    let mut k = update_key(ZONE).0;
    for s in SECONDARIES {
        let _ = writeln!(k, "10.0.0.2.{s}._transfer.{ZONE}. DNSKEY 0 3 163 {SECRET}");
    }
    k
}

/// The binaries of the run, copied once so that a build in the worktree
/// during a long run cannot change what the reboot at its end boots.
struct Binaries {
    hvt: PathBuf,
    storage: PathBuf,
    git: PathBuf,
}

fn binaries(dir: &Path) -> Result<Binaries, String> {
    let copy = |from: PathBuf, name: &str| -> Result<PathBuf, String> {
        let to = dir.join(name);
        std::fs::copy(&from, &to).map_err(|e| format!("{}: {e}", from.display()))?;
        Ok(to)
    };
    Ok(Binaries {
        hvt: copy(build::tender(true)?, "gitns-hvt")?,
        storage: copy(build::image_storage(true)?, "gitns-storage.hvt")?,
        git: copy(build::image(true)?, "gitns.hvt")?,
    })
}

/// The tender in `ns` with `--metrics` and 512 MiB, `image` at 10.0.0.2.
fn vm(
    ns: &Netns,
    (hvt, image): (&Path, &Path),
    storage: Option<&Path>,
    guest: &[String],
) -> Result<Kill, String> {
    let mut c = ns.command(&hvt.to_string_lossy());
    c.args([
        "--quiet",
        "--mem=512",
        "--net:service=tap0",
        "--metrics=127.0.0.1:9100",
    ]);
    if let Some(d) = storage {
        c.arg(format!("--block:storage={}", d.display()));
    }
    c.arg(image)
        .args(["--ipv4=10.0.0.2/24", "-l", "warn"])
        .args(guest)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let k = Kill(c.spawn().map_err(|e| e.to_string())?);
    ns.run_in(|| poll_soa_long("10.0.0.2:53", ZONE))??;
    Ok(k)
}

/// Knot secondary `n` on SECONDARIES[n] in `ns`, transferring from the
/// VM with its `_transfer` key; its config file.
fn secondary(dir: &Path, ns: &Netns, n: usize) -> Result<(Kill, PathBuf), String> {
    let a = SECONDARIES[n];
    let key = format!("10.0.0.2.{a}._transfer.{ZONE}");
    let extra = format!(
        "log:\n  - target: stderr\n    any: info\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: 10.0.0.2@53\n    key: {key}\n    via: {a}\nacl:\n  - id: notify\n    address: 10.0.0.2\n    key: {key}\n    action: notify\n"
    );
    let tag = format!("sec{n}");
    let opts = "    master: primary\n    acl: notify\n    zonefile-sync: -1\n";
    let k = knot(
        dir,
        &Knot {
            tag: &tag,
            ns: &ns.name,
            listen: a,
            zone: ZONE,
            file: Path::new("/nonexistent"),
            extra: &extra,
            zone_opts: opts,
        },
    )?;
    let server = format!("{a}:53");
    ns.run_in(move || poll_soa_long(&server, ZONE))??;
    Ok((k, dir.join(format!("knot-{tag}/knot.conf"))))
}

/// What runs during the soak.
struct Rig {
    s: Netns,
    g: Netns,
    dev: PathBuf,
    vm_s: Kill,
    vm_g: Kill,
    _knots: Vec<Kill>,
    confs: Vec<PathBuf>,
    srv: GitServer,
    bins: Binaries,
}

fn rig(dir: &Path) -> Result<Rig, String> {
    let files = [
        (ZONE.to_string(), super::dns::zone_text()),
        (format!("{ZONE}._keys"), keys_file()),
    ];
    let zones = dir.join("zones");
    std::fs::create_dir_all(&zones).map_err(|e| e.to_string())?;
    for (n, t) in &files {
        std::fs::write(zones.join(n), t).map_err(|e| e.to_string())?;
    }
    let bins = binaries(dir)?;
    let s = Netns::create(&format!("gitns-soak-s-{}", std::process::id()))?;
    for a in SECONDARIES {
        crate::util::run_ok(s.command("ip").args([
            "addr",
            "add",
            &format!("{a}/24"),
            "dev",
            "tap0",
        ]))?;
    }
    let dev = crate::zones::pack(&zones, &dir.join("storage.tar"))?;
    let vm_s = vm(&s, (&bins.hvt, &bins.storage), Some(&dev), &[])?;
    let (mut knots, mut confs) = (Vec::new(), Vec::new());
    for n in 0..SECONDARIES.len() {
        let (k, c) = secondary(dir, &s, n)?;
        knots.push(k);
        confs.push(c);
    }
    let g = Netns::create(&format!("gitns-soak-g-{}", std::process::id()))?;
    let (ssh_key, authorized) = crate::sshd::key([0x50; 32]);
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(n, t)| (n.as_str(), t.as_str()))
        .collect();
    let srv = GitServer::start(&g, "soak-git", &authorized, &refs);
    let guest = [
        srv.remote(),
        format!("--ssh-key={ssh_key}"),
        format!("--ssh-authenticator={}", srv.fingerprint),
    ];
    let vm_g = vm(&g, (&bins.hvt, &bins.git), None, &guest)?;
    Ok(Rig {
        s,
        g,
        dev,
        vm_s,
        vm_g,
        _knots: knots,
        confs,
        srv,
        bins,
    })
}

/// One sample of a VM: heap bytes in use (guest), VmRSS and VmHWM, and the
/// part of VmRSS that is guest memory (KiB).
#[derive(Clone, Copy, Default)]
struct Sample {
    heap: Option<u64>,
    rss: u64,
    hwm: u64,
    guest: u64,
}

/// The resident KiB of the largest mapping of `pid` (the guest's memory,
/// `--mem`): what of the tender's RSS the guest has touched, as opposed to
/// the tender's own heap and code.
fn guest_rss(pid: u32) -> u64 {
    let smaps = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let field = |l: &str, k: &str| -> Option<u64> {
        l.strip_prefix(k)?.split_whitespace().next()?.parse().ok()
    };
    let (mut best_size, mut best_rss, mut size) = (0, 0, 0);
    for l in smaps.lines() {
        if let Some(v) = field(l, "Size:") {
            size = v;
        } else if let Some(v) = field(l, "Rss:") {
            if size > best_size {
                (best_size, best_rss) = (size, v);
            }
        }
    }
    best_rss
}

fn sample(ns: &str, pid: u32) -> Sample {
    let heap = super::dns::tender_metrics(ns).ok().and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("gitns_heap_bytes{state=\"used\"}"))
            .and_then(|l| l.rsplit(' ').next()?.parse().ok())
    });
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let kb = |k: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
            .unwrap_or(0)
    };
    Sample {
        heap,
        rss: kb("VmRSS:"),
        hwm: kb("VmHWM:"),
        guest: guest_rss(pid),
    }
}

/// Samples of both VMs every SAMPLE until `load.stop`.
type Samples = Arc<Mutex<Vec<[Sample; 2]>>>;

fn sampler(vms: [(String, u32); 2], load: Arc<Load>, out: Samples) {
    while !load.stop.load(Relaxed) {
        let s = [sample(&vms[0].0, vms[0].1), sample(&vms[1].0, vms[1].1)];
        if let Ok(mut v) = out.lock() {
            v.push(s);
        }
        let end = Instant::now() + SAMPLE;
        while Instant::now() < end && !load.stop.load(Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// Start every load loop; their handles.
fn start_loads(rig: &Rig, load: &Arc<Load>, samples: &Samples) -> Vec<std::thread::JoinHandle<()>> {
    let mut h = Vec::new();
    let (l, s_ns, g_ns) = (load.clone(), rig.s.name.clone(), rig.g.name.clone());
    let storage = Sender {
        server: "10.0.0.2:53",
        prefix: "s",
        wait: Duration::from_secs(5),
        pace: Duration::from_millis(50),
    };
    let git = Sender {
        server: "10.0.0.2:53",
        prefix: "g",
        wait: Duration::from_secs(30),
        pace: Duration::from_millis(100),
    };
    let done = |r: std::thread::JoinHandle<Result<Result<(), String>, String>>| {
        std::thread::spawn(move || match r.join() {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e)) | Err(e)) => eprintln!("bench soak: a load loop ended: {e}"),
            Err(_) => eprintln!("bench soak: a load loop panicked"),
        })
    };
    let l1 = l.clone();
    h.push(done(load::spawn_in(&s_ns, move || {
        load::updates(&storage, &l1, |l| &l.storage)
    })));
    let l2 = l.clone();
    h.push(done(load::spawn_in(&g_ns, move || {
        load::updates(&git, &l2, |l| &l.git)
    })));
    let l3 = l.clone();
    h.push(done(load::spawn_in(&g_ns, move || {
        load::notifies("10.0.0.2:53", Duration::from_secs(2), &l3)
    })));
    let l4 = l.clone();
    h.push(done(load::spawn_in(&s_ns, move || {
        load::tcp_churn("10.0.0.2:53", Duration::from_millis(50), &l4);
        Ok(())
    })));
    let (l5, confs) = (l.clone(), rig.confs.clone());
    h.push(std::thread::spawn(move || {
        load::retransfers(confs, Duration::from_secs(10), l5)
    }));
    let vms = [(s_ns, rig.vm_s.0.id()), (g_ns, rig.vm_g.0.id())];
    let (l6, out) = (l, samples.clone());
    h.push(std::thread::spawn(move || sampler(vms, l6, out)));
    h
}

/// (AXFRs, IXFRs, errors) in the secondaries' logs so far.
fn transfers(dir: &Path) -> [u64; 3] {
    let mut n = [0u64; 3];
    for i in 0..SECONDARIES.len() {
        let log =
            std::fs::read_to_string(dir.join(format!("knot-sec{i}/knot.log"))).unwrap_or_default();
        for l in log.lines() {
            let done = l.contains("incoming") && l.contains("finished");
            n[0] += (done && l.contains("AXFR")) as u64;
            n[1] += (done && l.contains("IXFR")) as u64;
            n[2] += (l.contains("error:") || l.contains("failed")) as u64;
        }
    }
    n
}

/// Counters read at one moment, to subtract per minute.
#[derive(Clone, Copy, Default)]
struct Counts {
    storage: [u64; 3],
    git: [u64; 3],
    notify: [u64; 3],
    tcp: [u64; 3],
    xfr: [u64; 3],
}

fn counts(load: &Load, dir: &Path) -> Counts {
    Counts {
        storage: load.storage.tally.get(),
        git: load.git.tally.get(),
        notify: load.notify.get(),
        tcp: load.tcp.get(),
        xfr: transfers(dir),
    }
}

fn minus(a: [u64; 3], b: [u64; 3]) -> String {
    let d: Vec<String> = (0..3)
        .map(|i| a[i].saturating_sub(b[i]).to_string())
        .collect();
    d.join("/")
}

/// One minute of dnsperf at `qps` in `ns`: (QPS done, p50, p99, timeouts,
/// error answers), or the reason it failed.
fn dnsperf_minute(ns: &str, qfile: &Path, qps: u32) -> Result<(f64, f64, f64, u64, u64), String> {
    let q = qps.to_string();
    let text = run_dnsperf(
        ns,
        "10.0.0.2",
        qfile,
        &["-l", "60", "-Q", &q, "-c", "4", "-v"],
    )?;
    let done: f64 = text
        .lines()
        .find(|l| l.trim_start().starts_with("Queries per second"))
        .and_then(|l| l.split(':').nth(1)?.split_whitespace().next()?.parse().ok())
        .ok_or_else(|| {
            format!(
                "dnsperf printed no summary: {}",
                text.lines().rev().take(5).collect::<Vec<_>>().join(" | ")
            )
        })?;
    let v = verbose_lines(&text);
    Ok((
        done,
        percentile(&v.latency_ms, 0.5),
        percentile(&v.latency_ms, 0.99),
        v.timeouts,
        v.errors,
    ))
}

/// The highest heap, RSS, HWM and guest-resident KiB of `samples` for VM `i`.
fn memory(samples: &[[Sample; 2]], i: usize) -> Mem {
    let top = |f: fn(&Sample) -> u64| samples.iter().map(|s| f(&s[i])).max().unwrap_or(0);
    Mem {
        heap: samples.iter().filter_map(|s| s[i].heap).max(),
        rss: top(|s| s.rss),
        hwm: top(|s| s.hwm),
        guest: top(|s| s.guest),
    }
}

/// A VM's memory over one minute (see [`memory`]).
#[derive(Clone, Copy)]
struct Mem {
    heap: Option<u64>,
    rss: u64,
    hwm: u64,
    guest: u64,
}

impl Mem {
    /// "RSS (HWM) = guest + own" in MiB.
    fn rss_cell(&self) -> String {
        let mib = |k: u64| k as f64 / 1024.0;
        let own = self.rss.saturating_sub(self.guest);
        format!(
            "{:.1} ({:.1}) = {:.1} + {:.1}",
            mib(self.rss),
            mib(self.hwm),
            mib(self.guest),
            mib(own)
        )
    }
}

/// One row of the per-minute table and the heap/RSS figures it shows.
struct Minute {
    row: String,
    mem: [Mem; 2],
}

fn minute(
    m: u32,
    perf: Result<(f64, f64, f64, u64, u64), String>,
    samples: &[[Sample; 2]],
    a: Counts,
    b: Counts,
) -> Minute {
    let mem = [memory(samples, 0), memory(samples, 1)];
    let heap = |h: Option<u64>| h.map_or("-".into(), |h| format!("{}", h / 1024));
    let perf = match perf {
        Ok((q, p50, p99, t, e)) => format!("{q:.0} | {p50:.2} | {p99:.2} | {t} | {e}"),
        Err(e) => {
            eprintln!("bench soak: minute {m}: {e}");
            "- | - | - | - | -".into()
        }
    };
    let row = format!(
        "| {m} | {} | {} | {} | {} | {perf} | {} | {} | {} | {} | {} |",
        heap(mem[0].heap),
        heap(mem[1].heap),
        mem[0].rss_cell(),
        mem[1].rss_cell(),
        minus(a.storage, b.storage),
        minus(a.git, b.git),
        minus(a.notify, b.notify),
        minus(a.xfr, b.xfr),
        minus(a.tcp, b.tcp),
    );
    Minute { row, mem }
}

/// Run the minutes (dnsperf in the foreground, the loads around it).
fn minutes(rig: &Rig, dir: &Path, o: &Options, qps: u32, load: &Arc<Load>) -> Vec<Minute> {
    let qfile = dir.join("queries");
    let samples: Samples = Arc::default();
    let handles = start_loads(rig, load, &samples);
    let mut before = counts(load, dir);
    let mut rows = Vec::new();
    for m in 1..=o.minutes {
        let perf = dnsperf_minute(&rig.s.name, &qfile, qps);
        let now = counts(load, dir);
        let taken = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
        let r = minute(m, perf, &taken, now, before);
        eprintln!("bench soak: {}", r.row);
        rows.push(r);
        before = now;
    }
    load.stop.store(true, Relaxed);
    for h in handles {
        let _ = h.join();
    }
    rows
}

/// A verdict line and how many acknowledged UPDATEs it found missing.
struct Check {
    line: String,
    lost: usize,
}

fn udp() -> Result<std::net::UdpSocket, String> {
    std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())
}

/// The zone's serial at `server` in `ns`, waiting up to 30 s for `want`.
fn serial_in(ns: &Netns, server: String, want: Option<u32>) -> Result<Option<u32>, String> {
    ns.run_in(move || -> Result<Option<u32>, String> {
        let (sock, end) = (udp()?, Instant::now() + Duration::from_secs(30));
        loop {
            let s = load::serial(&sock, &server);
            if want.is_none() || s == want || Instant::now() > end {
                return Ok(s);
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    })?
}

/// Kill the storage VM, boot it again from its device, and look for every
/// acknowledged UPDATE: the serial counts the UPDATEs applied (each adds
/// one), the names of the last WINDOW are asked with their addresses.
fn check_storage(rig: &mut Rig, load: &Load) -> Result<Check, String> {
    std::thread::sleep(Duration::from_secs(2));
    let live =
        serial_in(&rig.s, "10.0.0.2:53".into(), None)?.ok_or("the storage VM answers no SOA")?;
    let mut secs = Vec::new();
    for a in SECONDARIES {
        secs.push(
            serial_in(&rig.s, format!("{a}:53"), Some(live))?
                .map_or("none".into(), |s| s.to_string()),
        );
    }
    let _ = rig.vm_s.0.kill();
    let _ = rig.vm_s.0.wait();
    rig.vm_s = vm(
        &rig.s,
        (&rig.bins.hvt, &rig.bins.storage),
        Some(&rig.dev),
        &[],
    )?;
    let after = serial_in(&rig.s, "10.0.0.2:53".into(), None)?.ok_or("no SOA after the reboot")?;
    let acked = load.storage.acked.lock().map_err(|_| "poisoned")?.clone();
    let sent = load.storage.sent.load(Relaxed) as u32;
    let applied = after.wrapping_sub(1);
    let window: Vec<u32> = acked
        .iter()
        .copied()
        .filter(|j| j + WINDOW > sent)
        .collect();
    let found = rig.s.run_in(move || -> Result<Vec<bool>, String> {
        let sock = udp()?;
        Ok(window
            .iter()
            .map(|&j| {
                load::lookup_a(&sock, "10.0.0.2:53", j as u16, &format!("s{j}.{ZONE}"))
                    == Some(load::address(j))
            })
            .collect())
    })??;
    let missing = found.iter().filter(|f| !**f).count();
    let short = (acked.len() as u32).saturating_sub(applied) as usize;
    let line = format!(
        "Storage VM: {sent} UPDATEs sent, {} acknowledged; serial {live} before the kill, {after} after \
booting again from the device ({applied} UPDATEs applied: {}); the last {} acknowledged names asked \
after the reboot: {} found with their address, {missing} missing. Secondaries' serial after the run: {}.",
        acked.len(),
        if short == 0 && applied <= sent { "at least every acknowledged one, at most every one sent".to_string() } else { format!("{short} FEWER than acknowledged") },
        found.len(),
        found.len() - missing,
        secs.join(", "),
    );
    Ok(Check {
        line,
        lost: missing.max(short) + (after != live) as usize,
    })
}

/// Read the git remote's history: every acknowledged `g{i}` must have
/// been added by a commit, once.
fn check_git(rig: &Rig, load: &Load) -> Result<Check, String> {
    std::thread::sleep(Duration::from_secs(2));
    let log = rig
        .srv
        .bare(&["log", "-p", "--format=", "main", "--", ZONE]);
    let mut seen = std::collections::HashMap::<u32, u32>::new();
    let suffix = format!(".{ZONE}.");
    for l in log.lines().filter(|l| !l.starts_with("+++")) {
        let Some(tok) = l
            .strip_prefix('+')
            .and_then(|r| r.split_whitespace().next())
        else {
            continue;
        };
        let tok = tok.strip_suffix(suffix.as_str()).unwrap_or(tok);
        if let Some(i) = tok.strip_prefix('g').and_then(|n| n.parse().ok()) {
            *seen.entry(i).or_default() += 1;
        }
    }
    let acked = load.git.acked.lock().map_err(|_| "poisoned")?.clone();
    let missing: Vec<u32> = acked
        .iter()
        .copied()
        .filter(|i| !seen.contains_key(i))
        .collect();
    let twice = seen.values().filter(|n| **n > 1).count();
    let live =
        serial_in(&rig.g, "10.0.0.2:53".into(), None)?.map_or("none".into(), |s| s.to_string());
    let line = format!(
        "Git VM: {} UPDATEs sent, {} acknowledged; the remote's history adds {} distinct `g` names, \
{} of the acknowledged ones missing{}, {twice} added more than once; the VM's serial at the end {live}.",
        load.git.sent.load(Relaxed),
        acked.len(),
        seen.len(),
        missing.len(),
        if missing.is_empty() { String::new() } else { format!(" (first: {:?})", &missing[..missing.len().min(10)]) },
    );
    Ok(Check {
        line,
        lost: missing.len(),
    })
}

/// The whole run: (the docs/bench.md section, acknowledged UPDATEs lost).
fn soak(dir: &Path, o: &Options) -> Result<(String, usize), String> {
    let qfile = dir.join("queries");
    std::fs::write(&qfile, super::dns::queries()).map_err(|e| e.to_string())?;
    let mut rig = rig(dir)?;
    let (qps, how) = match o.qps {
        Some(q) => (q, format!("{q} queries/s (`--qps`)")),
        None => {
            let max = super::dns::dnsperf_with(&rig.s.name, "10.0.0.2", &qfile, 10, &[])?.0;
            let q = (max / 2.0).max(100.0) as u32;
            (q, format!("{q} queries/s, half of the {max:.0} measured by 10 s of unthrottled dnsperf first"))
        }
    };
    eprintln!("bench soak: dnsperf at {how}");
    let load = Arc::new(Load::default());
    let rows = minutes(&rig, dir, o, qps, &load);
    let storage = check_storage(&mut rig, &load)?;
    let git = check_git(&rig, &load)?;
    let lost = storage.lost + git.lost;
    Ok((body(o, &how, &rows, &[storage, git]), lost))
}

/// "first -> last (+x%)" of a figure over the minutes after the first
/// (the first holds the start-up).
fn drift(rows: &[Minute], f: impl Fn(&Minute) -> Option<u64>) -> String {
    let v: Vec<u64> = rows.iter().skip(1).filter_map(&f).collect();
    match (v.first(), v.last(), v.iter().max()) {
        (Some(&a), Some(&b), Some(&m)) => format!(
            "{} -> {} KiB ({:+.1}%, highest {} KiB)",
            a / 1024,
            b / 1024,
            (b as f64 - a as f64) * 100.0 / a.max(1) as f64,
            m / 1024
        ),
        _ => "no samples".into(),
    }
}

fn body(o: &Options, how: &str, rows: &[Minute], checks: &[Check]) -> String {
    let mut b = format!(
        "Command: `cargo xtask bench soak --minutes {}` ({}).\n\n\
Two VMs, one per durability mode, each behind its own tap in its own namespace, everything at\n\
once: the storage image (a block device, UPDATEs journaled to it) under dnsperf at {how},\n\
signed UPDATEs one at a time (each adds a name and deletes the one added {WINDOW} before, so the\n\
zone keeps its size), one TCP connection per 50 ms (connect, SOA query, close), two Knot\n\
secondaries (10.0.0.3, 10.0.0.4: NOTIFY + IXFR of every UPDATE, and a forced AXFR by\n\
`knotc zone-retransfer` every 10 s, in turn); the git image cloned from sshd in its namespace\n\
under signed UPDATEs one at a time (each a commit pushed before the answer) and a signed NOTIFY\n\
(a fetch) every 2 s. The 10,000-name zone of `bench dns`.\n\n\
The machine is shared with other work: latency and QPS figures are noisy. Memory flatness and\n\
nothing lost do not depend on load. Heap: the guest's `gitns_heap_bytes{{state=\"used\"}}` from\n\
the tender's `/metrics`, highest of the 5 s samples of the minute; RSS: the tender's VmRSS\n\
(VmHWM) from /proc = the resident part of the guest's memory mapping (smaps) + the tender's own.\n\
Counts are ok/error/timeout.\n\n\
| min | heap KiB (storage VM) | heap KiB (git VM) | tender RSS MiB (storage) | tender RSS MiB (git) | QPS | p50 ms | p99 ms | query timeouts | error answers | UPDATEs storage | UPDATEs git | NOTIFYs | secondaries AXFR/IXFR/errors | TCP connections |\n\
|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
        o.minutes,
        report::machine()
    );
    for r in rows {
        let _ = writeln!(b, "{}", r.row);
    }
    let _ = write!(
        b,
        "\nMemory from minute 2 to the last: heap of the storage VM {}; of the git VM {}; \
tender RSS (storage) {}, of it the tender's own {}; tender RSS (git) {}, own {}.\n\n",
        drift(rows, |r| r.mem[0].heap),
        drift(rows, |r| r.mem[1].heap),
        drift(rows, |r| Some(r.mem[0].rss * 1024)),
        drift(rows, |r| Some(
            r.mem[0].rss.saturating_sub(r.mem[0].guest) * 1024
        )),
        drift(rows, |r| Some(r.mem[1].rss * 1024)),
        drift(rows, |r| Some(
            r.mem[1].rss.saturating_sub(r.mem[1].guest) * 1024
        )),
    );
    for c in checks {
        let _ = writeln!(b, "{}\n", c.line);
    }
    let lost: usize = checks.iter().map(|c| c.lost).sum();
    let _ = writeln!(
        b,
        "Acknowledged UPDATEs lost: {lost}{}.",
        if lost == 0 { " (none)" } else { " (a finding)" }
    );
    b
}
