//! `cargo xtask bench flood`: a legitimate client's answers while a
//! spoofed-source UDP flood runs (issue 24). The flood is what a
//! reflection attack sends: queries whose source is a victim's address,
//! here VICTIMS networks of 198.18.0.0/15 (RFC 2544's benchmark range),
//! each at FLOOD_FACTOR times the servers' rate limit. The legitimate
//! client asks the bench mix at LEGIT_QPS from its own address. Reported:
//! the share of the client's queries answered with and without the
//! flood, and how many answers reached the victims (what RRL is for).
//!
//! The flood's packets are written by a raw socket (IP_HDRINCL) on a
//! thread inside the client namespace; the answers to the victims are
//! routed back to that namespace and dropped there (no forwarding), and
//! counted from its device's receive counter.

use super::dns::{self, GitnsRow, Server, VethPair};
use super::report;
use crate::util::run_ok;
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The servers' responses per second per bucket (gitns's default and
/// NSD's `rrl-ratelimit` default).
const RRL_RATE: u32 = 200;
/// The flood per victim network, in multiples of the rate.
const FLOOD_FACTOR: u32 = 10;
/// Victim /24 networks: 198.18.0.0/24 .. 198.18.15.0/24.
const VICTIMS: u32 = 16;
const VICTIM_NET: &str = "198.18.0.0/15";
/// The legitimate client's queries per second (dnsperf -Q).
const LEGIT_QPS: u32 = 1000;

/// One server's figures.
struct Row {
    name: &'static str,
    /// Share of the client's queries answered: without, with the flood.
    quiet: f64,
    flooded: f64,
    /// Flood packets sent per second, and answers that reached the
    /// victims per second (receive counter minus the client's answers).
    flood_pps: f64,
    to_victims: f64,
}

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[("dnsperf", "dnsperf"), ("nsd", "nsd"), ("dig", "dnsutils")])?;
    let dir = std::env::temp_dir().join(format!("gitns-bench-flood-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("zones")).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("zones").join(dns::ZONE), dns::zone_text())
        .map_err(|e| e.to_string())?;
    let qfile = dir.join("queries");
    std::fs::write(&qfile, dns::queries()).map_err(|e| e.to_string())?;
    let secs = if quick { 5 } else { 10 };
    let mut rows = Vec::new();
    if crate::util::have_kvm() {
        for row in [GITNS_DEFAULTS, GITNS_RRL_OFF] {
            let (server, ns) = dns::start_gitns(&row, &dir)?;
            rows.push(measure(&server, &ns.name, &ns.tap, &qfile, secs)?);
        }
    } else {
        eprintln!("bench flood: no /dev/kvm, gitns rows skipped");
    }
    for rrl in [Some(RRL_RATE), None] {
        let pair = VethPair::create(if rrl.is_some() { "fr" } else { "fo" })?;
        run_ok(Command::new("ip").args([
            "netns",
            "exec",
            &pair.server,
            "ip",
            "route",
            "add",
            VICTIM_NET,
            "via",
            "10.0.1.1",
        ]))?;
        let server = dns::start_nsd(&dir, &pair, rrl)?;
        let mut row = measure(&server, &pair.client, &pair.client_dev, &qfile, secs)?;
        row.name = if rrl.is_some() {
            "NSD (RRL on)"
        } else {
            "NSD (RRL off)"
        };
        rows.push(row);
    }
    let _ = std::fs::remove_dir_all(&dir);
    write_report(&rows, quick, secs)
}

const GITNS_DEFAULTS: GitnsRow = GitnsRow {
    vm: true,
    metrics: false,
    tag: "gfd",
    name: "gitns (VM, defaults: RRL on)",
    args: &[],
};
const GITNS_RRL_OFF: GitnsRow = GitnsRow {
    vm: true,
    metrics: false,
    tag: "gfo",
    name: "gitns (VM, --rrl=0)",
    args: &["--rrl=0"],
};

/// The client's answered share alone, then under the flood.
fn measure(server: &Server, ns: &str, dev: &str, qfile: &Path, secs: u32) -> Result<Row, String> {
    let quiet = legit(server, qfile, secs)?;
    let rx0 = rx_packets(ns, dev)?;
    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicU64::new(0));
    let target: Ipv4Addr = server.addr.parse().map_err(|_| "server address")?;
    let flood_start = Instant::now();
    let flood = {
        let (stop, sent, ns) = (stop.clone(), sent.clone(), ns.to_string());
        std::thread::spawn(move || {
            crate::netns::run_in_named(&ns, move || flood(target, &stop, &sent))?
        })
    };
    std::thread::sleep(Duration::from_millis(500));
    let sent0 = sent.load(Ordering::Relaxed);
    let t0 = Instant::now();
    let flooded = legit(server, qfile, secs);
    let (elapsed, sent1) = (t0.elapsed().as_secs_f64(), sent.load(Ordering::Relaxed));
    stop.store(true, Ordering::Relaxed);
    flood.join().map_err(|_| "flood thread panicked")??;
    // The victims' answers are counted over the whole flood: its lead before
    // the client starts, the client's run, and until the thread stopped.
    let flood_secs = flood_start.elapsed().as_secs_f64();
    let flooded = flooded?;
    std::thread::sleep(Duration::from_millis(200));
    let rx = rx_packets(ns, dev)?.saturating_sub(rx0);
    let answered = (flooded * (LEGIT_QPS * secs) as f64) as u64;
    let row = Row {
        name: server.name,
        quiet,
        flooded,
        flood_pps: (sent1 - sent0) as f64 / elapsed,
        to_victims: rx.saturating_sub(answered) as f64 / flood_secs,
    };
    eprintln!(
        "bench flood: {}: answered {:.2}% alone, {:.2}% under {:.0} pps; {:.0} answers/s to the victims",
        row.name,
        row.quiet * 100.0,
        row.flooded * 100.0,
        row.flood_pps,
        row.to_victims
    );
    Ok(row)
}

