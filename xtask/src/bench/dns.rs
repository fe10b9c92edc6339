//! `cargo xtask bench dns`: dnsperf against gitns (VM and unix platform),
//! NSD and Knot serving the same 10,000-name zone, each in its own network
//! namespace, server and client pinned to different cores, one server
//! worker each. Reports QPS and latency with ratios against the best peer.

use super::report;
use super::stats::{summary, Summary};
use crate::build;
use crate::netns::Netns;
use crate::util::run_ok;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const ZONE: &str = "bench.test";

/// A 10,000-name zone: hosts with A (some AAAA), CNAMEs, MX, TXT and 100
/// delegations with glue.
pub fn zone_text() -> String {
    let mut z = String::from("$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n@ MX 10 mail\nmail A 10.0.0.25\n");
    for i in 0..10_000u32 {
        let _ = writeln!(
            z,
            "h{i} A 10.{}.{}.{}",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        if i % 4 == 0 {
            let _ = writeln!(z, "h{i} AAAA fd00::{i:x}");
        }
        if i % 10 == 0 {
            let _ = writeln!(z, "c{i} CNAME h{i}");
        }
        if i % 20 == 0 {
            let _ = writeln!(z, "h{i} TXT \"v=spf1 -all\"");
        }
    }
    for i in 0..100u32 {
        let _ = writeln!(z, "d{i} NS ns.d{i}\nns.d{i} A 10.200.0.{i}");
    }
    z
}

/// The query mix: hits, CNAMEs, NODATA, NXDOMAIN, referrals.
pub fn queries() -> String {
    let mut q = String::new();
    for i in 0..20_000u32 {
        let h = (i.wrapping_mul(2_654_435_761) >> 8) % 10_000;
        let line = match i % 20 {
            0..=12 => format!("h{h}.{ZONE} A"),
            13 => format!("h{}.{ZONE} AAAA", h - h % 4),
            14 => format!("c{}.{ZONE} A", h - h % 10),
            15 => format!("h{}.{ZONE} MX", h),
            16 | 17 => format!("nx{h}.{ZONE} A"),
            18 => format!("www.d{}.{ZONE} A", h % 100),
            _ => format!("h{}.{ZONE} TXT", h - h % 20),
        };
        q.push_str(&line);
        q.push('\n');
    }
    q
}

/// (VM exits, frames in + out) from the tender's `--metrics` endpoint
/// (127.0.0.1:9100 inside the guest's namespace).
fn vm_counters(ns: &str) -> Result<(u64, u64), String> {
    let text = tender_metrics(ns)?;
    let sum = |prefix: &str| -> u64 {
        text.lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    };
    Ok((
        sum("gitns_tender_vm_exits_total{"),
        sum("gitns_tender_net_frames_total{"),
    ))
}

/// The text of the tender's `--metrics` endpoint (127.0.0.1:9100 inside
/// namespace `ns`): its own counters and the guest's lines.
pub(super) fn tender_metrics(ns: &str) -> Result<String, String> {
    crate::netns::run_in_named(ns, || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect("127.0.0.1:9100").map_err(|e| e.to_string())?;
        s.set_read_timeout(Some(Duration::from_secs(5)))
            .map_err(|e| e.to_string())?;
        s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            .map_err(|e| e.to_string())?;
        let mut out = String::new();
        s.read_to_string(&mut out).map_err(|e| e.to_string())?;
        Ok::<String, String>(out)
    })?
}

/// The figures of one server.
struct Row {
    name: &'static str,
    qps: Summary,
    lat: Summary,
    lost: u64,
    /// p50, p99, p99.9 (ms) and timeouts at LATENCY_QPS.
    pct: Option<(f64, f64, f64, u64)>,
    /// Queries per second over TCP.
    tcp: Option<f64>,
    /// The same with IDLE_CONNS more connections open, and how many of
    /// those still answered at the end.
    tcp_idle: Option<(f64, usize)>,
}

/// A server under test.
pub(super) struct Server {
    pub(super) name: &'static str,
    child: Child,
    /// Namespace the client runs in, and the address it asks.
    pub(super) client_ns: String,
    pub(super) addr: &'static str,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn pinned(core: u32, ns: &str, program: &Path) -> Command {
    let mut c = Command::new("taskset");
    c.args(["-c", &core.to_string(), "ip", "netns", "exec", ns])
        .arg(program);
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    c
}

