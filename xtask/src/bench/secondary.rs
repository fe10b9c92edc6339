//! `cargo xtask bench secondary [--quick] [--only=axfr|update|catalog]`
//! (`--only`: that part alone, printed, docs/bench.md left as it is): the
//! figures of issue 23, gitns
//! as a secondary side by side with Knot, in one namespace holding a
//! bridge (host side 10.0.0.1 and 10.0.0.4, guests on tap0 and tap1):
//! 1. AXFR of a 1,000,000-name zone (`--quick`: 100,000) from one Knot
//!    primary (10.0.0.1) into a gitns secondary (10.0.0.3, the seed-form
//!    `--keys=`) and then into a Knot secondary (10.0.0.4): seconds from
//!    the secondary's start until it answers the zone's SOA, and peak
//!    memory (VmHWM of gitns-hvt: the guest pages touched plus the tender;
//!    VmHWM of knotd).
//! 2. A signed UPDATE at the primary until each secondary serves the new
//!    serial, both secondaries following the same primary in one run:
//!    gitns primary (VM, 10.0.0.2) and Knot primary (10.0.0.1).
//! 3. A new zone pushed to the gitns primary's git remote plus a NOTIFY
//!    until a Knot secondary following the primary's catalog
//!    (`--catalog=catalog.invalid`, Knot `catalog-role: interpret`) serves
//!    it.

use super::dns::percentile;
use super::guest::{boot, Vm};
use super::ops::{knot_on, poll_soa_long, update_key, Knot, SECRET};
use super::report;
use super::servemem::answers;
use super::Kill;
use crate::netns::Netns;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const BIG: &str = "big.test";
const ZONE: &str = "bench.test";
/// The longest a secondary may take to serve the big zone.
const LOAD: Duration = Duration::from_secs(600);