/// dnsperf at LEGIT_QPS for `secs`: the share of sent queries answered.
fn legit(server: &Server, qfile: &Path, secs: u32) -> Result<f64, String> {
    let (secs, rate) = (secs.to_string(), LEGIT_QPS.to_string());
    let text = dns::run_dnsperf(
        &server.client_ns,
        server.addr,
        qfile,
        &["-l", &secs, "-Q", &rate, "-t", "1"],
    )?;
    let count = |key: &str| -> Option<f64> {
        let l = text.lines().find(|l| l.trim_start().starts_with(key))?;
        l.split(':').nth(1)?.split_whitespace().next()?.parse().ok()
    };
    match (count("Queries sent"), count("Queries completed")) {
        (Some(s), Some(c)) if s > 0.0 => Ok(c / s),
        _ => Err(format!("dnsperf output:\n{text}")),
    }
}

/// Packets received by `dev` in namespace `ns` (/sys, read from inside).
fn rx_packets(ns: &str, dev: &str) -> Result<u64, String> {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "cat"])
        .arg(format!("/sys/class/net/{dev}/statistics/rx_packets"))
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|_| format!("rx_packets of {dev} in {ns}"))
}

/// Send the flood until `stop`: VICTIMS networks, each FLOOD_FACTOR x
/// RRL_RATE queries a second, paced in 1 ms steps; `sent` counts.
fn flood(target: Ipv4Addr, stop: &AtomicBool, sent: &AtomicU64) -> Result<(), String> {
    let sock = RawSocket::open()?;
    let per_sec = (VICTIMS * FLOOD_FACTOR * RRL_RATE) as u64;
    let start = Instant::now();
    let mut n: u64 = 0;
    while !stop.load(Ordering::Relaxed) && start.elapsed() < Duration::from_secs(120) {
        let due = start.elapsed().as_micros() as u64 * per_sec / 1_000_000;
        while n < due {
            let victim =
                Ipv4Addr::new(198, 18, (n % VICTIMS as u64) as u8, 1 + (n / 7 % 250) as u8);
            sock.send(&packet(victim, target, n as u16), target)?;
            n += 1;
        }
        sent.store(n, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// An IPv4/UDP datagram from `src` to `dst` port 53: a query for the
/// zone's MX with an OPT of 4096 octets (what an amplifier asks). The IP
/// checksum is the kernel's (raw sockets fill it); UDP's is 0 (none).
fn packet(src: Ipv4Addr, dst: Ipv4Addr, id: u16) -> Vec<u8> {
    let mut dnsq = Vec::new();
    dnsq.extend_from_slice(&id.to_be_bytes());
    dnsq.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in dns::ZONE.split('.') {
        dnsq.push(label.len() as u8);
        dnsq.extend_from_slice(label.as_bytes());
    }
    dnsq.extend_from_slice(&[0, 0, 15, 0, 1]);
    dnsq.extend_from_slice(&[0, 0, 41, 16, 0, 0, 0, 0, 0, 0, 0]);
    let udp_len = 8 + dnsq.len();
    let total = 20 + udp_len;
    let mut p = vec![
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        0,
        0x40,
        0,
        64,
        17,
        0,
        0,
    ];
    p.extend_from_slice(&src.octets());
    p.extend_from_slice(&dst.octets());
    let sport = 1024 + (id % 60000);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&53u16.to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(&dnsq);
    p
}

/// An AF_INET raw socket of protocol IPPROTO_RAW (IP_HDRINCL implied).
struct RawSocket(i32);

impl RawSocket {
    fn open() -> Result<RawSocket, String> {
        // SAFETY: socket(2) with constant arguments; the fd is owned here.
        let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_RAW, libc::IPPROTO_RAW) };
        if fd < 0 {
            return Err(format!("raw socket: {}", std::io::Error::last_os_error()));
        }
        Ok(RawSocket(fd))
    }

    fn send(&self, packet: &[u8], dst: Ipv4Addr) -> Result<(), String> {
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: 0,
            sin_addr: libc::in_addr {
                s_addr: u32::from_ne_bytes(dst.octets()),
            },
            sin_zero: [0; 8],
        };
        // SAFETY: `packet` and `addr` outlive the call; the lengths are theirs.
        let rc = unsafe {
            libc::sendto(
                self.0,
                packet.as_ptr().cast(),
                packet.len(),
                0,
                (&addr as *const libc::sockaddr_in).cast(),
                std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
            )
        };
        let err = std::io::Error::last_os_error();
        // A full send queue (ENOBUFS) drops this one packet, as a link would.
        if rc < 0 && err.raw_os_error() != Some(libc::ENOBUFS) {
            return Err(format!("raw send: {err}"));
        }
        Ok(())
    }
}