/// A namespace pair joined by a veth: server side 10.0.1.2, client 10.0.1.1.
pub(super) struct VethPair {
    pub(super) server: String,
    pub(super) client: String,
    /// The client end of the veth.
    pub(super) client_dev: String,
}

impl VethPair {
    pub(super) fn create(tag: &str) -> Result<VethPair, String> {
        let (s, c) = (
            format!("gitns-b{tag}-s-{}", std::process::id()),
            format!("gitns-b{tag}-c-{}", std::process::id()),
        );
        // Made before the links, so a failure below leaves no namespace.
        let pair = VethPair {
            server: s.clone(),
            client: c.clone(),
            client_dev: format!("vb{tag}{}c", std::process::id() % 10_000),
        };
        pair.link(tag)?;
        Ok(pair)
    }

    fn link(&self, tag: &str) -> Result<(), String> {
        let (s, c) = (&self.server, &self.client);
        for n in [s, c] {
            let _ = Command::new("ip")
                .args(["netns", "del", n])
                .stderr(Stdio::null())
                .status();
            run_ok(Command::new("ip").args(["netns", "add", n]))?;
        }
        let v = format!("vb{tag}{}", std::process::id() % 10_000);
        run_ok(Command::new("ip").args([
            "link",
            "add",
            &format!("{v}s"),
            "type",
            "veth",
            "peer",
            "name",
            &format!("{v}c"),
        ]))?;
        run_ok(Command::new("ip").args(["link", "set", &format!("{v}s"), "netns", s]))?;
        run_ok(Command::new("ip").args(["link", "set", &format!("{v}c"), "netns", c]))?;
        for (n, dev, ip) in [
            (s, format!("{v}s"), "10.0.1.2/24"),
            (c, format!("{v}c"), "10.0.1.1/24"),
        ] {
            run_ok(
                Command::new("ip").args(["netns", "exec", n, "ip", "addr", "add", ip, "dev", &dev]),
            )?;
            run_ok(Command::new("ip").args(["netns", "exec", n, "ip", "link", "set", &dev, "up"]))?;
            run_ok(Command::new("ip").args(["netns", "exec", n, "ip", "link", "set", "lo", "up"]))?;
        }
        add_sources(c, &self.client_dev)?;
        run_ok(Command::new("ip").args([
            "netns", "exec", s, "ip", "route", "add", SOURCE_NET, "via", "10.0.1.1",
        ]))
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for n in [&self.server, &self.client] {
            let _ = Command::new("ip").args(["netns", "del", n]).status();
        }
    }
}

/// Connections held open (mostly idle) in the second TCP measurement.
const IDLE_CONNS: usize = 1000;
/// Source addresses they come from (25 each: under gitns's per-source
/// cap of 32), routed by every server through its neighbour 10.x.x.1.
const SOURCE_NET: &str = "10.9.0.0/24";
const SOURCES: u8 = 40;

fn sources() -> Vec<std::net::Ipv4Addr> {
    (1..=SOURCES)
        .map(|i| std::net::Ipv4Addr::new(10, 9, 0, i))
        .collect()
}

/// Give the client namespace's `dev` the source addresses.
fn add_sources(ns: &str, dev: &str) -> Result<(), String> {
    for a in sources() {
        run_ok(Command::new("ip").args([
            "netns",
            "exec",
            ns,
            "ip",
            "addr",
            "add",
            &format!("{a}/32"),
            "dev",
            dev,
        ]))?;
    }
    Ok(())
}

/// dnsperf over TCP while IDLE_CONNS other connections are open: (QPS,
/// idle connections still answering at the end).
fn tcp_with_idle(server: &Server, queries: &Path, secs: u32) -> Result<(f64, usize), String> {
    let addr = server.addr.parse().map_err(|_| "server address")?;
    let q = format!("h1.{ZONE}");
    let idle = super::idle::Idle::open(&server.client_ns, addr, sources(), IDLE_CONNS, &q)?;
    let qps = dnsperf(&server.client_ns, server.addr, queries, secs, true)?.0;
    Ok((qps, idle.close()?))
}