pub fn run(quick: bool, args: &[String]) -> Result<(), String> {
    let only = args.iter().find_map(|a| a.strip_prefix("--only="));
    if let Some(o) = only.filter(|o| !["axfr", "update", "catalog"].contains(o)) {
        return Err(format!(
            "bench secondary: --only={o}: one of axfr, update, catalog"
        ));
    }
    let part = |p: &str| only.is_none_or(|o| o == p);
    crate::deps::install(&[
        ("knotd", "knot"),
        ("dig", "dnsutils"),
        ("taskset", "util-linux"),
        ("sshd", "openssh-server"),
        ("git", "git"),
    ])?;
    let dir = std::env::temp_dir().join(format!("gitns-bench-sec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let (names, runs, zones) = if quick {
        (100_000, 5, 2)
    } else {
        (1_000_000, 20, 5)
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let r = (|| -> Result<String, String> {
        let mut out = Vec::new();
        if part("axfr") {
            out.push(axfr_in(&dir, names)?);
        }
        if part("update") {
            out.push(update_latency(&dir, runs)?);
        }
        if part("catalog") {
            out.push(super::sec_catalog::run(&dir, zones)?);
        }
        Ok(out.join("\n"))
    })();
    if r.is_err() {
        super::ops::print_knot_logs(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let tables = r?;
    let cmd = format!(
        "cargo xtask bench secondary{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "## Secondary (issue 23)\n\nCommand: `{cmd}` ({machine}; load average at the start {load}).\n\
gitns-hvt and {knot} in one namespace on a bridge; the primary pinned to core 0, the\n\
secondaries to core 1, one worker of each kind for Knot.\n\n{tables}",
        machine = report::machine(),
        load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        knot = super::ops::knot_version(),
    );
    // A part alone is a look, not the figures of record.
    if only.is_none() {
        report::write_section("secondary", &body)?;
    }
    print!("{body}");
    Ok(())
}

/// The bench's namespace: br0 = 10.0.0.1/24 and 10.0.0.4/24 with tap0
/// and tap1 on it (two guests and two host-side servers on one segment).
pub(super) fn bridged(tag: &str) -> Result<Netns, String> {
    let ns = Netns::create(&format!("gitns-b{tag}-{}", std::process::id()))?;
    for cmd in [
        "ip addr del 10.0.0.1/24 dev tap0",
        "ip link add br0 type bridge",
        "ip tuntap add dev tap1 mode tap",
        "ip link set tap0 master br0",
        "ip link set tap1 master br0",
        "ip addr add 10.0.0.1/24 dev br0",
        "ip addr add 10.0.0.4/24 dev br0",
        "ip link set br0 up",
        "ip link set tap1 up",
    ] {
        let a: Vec<&str> = cmd.split(' ').collect();
        let out = ns
            .command(a[0])
            .args(&a[1..])
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!("{cmd}: {}", String::from_utf8_lossy(&out.stderr)));
        }
    }
    Ok(ns)
}

/// The transfer key a secondary at `own` uses with `primary` for `zone`.
pub(super) fn xfr_key(primary: &str, own: &str, zone: &str) -> String {
    format!("{primary}.{own}._transfer.{zone}")
}

/// Knot configuration of a secondary at `own` following `zone` from
/// `primary` (the seed-form key; NOTIFY accepted with it).
fn knot_secondary_conf(primary: &str, own: &str, zone: &str) -> String {
    let key = xfr_key(primary, own, zone);
    format!("key:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: {primary}@53\n    via: {own}\n    key: {key}\nacl:\n  - id: notify\n    key: {key}\n    action: notify\n")
}

/// Zone options of a Knot secondary: nothing kept on disk, as gitns.hvt.
const SECONDARY_OPTS: &str =
    "    master: primary\n    acl: notify\n    journal-content: none\n    zonefile-sync: -1\n";

/// Knot configuration of the primary at 10.0.0.1: a transfer key and a
/// NOTIFY target for each of `secondaries`, the update key of `zone`.
/// Returns (config, zone options).
fn knot_primary_conf(zone: &str, secondaries: &[&str]) -> (String, String) {
    let (mut keys, mut remotes, mut ids) = (String::new(), String::new(), Vec::new());
    for s in secondaries {
        let key = xfr_key("10.0.0.1", s, zone);
        let _ = write!(
            keys,
            "  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"
        );
        let _ = write!(
            remotes,
            "  - id: sec-{s}\n    address: {s}@53\n    via: 10.0.0.1\n    key: {key}\n"
        );
        ids.push(key);
    }
    let conf = format!(
        "key:\n  - id: personal._update.{zone}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n{keys}remote:\n{remotes}acl:\n  - id: upd\n    key: personal._update.{zone}\n    action: update\n  - id: xfr\n    key: [{}]\n    action: transfer\n",
        ids.join(", ")
    );
    let notify: Vec<String> = secondaries.iter().map(|s| format!("sec-{s}")).collect();
    let opts = format!("    acl: [xfr, upd]\n    notify: [{}]\n", notify.join(", "));
    (conf, opts)
}

/// Wait (up to [`LOAD`]) until `addr` answers the SOA of `zone`, seen
/// from `ns`; the seconds since `t0`, None when `LOAD` passed. An error
/// when `child` exits first.
fn served(
    ns: &Netns,
    child: &mut Kill,
    addr: &str,
    zone: &str,
    t0: Instant,
) -> Result<Option<f64>, String> {
    while t0.elapsed() < LOAD {
        if !matches!(child.0.try_wait(), Ok(None)) {
            return Err(format!(
                "the secondary at {addr} exited before serving {zone}"
            ));
        }
        if answers(&ns.name, addr, zone) {
            return Ok(Some(t0.elapsed().as_secs_f64()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    eprintln!("bench secondary: {addr} did not serve {zone} within {LOAD:?}");
    Ok(None)
}

/// Peak resident set (VmHWM) of a process we started, in MiB.
pub(super) fn peak_mib(child: &Kill) -> Result<f64, String> {
    let pid = child.0.id();
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).map_err(|e| e.to_string())?;
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .ok_or_else(|| format!("no VmHWM for {pid}"))
}

/// `dig +short` of `name A` at `addr` from `ns`: the check that the
/// secondary holds the zone's last name, not only its SOA.
fn holds(ns: &Netns, addr: &str, name: &str) -> Result<(), String> {
    let out = ns
        .command("dig")
        .args([&format!("@{addr}"), name, "A", "+short", "+time=5"])
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    if text.trim().is_empty() {
        return Err(format!("{addr} does not serve {name} after the transfer"));
    }
    Ok(())
}

/// TCP segments retransmitted so far in `ns` (its /proc/net/snmp).
fn retransmitted(ns: &Netns) -> u64 {
    let out = ns.command("cat").arg("/proc/net/snmp").output();
    let text = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    let mut tcp = text.lines().filter(|l| l.starts_with("Tcp:"));
    let (Some(names), Some(values)) = (tcp.next(), tcp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RetransSegs")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// The guest heap in use (bytes) from the tender's `--metrics`, if on.
fn heap_used(ns: &Netns) -> Option<f64> {
    let text = super::dns::tender_metrics(&ns.name).ok()?;
    text.lines()
        .find(|l| l.starts_with("gitns_heap_bytes{state=\"used\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
}

/// What one secondary did with the big zone.
struct Transfer {
    /// Seconds to serve, None when not within [`LOAD`].
    secs: Option<f64>,
    /// VmHWM, MiB.
    peak: f64,
    /// TCP retransmissions in the namespace meanwhile.
    retrans: u64,
}

impl Transfer {
    fn secs(&self) -> String {
        self.secs
            .map_or(format!("not served in {} s", LOAD.as_secs()), |s| {
                format!("{s:.2}")
            })
    }
}

/// Start the secondary `start` makes at `addr`, wait until it serves the
/// big zone and holds its `last` name: the figures.
fn transfer(
    ns: &Netns,
    addr: &str,
    last: &str,
    start: impl FnOnce() -> Result<Kill, String>,
) -> Result<(Transfer, Kill), String> {
    let (r0, t0) = (retransmitted(ns), Instant::now());
    let mut child = start()?;
    let secs = served(ns, &mut child, addr, BIG, t0)?;
    let retrans = retransmitted(ns).saturating_sub(r0);
    if secs.is_some() {
        holds(ns, addr, last)?;
    }
    let t = Transfer {
        secs,
        peak: peak_mib(&child)?,
        retrans,
    };
    eprintln!(
        "bench secondary: {addr}: AXFR time {}, peak {:.0} MiB, {retrans} retransmissions",
        t.secs(),
        t.peak
    );
    Ok((t, child))
}

/// The last line of the console in `log`; with `print`, its last 30
/// lines to stderr too (a slow or failed transfer).
fn console(log: &Path, print: bool) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    if print {
        let tail: Vec<&str> = text.lines().rev().take(30).collect();
        eprintln!("bench secondary: the gitns secondary's console (last lines, newest first):");
        eprintln!("{}", tail.join("\n"));
    }
    text.lines().last().unwrap_or("").trim().to_string()
}

/// Item 1: the big zone into a gitns and a Knot secondary.
fn axfr_in(dir: &Path, names: u32) -> Result<String, String> {
    let ns = bridged("sax")?;
    let file = dir.join("big.zone");
    std::fs::write(&file, super::zone::big_zone(names)).map_err(|e| e.to_string())?;
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let (conf, opts) = knot_primary_conf(BIG, &["10.0.0.3", "10.0.0.4"]);
    let k = Knot {
        tag: "bigpri",
        ns: &ns.name,
        listen: "10.0.0.1",
        zone: BIG,
        file: &file,
        extra: &conf,
        zone_opts: &opts,
    };
    let _primary = knot_on(dir, &k, 0)?;
    ns.run_in(|| poll_soa_long("10.0.0.1:53", BIG))??;
    let last = format!("host{}.{BIG}", names - 1);
    let key = xfr_key("10.0.0.1", "10.0.0.3", BIG);
    let args = [format!("--keys={key}:SHA256:{SECRET}")];
    let log = dir.join("gitns-secondary.log");
    let vm = Vm {
        tap: "tap1",
        ip: "10.0.0.3",
        mem: 2048,
        dev: None,
        metrics: true,
        log: Some(&log),
        args: &args,
    };
    super::guest::prebuild()?;
    let (g, child) = transfer(&ns, "10.0.0.3", &last, || boot(&ns, 1, &vm))?;
    let last_line = console(&log, g.secs.is_none_or(|s| s > 30.0));
    // The guest hands the tender its counters about once a second.
    std::thread::sleep(Duration::from_millis(1500));
    let heap = heap_used(&ns).unwrap_or(0.0) / (1 << 20) as f64;
    drop(child);
    let conf = knot_secondary_conf("10.0.0.1", "10.0.0.4", BIG);
    let k = Knot {
        tag: "bigsec",
        ns: &ns.name,
        listen: "10.0.0.4",
        zone: BIG,
        file: Path::new("/nonexistent"),
        extra: &conf,
        zone_opts: SECONDARY_OPTS,
    };
    let (kt, _child) = transfer(&ns, "10.0.0.4", &last, || knot_on(dir, &k, 1))?;
    let ratios = match (g.secs, kt.secs) {
        (Some(gs), Some(ks)) => format!(
            "Ratios Knot / gitns (> 1: gitns ahead): time {:.3}, memory {:.2}.",
            ks / gs,
            kt.peak / g.peak
        ),
        _ => format!(
            "No ratios: a secondary did not serve the zone. The gitns secondary's last console line\n\
(`-l info`): `{}`.",
            last_line
        ),
    };
    Ok(format!(
        "### AXFR into a secondary: {names} names ({:.1} MB of zone text) from a Knot primary\n\n\
Seconds from starting the secondary until it answers the zone's SOA (polled every 20 ms;\n\
then its last name is checked), and its peak resident memory (VmHWM: for gitns-hvt the\n\
guest pages touched plus the tender, `--mem=2048`); TCP segments retransmitted in the\n\
namespace meanwhile (the primary's side: /proc/net/snmp RetransSegs).\n\n\
| secondary | seconds to serve | peak RSS MiB | guest heap in use after, MiB | TCP retransmissions |\n|---|---|---|---|---|\n\
| gitns (VM, `--keys={key}:...`) | {} | {:.0} | {heap:.0} | {} |\n\
| Knot (journal off, no zone file written) | {} | {:.0} | | {} |\n\n\
{ratios}\n",
        size as f64 / 1e6,
        g.secs(),
        g.peak,
        g.retrans,
        kt.secs(),
        kt.peak,
        kt.retrans,
    ))
}

/// One signed UPDATE to `primary`, then the milliseconds until each of
/// `secondaries` serves `serial` (polled side by side).
fn update_to(
    primary: &str,
    secondaries: [&str; 2],
    i: u32,
    serial: u32,
) -> Result<[f64; 2], String> {
    let key = crate::dnstool::parse_key(&format!("personal._update.{ZONE}:SHA256:{SECRET}"))?;
    let zone = gitns_dns::name::Name::parse(ZONE, &gitns_dns::name::Name::root())
        .map_err(|e| e.to_string())?;
    let m = crate::dnstool::signed_update(
        i as u16,
        &zone,
        &format!("add s{i}.{ZONE}. 300 A 192.0.2.1"),
        &key,
    )?;
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let polls = secondaries.map(|s| {
        let s = s.to_string();
        std::thread::spawn(move || super::appliance::poll_soa(&s, ZONE, |v| v == serial))
    });
    sock.send_to(&m, primary).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).map_err(|e| format!("{primary}: {e}"))?;
    if n < 4 || buf[3] & 0x0f != 0 {
        return Err(format!("{primary} refused the UPDATE"));
    }
    let mut out = [0.0; 2];
    for (o, p) in out.iter_mut().zip(polls) {
        let at = p.join().map_err(|_| "poll thread")??;
        *o = at.duration_since(t0).as_secs_f64() * 1e3;
    }
    Ok(out)
}

/// `runs` UPDATEs at `primary`, each followed to the gitns secondary
/// (10.0.0.3) and the Knot one (10.0.0.4): the milliseconds of each.
fn follow(ns: &Netns, primary: &'static str, runs: u32) -> Result<(Vec<f64>, Vec<f64>), String> {
    for s in [primary, "10.0.0.3:53", "10.0.0.4:53"] {
        ns.run_in(move || poll_soa_long(s, ZONE))??;
    }
    let (mut g, mut k) = (Vec::new(), Vec::new());
    for i in 0..runs {
        let [a, b] =
            ns.run_in(move || update_to(primary, ["10.0.0.3:53", "10.0.0.4:53"], i, 2 + i))??;
        g.push(a);
        k.push(b);
    }
    Ok((g, k))
}

/// A Knot secondary at 10.0.0.4 of `primary` for the bench zone.
fn knot_secondary(dir: &Path, ns: &Netns, tag: &str, primary: &str) -> Result<Kill, String> {
    let conf = knot_secondary_conf(primary, "10.0.0.4", ZONE);
    let k = Knot {
        tag,
        ns: &ns.name,
        listen: "10.0.0.4",
        zone: ZONE,
        file: Path::new("/nonexistent"),
        extra: &conf,
        zone_opts: SECONDARY_OPTS,
    };
    knot_on(dir, &k, 1)
}

/// The gitns secondary at 10.0.0.3 (tap1) of `primary`.
fn gitns_secondary(ns: &Netns, primary: &str) -> Result<Kill, String> {
    let args = [format!(
        "--keys={}:SHA256:{SECRET}",
        xfr_key(primary, "10.0.0.3", ZONE)
    )];
    let vm = Vm {
        tap: "tap1",
        ip: "10.0.0.3",
        mem: 256,
        dev: None,
        metrics: false,
        log: None,
        args: &args,
    };
    boot(ns, 1, &vm)
}

/// Item 2 with a gitns primary (10.0.0.2, storage image) and with a Knot
/// primary (10.0.0.1).
fn update_latency(dir: &Path, runs: u32) -> Result<String, String> {
    let ns = bridged("sup")?;
    let zones = dir.join("zones-upd");
    std::fs::create_dir_all(&zones).map_err(|e| e.to_string())?;
    let keys = update_key(ZONE).0
        + &["10.0.0.3", "10.0.0.4"]
            .map(|s| {
                format!(
                    "{}. DNSKEY 0 3 163 {SECRET}\n",
                    xfr_key("10.0.0.2", s, ZONE)
                )
            })
            .concat();
    std::fs::write(zones.join(ZONE), super::dns::zone_text()).map_err(|e| e.to_string())?;
    std::fs::write(zones.join(format!("{ZONE}._keys")), keys).map_err(|e| e.to_string())?;
    let dev = crate::zones::pack(&zones, &dir.join("upd.tar"))?;
    let vm = Vm {
        tap: "tap0",
        ip: "10.0.0.2",
        mem: 256,
        dev: Some(&dev),
        metrics: false,
        log: None,
        args: &[],
    };
    let p = boot(&ns, 0, &vm)?;
    let (gs, ks) = (
        gitns_secondary(&ns, "10.0.0.2")?,
        knot_secondary(dir, &ns, "s1", "10.0.0.2")?,
    );
    let from_gitns = follow(&ns, "10.0.0.2:53", runs)?;
    drop((gs, ks, p));
    let (conf, opts) = knot_primary_conf(ZONE, &["10.0.0.3", "10.0.0.4"]);
    let file = zones.join(ZONE);
    let k = Knot {
        tag: "pri",
        ns: &ns.name,
        listen: "10.0.0.1",
        zone: ZONE,
        file: &file,
        extra: &conf,
        zone_opts: &opts,
    };
    let p = knot_on(dir, &k, 0)?;
    let (gs, ks) = (
        gitns_secondary(&ns, "10.0.0.1")?,
        knot_secondary(dir, &ns, "s2", "10.0.0.1")?,
    );
    let from_knot = follow(&ns, "10.0.0.1:53", runs)?;
    drop((gs, ks, p));
    Ok(latency_table(runs, &from_gitns, &from_knot))
}

/// (median, p90) of `v`.
fn mid90(v: &[f64]) -> (f64, f64) {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    (percentile(&v, 0.5), percentile(&v, 0.9))
}

fn latency_table(runs: u32, g: &(Vec<f64>, Vec<f64>), k: &(Vec<f64>, Vec<f64>)) -> String {
    let rows = [
        ("gitns (VM)", "gitns (VM)", &g.0),
        ("gitns (VM)", "Knot", &g.1),
        ("Knot", "gitns (VM)", &k.0),
        ("Knot", "Knot", &k.1),
    ];
    let mut t = format!(
        "### UPDATE at the primary -> served by the secondary ({runs} UPDATEs, ms)\n\n\
Each signed UPDATE is sent to the primary; both secondaries of that primary are polled\n\
(SOA, about every ms) until they serve the new serial (NOTIFY, then IXFR).\n\n\
| primary | secondary | median | p90 |\n|---|---|---|---|\n"
    );
    let mut med = Vec::new();
    for (p, s, v) in rows {
        let (m, p90) = mid90(v);
        med.push(m);
        let _ = writeln!(t, "| {p} | {s} | {m:.1} | {p90:.1} |");
    }
    let _ = write!(
        t,
        "\nRatios of medians (> 1: gitns ahead): Knot -> Knot / gitns -> gitns {:.2}; with the\n\
Knot primary, Knot secondary / gitns secondary {:.2}; with the gitns primary {:.2}.\n",
        med[3] / med[0],
        med[3] / med[2],
        med[1] / med[0]
    );
    t
}