impl Drop for RawSocket {
    fn drop(&mut self) {
        // SAFETY: the fd is ours and closed once.
        unsafe { libc::close(self.0) };
    }
}

fn write_report(rows: &[Row], quick: bool, secs: u32) -> Result<(), String> {
    let cmd = format!(
        "cargo xtask bench flood{}",
        if quick { " --quick" } else { "" }
    );
    let mut body = format!(
        "## A legitimate client under a spoofed-source flood\n\n\
Command: `{cmd}`. Machine: {}.\n\
The flood: UDP queries for the zone's MX with an OPT of 4096, from spoofed sources in {VICTIMS} victim networks (198.18.0-{}.0/24), each at {FLOOD_FACTOR} x the rate limit of {RRL_RATE}/s ({} queries/s in all), written by a raw socket in the client's namespace. \
The legitimate client: dnsperf at {LEGIT_QPS} queries/s of the `bench dns` mix for {secs} s from its own address (`-t 1`: an answer later than 1 s counts as lost). \
Servers pinned to core 0, the client and the flood to core 1. gitns defaults: RRL {RRL_RATE}/s per /24 and response class, slip 2, cookies on; NSD `rrl-ratelimit: {RRL_RATE}`, `rrl-slip: 2`. \
Answers to the victims: packets received back in the client's namespace less the client's answers, per second.\n\n\
| server | client answered, alone | client answered, under the flood | flood sent /s | answers to victims /s |\n|---|---|---|---|---|\n",
        report::machine(),
        VICTIMS - 1,
        VICTIMS * FLOOD_FACTOR * RRL_RATE
    );
    for r in rows {
        let _ = writeln!(
            body,
            "| {} | {:.2}% | {:.2}% | {:.0} | {:.0} |",
            r.name,
            r.quiet * 100.0,
            r.flooded * 100.0,
            r.flood_pps,
            r.to_victims
        );
    }
    let _ = writeln!(
        body,
        "\nGoal (issue 24): the legitimate client keeps >= 99% of its answers under the flood."
    );
    print!("{body}");
    report::write_section("flood", &body)?;
    let json: Vec<String> = rows
        .iter()
        .map(|r| {
            format!(
                "{{\"server\": \"{}\", \"answered_alone\": {:.4}, \"answered_flooded\": {:.4}, \"flood_pps\": {:.0}, \"to_victims_per_s\": {:.0}}}",
                r.name, r.quiet, r.flooded, r.flood_pps, r.to_victims
            )
        })
        .collect();
    report::write_json("flood", &format!("[{}]", json.join(", ")))
}