pub(super) fn wait_answer(ns: &str, addr: &str) -> Result<(), String> {
    for _ in 0..200 {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                ns,
                "dig",
                &format!("@{addr}"),
                "+time=1",
                "+tries=1",
                &format!("h1.{ZONE}"),
                "A",
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if String::from_utf8_lossy(&out.stdout).contains("status: NOERROR") {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("no answer from {addr} in {ns}"))
}

/// Load at which latency percentiles are taken (UDP queries per second):
/// well below every server's capacity, so queueing does not dominate.
const LATENCY_QPS: u32 = 50_000;
const LATENCY_SECS: u32 = 3;

/// dnsperf pinned to core 1 in `ns`, asking `addr`; its stdout.
pub(super) fn run_dnsperf(
    ns: &str,
    addr: &str,
    queries: &Path,
    args: &[&str],
) -> Result<String, String> {
    let out = Command::new("taskset")
        .args(["-c", "1", "ip", "netns", "exec", ns, "dnsperf", "-s", addr])
        .args(args)
        .arg("-d")
        .arg(queries)
        .output()
        .map_err(|e| format!("dnsperf: {e}"))?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Latency percentiles at a fixed rate from dnsperf's verbose lines
/// (`> RCODE NAME TYPE SECONDS`, `> T NAME TYPE` for a timeout):
/// (p50, p99, p99.9 in ms, timeouts).
fn dnsperf_latency(ns: &str, addr: &str, queries: &Path) -> Result<(f64, f64, f64, u64), String> {
    let (qps, secs) = (LATENCY_QPS.to_string(), LATENCY_SECS.to_string());
    let text = run_dnsperf(
        ns,
        addr,
        queries,
        &["-l", &secs, "-Q", &qps, "-c", "4", "-v"],
    )?;
    let v = verbose_lines(&text);
    if v.latency_ms.is_empty() {
        return Err(format!("dnsperf -v printed no latencies:\n{text}"));
    }
    let at = |q: f64| percentile(&v.latency_ms, q);
    Ok((at(0.50), at(0.99), at(0.999), v.timeouts))
}

/// What dnsperf's verbose lines (`> RCODE NAME TYPE SECONDS`, `> T NAME
/// TYPE` for a timeout) say.
pub(super) struct Verbose {
    /// Latencies of the answered queries, ms, sorted.
    pub(super) latency_ms: Vec<f64>,
    pub(super) timeouts: u64,
    /// Answers with an RCODE other than NOERROR and NXDOMAIN.
    pub(super) errors: u64,
}

pub(super) fn verbose_lines(text: &str) -> Verbose {
    let mut v = Verbose {
        latency_ms: Vec::new(),
        timeouts: 0,
        errors: 0,
    };
    for l in text.lines().filter_map(|l| l.strip_prefix("> ")) {
        let w: Vec<&str> = l.split_whitespace().collect();
        match (w.first(), w.get(3).and_then(|v| v.parse::<f64>().ok())) {
            (Some(&"T"), _) => v.timeouts += 1,
            (Some(rcode), Some(s)) => {
                v.errors += !matches!(*rcode, "NOERROR" | "NXDOMAIN") as u64;
                v.latency_ms.push(s * 1e3);
            }
            _ => {}
        }
    }
    v.latency_ms.sort_by(f64::total_cmp);
    v
}

/// The `q` quantile of sorted `v` (0 when empty).
pub(super) fn percentile(v: &[f64], q: f64) -> f64 {
    v.get(((v.len() as f64 * q) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(0.0)
}

/// One dnsperf run: (QPS, average latency ms, lost queries); `tcp` makes
/// every client a TCP connection with queries pipelined on it.
fn dnsperf(
    ns: &str,
    addr: &str,
    queries: &Path,
    secs: u32,
    tcp: bool,
) -> Result<(f64, f64, u64), String> {
    dnsperf_with(
        ns,
        addr,
        queries,
        secs,
        if tcp { &["-m", "tcp"] } else { &[] },
    )
}

/// [`dnsperf`] with extra dnsperf arguments (`-m tcp`, `-E 10:COOKIE`).
pub(super) fn dnsperf_with(
    ns: &str,
    addr: &str,
    queries: &Path,
    secs: u32,
    extra: &[&str],
) -> Result<(f64, f64, u64), String> {
    let secs = secs.to_string();
    let mut args = vec!["-l", &secs, "-c", "4", "-q", "200"];
    args.extend_from_slice(extra);
    let text = run_dnsperf(ns, addr, queries, &args)?;
    let field = |key: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(key))
            .and_then(|l| l.split(':').nth(1))
            .map(|v| v.split_whitespace().next().unwrap_or("").to_string())
    };
    let qps: f64 = field("Queries per second")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("dnsperf output:\n{text}"))?;
    let lat: f64 = field("Average Latency (s)")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
        * 1e3;
    let lost: u64 = text
        .lines()
        .find(|l| l.contains("Queries lost"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Ok((qps, lat, lost))
}

/// Image arguments of the rows without and with rate limiting and
/// cookies: "on" limits at a rate no client of the bench reaches, so the
/// row measures the bookkeeping (a bucket per answer, a server cookie per
/// query), not dropped queries.
const PROTECT_OFF: &[&str] = &["--rrl=0", "--cookies=0"];
const PROTECT_ON: &[&str] = &["--rrl-rate=1000000", "--cookies=1"];
/// The client cookie every query carries in the "on" rows (dnsperf -E).
const COOKIE_OPT: &str = "10:0102030405060708";

/// One way of running gitns in a row of a benchmark.
pub(super) struct GitnsRow {
    /// The image under gitns-hvt, or the unix platform.
    pub(super) vm: bool,
    /// With the tender's `--metrics` endpoint.
    pub(super) metrics: bool,
    /// Short tag naming the namespace and block file.
    pub(super) tag: &'static str,
    /// The row's name in the tables.
    pub(super) name: &'static str,
    /// Image arguments after the addresses.
    pub(super) args: &'static [&'static str],
}

impl GitnsRow {
    /// The rows of `bench dns`, by their key.
    pub(super) fn of(which: &str) -> GitnsRow {
        let (vm, metrics, tag, name, args) = match which {
            "vm-rrl" => (
                true,
                false,
                "gvmr",
                "gitns (VM, RRL + cookies on)",
                PROTECT_ON,
            ),
            "vm-metrics" => (
                true,
                true,
                "gvmm",
                "gitns (VM, gitns-hvt --metrics)",
                PROTECT_OFF,
            ),
            "vm" => (true, false, "gvm", "gitns (VM, gitns-hvt)", PROTECT_OFF),
            _ => (false, false, "gux", "gitns (unix platform)", PROTECT_OFF),
        };
        GitnsRow {
            vm,
            metrics,
            tag,
            name,
            args,
        }
    }
}

/// gitns serving the bench zone from its storage device in a namespace of
/// its own (guest 10.0.0.2), answering before this returns.
pub(super) fn start_gitns(row: &GitnsRow, dir: &Path) -> Result<(Server, Netns), String> {
    let ns = Netns::create(&format!("gitns-b{}-{}", row.tag, std::process::id()))?;
    add_sources(&ns.name, &ns.tap)?;
    let dev = dir.join(format!("{}.tar", row.tag));
    crate::zones::pack(&dir.join("zones"), &dev)?;
    let addrs = [
        "--ipv4=10.0.0.2/24",
        "--ipv4-gateway=10.0.0.1",
        "-l",
        "warn",
    ];
    let child = if row.vm {
        let mut c = pinned(0, &ns.name, &build::tender(true)?);
        c.args(["--quiet", "--mem=256", "--net:service=tap0"]);
        if row.metrics {
            c.arg("--metrics=127.0.0.1:9100");
        }
        c.arg(format!("--block:storage={}", dev.display()))
            .arg(build::image_storage(true)?)
            .args(addrs)
            .args(row.args);
        c.spawn()
    } else {
        let mut c = pinned(0, &ns.name, &build::unix(true)?);
        c.arg("--net:service=tap0")
            .arg(format!("--block:storage={}", dev.display()))
            .arg("--")
            .args(addrs)
            .args(row.args);
        c.spawn()
    }
    .map_err(|e| e.to_string())?;
    let s = Server {
        name: row.name,
        child,
        client_ns: ns.name.clone(),
        addr: "10.0.0.2",
    };
    wait_answer(&s.client_ns, s.addr)?;
    Ok((s, ns))
}

/// NSD with its RRL off (`rrl-ratelimit: 0`), or on at `rrl` responses
/// per second (the "on" row of `bench dns` gives a rate it does not reach,
/// as gitns's; `bench flood` NSD's default 200).
pub(super) fn start_nsd(dir: &Path, pair: &VethPair, rrl: Option<u32>) -> Result<Server, String> {
    let d = dir.join(if rrl.is_some() { "nsd-rrl" } else { "nsd" });
    let rrl_conf = match rrl {
        Some(r) => format!("rrl-ratelimit: {r}\n  rrl-whitelist-ratelimit: {r}\n  rrl-slip: 2"),
        None => "rrl-ratelimit: 0".to_string(),
    };
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  ip-address: 10.0.1.2\n  port: 53\n  server-count: 1\n  tcp-count: 2500\n  username: \"\"\n  zonesdir: \"{z}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  {rrl_conf}\n  hide-version: yes\n  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: {ZONE}\n  zonefile: {ZONE}\n",
        z = dir.join("zones").display(),
        d = d.display()
    );
    std::fs::write(d.join("nsd.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = pinned(0, &pair.server, Path::new("/usr/sbin/nsd"));
    c.arg("-d").arg("-c").arg(d.join("nsd.conf"));
    let child = c.spawn().map_err(|e| format!("nsd: {e}"))?;
    let s = Server {
        name: if rrl.is_some() { "NSD (RRL on)" } else { "NSD" },
        child,
        client_ns: pair.client.clone(),
        addr: "10.0.1.2",
    };
    wait_answer(&s.client_ns, s.addr)?;
    Ok(s)
}

/// Knot with one worker of each kind pinned to core 0, or (`defaults`)
/// with its default worker counts (one per CPU) and not pinned.
pub(super) fn start_knot(dir: &Path, pair: &VethPair, defaults: bool) -> Result<Server, String> {
    let d = dir.join("knot");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let workers = if defaults {
        ""
    } else {
        "  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n"
    };
    let workers = format!("{workers}  tcp-max-clients: 5000\n");
    let conf = format!(
        "server:\n  listen: 10.0.1.2@53\n  rundir: {d}\n  user: root\n{workers}database:\n  storage: {d}\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n    journal-content: none\n    zonefile-sync: -1\nzone:\n  - domain: {ZONE}\n    file: {z}\n",
        d = d.display(),
        z = dir.join("zones").join(ZONE).display()
    );
    std::fs::write(d.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = if defaults {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &pair.server, "/usr/sbin/knotd"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .stdin(Stdio::null());
        c
    } else {
        pinned(0, &pair.server, Path::new("/usr/sbin/knotd"))
    };
    c.arg("-c").arg(d.join("knot.conf"));
    let child = c.spawn().map_err(|e| format!("knotd: {e}"))?;
    let s = Server {
        name: if defaults {
            "Knot (default workers, not pinned)"
        } else {
            "Knot"
        },
        child,
        client_ns: pair.client.clone(),
        addr: "10.0.1.2",
    };
    wait_answer(&s.client_ns, s.addr)?;
    Ok(s)
}

fn version(cmd: &str, arg: &str) -> String {
    Command::new(cmd)
        .arg(arg)
        .output()
        .map(|o| {
            String::from_utf8_lossy(if o.stdout.is_empty() {
                &o.stderr
            } else {
                &o.stdout
            })
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
        })
        .unwrap_or_default()
}

pub fn run(quick: bool) -> Result<(), String> {
    super::idle::raise_nofile(16_384);
    crate::deps::install(&[
        ("dnsperf", "dnsperf"),
        ("nsd", "nsd"),
        ("knotd", "knot"),
        ("dig", "dnsutils"),
        ("taskset", "util-linux"),
    ])?;
    let dir: PathBuf = std::env::temp_dir().join(format!("gitns-bench-dns-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("zones")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("zones").join(ZONE), zone_text()).map_err(|e| e.to_string())?;
    let qfile = dir.join("queries");
    std::fs::write(&qfile, queries()).map_err(|e| e.to_string())?;
    let (secs, runs) = if quick { (3, 1) } else { (10, 3) };
    let mut rows: Vec<Row> = Vec::new();
    let mut exit_note = String::new();
    let kvm = crate::util::have_kvm();
    for which in [
        "vm",
        "vm-rrl",
        "vm-metrics",
        "unix",
        "nsd",
        "nsd-rrl",
        "knot",
        "knot-defaults",
    ] {
        if which.starts_with("vm") && !kvm {
            continue;
        }
        let pair = if matches!(which, "nsd" | "nsd-rrl" | "knot" | "knot-defaults") {
            Some(VethPair::create(match which {
                "knot-defaults" => "kd",
                "nsd-rrl" => "nr",
                _ => which,
            })?)
        } else {
            None
        };
        let (server, _ns) = match which {
            "vm" | "vm-metrics" | "vm-rrl" => {
                let (s, n) = start_gitns(&GitnsRow::of(which), &dir)?;
                (s, Some(n))
            }
            "unix" => {
                let (s, n) = start_gitns(&GitnsRow::of(which), &dir)?;
                (s, Some(n))
            }
            "nsd" | "nsd-rrl" => (
                start_nsd(
                    &dir,
                    pair.as_ref().ok_or("pair")?,
                    (which == "nsd-rrl").then_some(1_000_000),
                )?,
                None,
            ),
            _ => (
                start_knot(&dir, pair.as_ref().ok_or("pair")?, which == "knot-defaults")?,
                None,
            ),
        };
        let before = (which == "vm-metrics")
            .then(|| vm_counters(&server.client_ns))
            .transpose()?;
        let (mut qps, mut lat, mut lost) = (Vec::new(), Vec::new(), 0);
        // The "on" rows: every query carries a client cookie.
        let extra: &[&str] = if which.ends_with("-rrl") {
            &["-E", COOKIE_OPT]
        } else {
            &[]
        };
        for _ in 0..runs {
            let (q, l, x) = dnsperf_with(&server.client_ns, server.addr, &qfile, secs, extra)?;
            qps.push(q);
            lat.push(l);
            lost += x;
        }
        if let Some(b) = before {
            let a = vm_counters(&server.client_ns)?;
            let (exits, frames) = (a.0.saturating_sub(b.0), a.1.saturating_sub(b.1));
            exit_note = format!(
                "\nThe VM's exits during the `--metrics` run (tender counters): {exits} exits for {frames} frames in and out, {:.1} frames per exit.\n",
                frames as f64 / exits.max(1) as f64
            );
        }
        // Latency at a fixed load and TCP throughput, for the servers
        // compared (not the variants).
        let detail = matches!(which, "vm" | "unix" | "nsd" | "knot");
        let pct = if detail {
            Some(dnsperf_latency(&server.client_ns, server.addr, &qfile)?)
        } else {
            None
        };
        let tcp = if detail {
            Some(dnsperf(&server.client_ns, server.addr, &qfile, secs, true)?.0)
        } else {
            None
        };
        let tcp_idle = detail
            .then(|| tcp_with_idle(&server, &qfile, secs))
            .transpose()?;
        eprintln!(
            "bench dns: {}: {:.0} qps UDP{}",
            server.name,
            summary(&qps).median,
            tcp.map(|t| format!(", {t:.0} qps TCP")).unwrap_or_default()
                + &tcp_idle
                    .map(|(t, _)| format!(", {t:.0} qps TCP with {IDLE_CONNS} open"))
                    .unwrap_or_default()
        );
        rows.push(Row {
            name: server.name,
            qps: summary(&qps),
            lat: summary(&lat),
            lost,
            pct,
            tcp,
            tcp_idle,
        });
        drop(server);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let peers = |f: &dyn Fn(&Row) -> Option<f64>| {
        rows.iter()
            .filter(|r| matches!(r.name, "NSD" | "Knot"))
            .filter_map(f)
            .fold(0.0, f64::max)
    };
    let best_peer = peers(&|r| Some(r.qps.median));
    let best_tcp = peers(&|r| r.tcp);
    let best_idle = peers(&|r| r.tcp_idle.map(|t| t.0));
    let ratio = |x: f64, best: f64| if best > 0.0 { x / best } else { 0.0 };
    let cmd = format!(
        "cargo xtask bench dns{}",
        if quick { " --quick" } else { "" }
    );
    let mut body = format!(
        "## DNS query throughput\n\nCommand: `{cmd}`. Machine: {}.\n{}; {}; {}.\n\
Zone: 10,000 hosts (A, 1/4 with AAAA, CNAMEs, TXT, MX, 100 delegations with glue). Mix: 65% A hits, 5% AAAA, 5% CNAME, 5% NODATA, 10% NXDOMAIN, 5% referrals, 5% TXT.\n\
dnsperf (`-c 4 -q 200`, {secs} s, {runs} run(s)) pinned to core 1, each server pinned to core 0 with one worker (except the row that says otherwise). gitns is reached over a tap from its netns, NSD and Knot over a veth pair between two netns.\n\n\
### UDP\n\n\
| server | QPS min | QPS median | QPS max | avg latency ms (median) | lost | ratio to best peer |\n|---|---|---|---|---|---|---|\n",
        report::machine(),
        version("nsd", "-v"),
        version("knotd", "--version"),
        version("dnsperf", "-h").trim_start_matches("DNS Performance Testing Tool ")
    );
    for r in &rows {
        let _ = writeln!(
            body,
            "| {} | {:.0} | {:.0} | {:.0} | {:.3} | {} | {:.2} |",
            r.name,
            r.qps.min,
            r.qps.median,
            r.qps.max,
            r.lat.median,
            r.lost,
            ratio(r.qps.median, best_peer)
        );
    }
    body.push_str(&exit_note);
    let median = |name: &str| rows.iter().find(|r| r.name == name).map(|r| r.qps.median);
    let _ = write!(
        body,
        "\n### Rate limiting and cookies on vs off (UDP)\n\n\
\"On\": gitns `{}` with dnsperf `-E {COOKIE_OPT}` (a client cookie in every query, so every answer computes a server cookie); NSD `rrl-ratelimit: 1000000` ({} answers no cookies). The rate is one the bench never reaches: the rows measure the per-answer bookkeeping, not limiting. \"Off\": gitns `{}`, NSD `rrl-ratelimit: 0`.\n\n\
| server | QPS off | QPS on | on / off |\n|---|---|---|---|\n",
        PROTECT_ON.join(" "),
        version("nsd", "-v"),
        PROTECT_OFF.join(" ")
    );
    for (name, off, on) in [
        (
            "gitns (VM)",
            "gitns (VM, gitns-hvt)",
            "gitns (VM, RRL + cookies on)",
        ),
        ("NSD", "NSD", "NSD (RRL on)"),
    ] {
        if let (Some(a), Some(b)) = (median(off), median(on)) {
            let _ = writeln!(body, "| {name} | {a:.0} | {b:.0} | {:.3} |", ratio(b, a));
        }
    }
    let _ = write!(
        body,
        "\n### Latency at a fixed {LATENCY_QPS} queries/s (UDP, {LATENCY_SECS} s, dnsperf `-Q {LATENCY_QPS} -v`)\n\n\
| server | p50 ms | p99 ms | p99.9 ms | timeouts |\n|---|---|---|---|---|\n"
    );
    for r in &rows {
        if let Some((p50, p99, p999, t)) = r.pct {
            let _ = writeln!(
                body,
                "| {} | {p50:.3} | {p99:.3} | {p999:.3} | {t} |",
                r.name
            );
        }
    }
    let _ = write!(
        body,
        "\n### TCP (`-m tcp`: 4 connections, queries pipelined, {secs} s, one run)\n\n\
The second QPS column is the same run with {IDLE_CONNS} more connections open from {SOURCES} addresses, each asking one query every 3 s (NSD `tcp-count: 2500`: past half of it NSD shortens its idle timeout to 200 ms, Knot `tcp-max-clients: 5000`); held = those still answering at the end.\n\n\
| server | QPS | ratio to best peer | QPS, {IDLE_CONNS} open | ratio to best peer | held |\n|---|---|---|---|---|---|\n"
    );
    for r in &rows {
        if let Some(t) = r.tcp {
            let (ti, held) = r.tcp_idle.unwrap_or((0.0, 0));
            let _ = writeln!(
                body,
                "| {} | {t:.0} | {:.2} | {ti:.0} | {:.2} | {held} |",
                r.name,
                ratio(t, best_tcp),
                ratio(ti, best_idle)
            );
        }
    }
    print!("{body}");
    report::write_section("dns", &body)?;
    let json: Vec<String> = rows
        .iter()
        .map(|r| {
            let (p50, p99, p999) = r.pct.map_or((-1.0, -1.0, -1.0), |p| (p.0, p.1, p.2));
            format!(
                "{{\"server\": \"{}\", \"qps_median\": {:.0}, \"qps_min\": {:.0}, \"qps_max\": {:.0}, \"latency_ms\": {:.3}, \"lost\": {}, \"p50_ms\": {p50:.3}, \"p99_ms\": {p99:.3}, \"p999_ms\": {p999:.3}, \"tcp_qps\": {:.0}, \"tcp_idle_qps\": {:.0}}}",
                r.name,
                r.qps.median,
                r.qps.min,
                r.qps.max,
                r.lat.median,
                r.lost,
                r.tcp.unwrap_or(-1.0),
                r.tcp_idle.map_or(-1.0, |t| t.0)
            )
        })
        .collect();
    report::write_json("dns", &format!("[{}]", json.join(", ")))
}
