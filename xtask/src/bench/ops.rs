//! `cargo xtask bench ops`: the DNS operations figures of issue 5, gitns
//! in the VM side by side with Knot:
//! - AXFR of a 1,000,000-name zone: seconds and bytes (dig as client);
//! - UPDATE throughput: signed UPDATEs acknowledged per second, one client
//!   waiting for each answer (gitns durable to its storage device, and
//!   durable as a git push; Knot with its default journal);
//! - primary -> secondary: from sending a signed UPDATE to the primary
//!   until a Knot secondary serves the new serial (NOTIFY + IXFR).
//!
//! gitns is reached over its tap, Knot over a veth pair between two
//! namespaces, as in `bench dns`.

use super::appliance::poll_soa;
use super::dns::{pinned, VethPair};
use super::report;
use super::stats::{summary, Summary};
use crate::build;
use crate::netns::{run_in_named, Netns};
use gitns_dns::name::Name;
use std::net::UdpSocket;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const BIG: &str = "big.test";
const ZONE: &str = "bench.test";
pub(super) const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

use super::Kill;

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[
        ("knotd", "knot"),
        ("dig", "dnsutils"),
        ("taskset", "util-linux"),
        ("sshd", "openssh-server"),
        ("git", "git"),
    ])?;
    let dir = std::env::temp_dir().join(format!("gitns-bench-ops-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let (axfr_runs, secs, lat_runs) = if quick { (1, 2, 3) } else { (3, 5, 10) };
    let r = (|| -> Result<String, String> {
        let axfr = axfr(&dir, axfr_runs, secs)?;
        let upd = updates(&dir, secs)?;
        let sec = secondary(&dir, lat_runs)?;
        Ok(format!("{axfr}\n{upd}\n{sec}"))
    })();
    if r.is_err() {
        print_knot_logs(&dir);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let tables = r?;
    let cmd = format!(
        "cargo xtask bench ops{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "Command: `{cmd}` ({machine}). gitns in the VM over its tap; Knot {knot} over a veth\n\
pair, one worker each where it has workers.\n\n{tables}",
        machine = report::machine(),
        knot = knot_version(),
    );
    report::write_section("ops", &body)?;
    print!("{body}");
    Ok(())
}

/// The last lines of each Knot log of a bench under `dir` (after a failure).
pub(super) fn print_knot_logs(dir: &Path) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if let Ok(t) = std::fs::read_to_string(e.path().join("knot.log")) {
            eprintln!(
                "{}:\n{}",
                e.path().display(),
                t.lines().rev().take(8).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

pub(super) fn knot_version() -> String {
    Command::new("knotd")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

fn write_zone(
    dir: &Path,
    name: &str,
    text: &str,
    extra: &[(&str, String)],
) -> Result<PathBuf, String> {
    let z = dir.join(format!("zones-{name}"));
    std::fs::create_dir_all(&z).map_err(|e| e.to_string())?;
    std::fs::write(z.join(name), text).map_err(|e| e.to_string())?;
    for (n, t) in extra {
        std::fs::write(z.join(n), t).map_err(|e| e.to_string())?;
    }
    Ok(z)
}

/// Boot the storage image on `ns` with the zones of `zones`.
fn boot(ns: &Netns, zones: &Path, mem: u32, args: &[&str]) -> Result<Kill, String> {
    let dev = crate::zones::pack(zones, &zones.with_extension("tar"))?;
    let mut c = pinned(0, &ns.name, &build::tender(true)?);
    c.arg(format!("--mem={mem}"))
        .arg("--net:service=tap0")
        .arg(format!("--block:storage={}", dev.display()))
        .arg(build::image_storage(true)?)
        .args(["--ipv4=10.0.0.2/24", "-l", "warn"])
        .args(args);
    Ok(Kill(c.spawn().map_err(|e| e.to_string())?))
}

/// The unix platform (the same appliance as a Linux process on the tap)
/// with the zones of `zones`.
fn boot_unix(ns: &Netns, zones: &Path, args: &[&str]) -> Result<Kill, String> {
    let dev = crate::zones::pack(zones, &zones.with_extension("tar"))?;
    let mut c = pinned(0, &ns.name, &build::unix(true)?);
    c.arg("--net:service=tap0")
        .arg(format!("--block:storage={}", dev.display()))
        .args(["--", "--ipv4=10.0.0.2/24", "-l", "warn"])
        .args(args);
    Ok(Kill(c.spawn().map_err(|e| e.to_string())?))
}

/// A Knot instance for a bench: `zone` served from `file` (copied when it
/// exists; a secondary has none) in namespace `ns` on `listen`, with
/// config `extra` (keys, acls, remotes) and zone options `zone_opts`;
/// `tag` names its directory.
#[derive(Clone, Copy)]
pub(super) struct Knot<'a> {
    pub tag: &'a str,
    pub ns: &'a str,
    pub listen: &'a str,
    pub zone: &'a str,
    pub file: &'a Path,
    pub extra: &'a str,
    pub zone_opts: &'a str,
}

/// Start Knot as `k` says, its directory under `dir`, on core 0.
pub(super) fn knot(dir: &Path, k: &Knot) -> Result<Kill, String> {
    knot_on(dir, k, 0)
}

/// [`knot`] pinned to `core`.
pub(super) fn knot_on(dir: &Path, k: &Knot, core: u32) -> Result<Kill, String> {
    let Knot {
        tag,
        ns,
        listen,
        zone,
        file,
        extra,
        zone_opts,
    } = *k;
    let d = dir.join(format!("knot-{tag}"));
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let zf = d.join(zone);
    if file.exists() {
        std::fs::copy(file, &zf).map_err(|e| e.to_string())?;
    }
    let conf = format!(
        "server:\n  listen: {listen}@53\n  rundir: {d}\n  user: root\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n{extra}database:\n  storage: {d}\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\nzone:\n  - domain: {zone}\n    file: {zf}\n{zone_opts}",
        d = d.display(),
        zf = zf.display()
    );
    std::fs::write(d.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = pinned(core, ns, Path::new("/usr/sbin/knotd"));
    let log = std::fs::File::create(d.join("knot.log")).map_err(|e| e.to_string())?;
    c.arg("-c").arg(d.join("knot.conf")).stderr(log);
    Ok(Kill(c.spawn().map_err(|e| format!("knotd: {e}"))?))
}

/// `runs` timed AXFRs of the big zone: the seconds of each, and the
/// (records, bytes) dig counted.
fn dig_axfr_runs(ns: &str, server: &str, runs: usize) -> Result<(Vec<f64>, (u64, u64)), String> {
    let mut secs = Vec::new();
    let mut size = (0, 0);
    for _ in 0..runs {
        let (s, recs, bytes) = dig_axfr(ns, server, BIG)?;
        secs.push(s);
        size = (recs, bytes);
    }
    Ok((secs, size))
}

/// Time an AXFR of `zone` from `server` (IPv4, port 53) read by a bare
/// TCP client that only walks the records to find the closing SOA: dig's
/// own parsing and printing (~95 MB/s here) bounds both servers otherwise.
/// Runs on the calling thread (in the namespace): (seconds, records).
fn raw_axfr(server: &str, zone: &str) -> Result<(f64, u64), String> {
    use std::io::{Read, Write};
    let mut q = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    q.extend_from_slice(
        Name::parse(zone, &Name::root())
            .map_err(|e| e.to_string())?
            .wire(),
    );
    q.extend_from_slice(&[0, 252, 0, 1]);
    let t0 = Instant::now();
    let mut s = std::net::TcpStream::connect((server, 53)).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    s.write_all(&framed).map_err(|e| e.to_string())?;
    let (mut soas, mut records) = (0, 0u64);
    let mut msg = vec![0u8; 65535];
    while soas < 2 {
        let mut len = [0u8; 2];
        s.read_exact(&mut len)
            .map_err(|e| format!("AXFR from {server}: {e}"))?;
        let m = &mut msg[..u16::from_be_bytes(len) as usize];
        s.read_exact(m)
            .map_err(|e| format!("AXFR from {server}: {e}"))?;
        let mut r = gitns_dns::wire::Reader::message(m, 0);
        let h = gitns_dns::message::Header::parse(&mut r).map_err(|e| format!("{e:?}"))?;
        for _ in 0..h.qdcount {
            r.name().map_err(|e| format!("{e:?}"))?;
            r.u32().map_err(|e| format!("{e:?}"))?;
        }
        for _ in 0..h.ancount {
            let (t, _, _) = gitns_dns::message::skip_rr(&mut r).map_err(|e| format!("{e:?}"))?;
            soas += (t == 6) as u32;
            records += 1;
        }
    }
    Ok((t0.elapsed().as_secs_f64(), records))
}

/// `bench axfr-read SERVER ZONE [RUNS]`: time bare AXFRs from SERVER
/// (IPv4, port 53) in the calling namespace and print each.
pub fn read_main(args: &[&str]) -> Result<(), String> {
    let (Some(server), Some(zone)) = (args.first(), args.get(1)) else {
        return Err("usage: bench axfr-read SERVER ZONE [RUNS]".into());
    };
    let runs: usize = args
        .get(2)
        .map_or(Ok(1), |r| r.parse())
        .map_err(|e| format!("RUNS: {e}"))?;
    for _ in 0..runs {
        let (s, records) = raw_axfr(server, zone)?;
        println!("{s:.3} s, {records} records");
    }
    Ok(())
}

/// `runs` raw AXFRs from `server` in namespace `ns`: the seconds of each.
fn raw_axfr_runs(ns: &str, server: &'static str, runs: usize) -> Result<Vec<f64>, String> {
    (0..runs)
        .map(|_| run_in_named(ns, move || raw_axfr(server, BIG))?.map(|(s, _)| s))
        .collect()
}

/// Time `dig AXFR` of `zone` from `server` in `ns`: (seconds, records, bytes).
fn dig_axfr(ns: &str, server: &str, zone: &str) -> Result<(f64, u64, u64), String> {
    let t0 = Instant::now();
    let out = Command::new("ip")
        .args([
            "netns",
            "exec",
            ns,
            "dig",
            &format!("@{server}"),
            zone,
            "AXFR",
            "+noall",
            "+stats",
            "+time=60",
        ])
        .output()
        .map_err(|e| e.to_string())?;
    let secs = t0.elapsed().as_secs_f64();
    let text = String::from_utf8_lossy(&out.stdout);
    // ";; XFR size: 1200004 records (messages 1873, bytes 37154221)"
    let line = text
        .lines()
        .find(|l| l.contains("XFR size"))
        .ok_or_else(|| format!("dig AXFR from {server}: {text}"))?;
    let num = |after: &str| -> u64 {
        line.split(after)
            .nth(1)
            .and_then(|r| r.trim().split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    Ok((secs, num("XFR size:"), num("bytes")))
}

fn axfr(dir: &Path, runs: usize, secs: u64) -> Result<String, String> {
    let text = super::zone::big_zone(1_000_000);
    let (keys, knot_key) = update_key(BIG);
    let zones = write_zone(dir, BIG, &text, &[(&format!("{BIG}._keys"), keys)])?;
    // gitns: --axfr allows the unsigned transfer dig asks for.
    let ns = Netns::create(&format!("gitns-bops-{}", std::process::id()))?;
    let g = boot(&ns, &zones, 3072, &["--axfr"])?;
    ns.run_in(|| poll_soa_long("10.0.0.2:53", BIG))??;
    let (gitns, size) = dig_axfr_runs(&ns.name, "10.0.0.2", runs)?;
    let gitns_raw = raw_axfr_runs(&ns.name, "10.0.0.2", runs)?;
    let gitns_upd = ns.run_in(move || big_update_rate("10.0.0.2:53", secs))??;
    drop(g);
    drop(ns);
    // The same appliance on the unix platform: what the VM path costs.
    let ns = Netns::create(&format!("gitns-bopsu-{}", std::process::id()))?;
    let u = boot_unix(&ns, &zones, &["--axfr"])?;
    ns.run_in(|| poll_soa_long("10.0.0.2:53", BIG))??;
    let unix_raw = raw_axfr_runs(&ns.name, "10.0.0.2", runs)?;
    drop(u);
    drop(ns);
    let pair = VethPair::create("ax")?;
    let acl = format!("{knot_key}  - id: xfr\n    address: 10.0.1.1\n    action: transfer\n");
    let k = knot(
        dir,
        &Knot {
            tag: "axfr",
            ns: &pair.server,
            listen: "10.0.1.2",
            zone: BIG,
            file: &zones.join(BIG),
            extra: &acl,
            zone_opts: "    acl: [xfr, upd]\n",
        },
    )?;
    run_in_named(&pair.client, || poll_soa_long("10.0.1.2:53", BIG))??;
    let (knot_t, ksize) = dig_axfr_runs(&pair.client, "10.0.1.2", runs)?;
    let knot_raw = raw_axfr_runs(&pair.client, "10.0.1.2", runs)?;
    let knot_upd = run_in_named(&pair.client, move || big_update_rate("10.0.1.2:53", secs))??;
    drop(k);
    let (g, k) = (summary(&gitns), summary(&knot_t));
    let (gr, kr, ur) = (summary(&gitns_raw), summary(&knot_raw), summary(&unix_raw));
    let raw = format!(
        "\nThe same transfers read by a bare TCP client that only walks the records (no\n\
printing: dig's parsing bounds both servers above):\n\n\
| server | s min | s median | s max |\n|---|---|---|---|\n\
| gitns (VM) | {:.2} | {:.2} | {:.2} |\n| gitns (unix platform, same tap path) | {:.2} | {:.2} | {:.2} |\n| Knot | {:.2} | {:.2} | {:.2} |\n\n\
Ratio Knot / gitns (median): {:.2}.\n\n\
Signed UPDATEs of this zone, one at a time for {secs} s after one not counted (gitns: to\n\
the storage journal; Knot: its journal): gitns {gitns_upd:.0}/s, Knot {knot_upd:.0}/s, ratio\n\
gitns / Knot {:.2}.\n",
        gr.min,
        gr.median,
        gr.max,
        ur.min,
        ur.median,
        ur.max,
        kr.min,
        kr.median,
        kr.max,
        kr.median / gr.median,
        gitns_upd / knot_upd
    );
    Ok(format!(
        "### AXFR of a 1,000,000-name zone ({runs} run(s), `dig AXFR`)\n\n\
| server | s min | s median | s max | records | bytes |\n|---|---|---|---|---|---|\n\
| gitns (VM) | {:.2} | {:.2} | {:.2} | {} | {} |\n| Knot | {:.2} | {:.2} | {:.2} | {} | {} |\n\n\
Ratio Knot time / gitns time (median, > 1 means gitns ahead): {:.2}; bytes gitns / Knot: {:.2}.\n",
        g.min,
        g.median,
        g.max,
        size.0,
        size.1,
        k.min,
        k.median,
        k.max,
        ksize.0,
        ksize.1,
        k.median / g.median,
        size.1 as f64 / ksize.1.max(1) as f64
    ) + &raw)
}

/// [`update_rate_of`] the big zone after one UPDATE not counted (the
/// first writes gitns's archive again: the operator's has no journal).
fn big_update_rate(server: &'static str, secs: u64) -> Result<f64, String> {
    update_rate_of(server, BIG, 1)?;
    update_rate_of(server, BIG, secs)
}

/// Wait (up to 120 s) for a big zone to load.
pub(super) fn poll_soa_long(server: &str, zone: &str) -> Result<Instant, String> {
    let end = Instant::now() + Duration::from_secs(120);
    loop {
        match poll_soa(server, zone, |_| true) {
            Ok(t) => return Ok(t),
            Err(e) if Instant::now() > end => return Err(e),
            Err(_) => {}
        }
    }
}

/// Signed UPDATEs, one at a time, for `secs`: acknowledged per second.
fn update_rate(server: &'static str, secs: u64) -> Result<f64, String> {
    update_rate_of(server, ZONE, secs)
}

/// Signed UPDATEs of `origin` (key `personal._update.ORIGIN`), one at a
/// time, for `secs`: acknowledged per second.
fn update_rate_of(server: &'static str, origin: &str, secs: u64) -> Result<f64, String> {
    let key = crate::dnstool::parse_key(&format!("personal._update.{origin}:SHA256:{SECRET}"))?;
    let zone = Name::parse(origin, &Name::root()).map_err(|e| e.to_string())?;
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    // The first UPDATE of a big zone may rewrite its whole cache.
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    let mut ok = 0u64;
    let mut buf = [0u8; 1500];
    let mut i = 0u32;
    while t0.elapsed() < Duration::from_secs(secs) {
        i += 1;
        let m = crate::dnstool::signed_update(
            i as u16,
            &zone,
            &format!(
                "add u{i}-{}.{origin}. 300 A 192.0.2.{}",
                t0.elapsed().as_nanos() % 1_000_000,
                i % 250
            ),
            &key,
        )?;
        sock.send_to(&m, server).map_err(|e| e.to_string())?;
        match sock.recv(&mut buf) {
            Ok(n) if n >= 4 && buf[3] & 0x0f == 0 => ok += 1,
            Ok(_) => return Err(format!("{server}: UPDATE refused")),
            Err(e) => return Err(format!("{server}: no answer to an UPDATE: {e}")),
        }
    }
    Ok(ok as f64 / t0.elapsed().as_secs_f64())
}

/// The update key of `origin` for a `_keys` file and for Knot.
pub(super) fn update_key(origin: &str) -> (String, String) {
    (
        format!("personal._update.{origin}. DNSKEY 0 3 163 {SECRET}\n"),
        format!("key:\n  - id: personal._update.{origin}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nacl:\n  - id: upd\n    key: personal._update.{origin}\n    action: update\n"),
    )
}

fn keys_file() -> String {
    update_key(ZONE).0 + &format!("10.0.0.2.10.0.0.1._transfer.{ZONE}. DNSKEY 0 3 163 {SECRET}\n")
}

fn knot_update_conf() -> String {
    update_key(ZONE).1
}

fn updates(dir: &Path, secs: u64) -> Result<String, String> {
    let zones = write_zone(
        dir,
        ZONE,
        &super::dns::zone_text(),
        &[(&format!("{ZONE}._keys"), keys_file())],
    )?;
    let ns = Netns::create(&format!("gitns-bopu-{}", std::process::id()))?;
    let g = boot(&ns, &zones, 512, &[])?;
    ns.run_in(|| poll_soa_long("10.0.0.2:53", ZONE))??;
    let gitns = ns.run_in(move || update_rate("10.0.0.2:53", secs))??;
    drop(g);
    // The same with the zones in git: each UPDATE is a commit pushed to
    // sshd in the namespace before it is acknowledged.
    let git_rate = {
        let seed = [0x77u8; 32];
        let (ssh_key, authorized) = crate::sshd::key(seed);
        let srv = crate::sshd::GitServer::start(
            &ns,
            "bops-git",
            &authorized,
            &[
                (ZONE, &super::dns::zone_text()),
                (&format!("{ZONE}._keys"), &keys_file()),
            ],
        );
        let mut c = pinned(0, &ns.name, &build::tender(true)?);
        c.args(["--net:service=tap0"])
            .arg(build::image(true)?)
            .args([
                "--ipv4=10.0.0.2/24",
                "-l",
                "warn",
                &srv.remote(),
                &format!("--ssh-key={ssh_key}"),
                &format!("--ssh-authenticator={}", srv.fingerprint),
            ]);
        let _g = Kill(c.spawn().map_err(|e| e.to_string())?);
        ns.run_in(|| poll_soa_long("10.0.0.2:53", ZONE))??;
        ns.run_in(move || update_rate("10.0.0.2:53", secs))??
    };
    drop(ns);
    let pair = VethPair::create("up")?;
    let k = knot(
        dir,
        &Knot {
            tag: "upd",
            ns: &pair.server,
            listen: "10.0.1.2",
            zone: ZONE,
            file: &zones.join(ZONE),
            extra: &knot_update_conf(),
            zone_opts: "    acl: upd\n",
        },
    )?;
    run_in_named(&pair.client, || poll_soa_long("10.0.1.2:53", ZONE))??;
    let knot_rate = run_in_named(&pair.client, move || update_rate("10.0.1.2:53", secs))??;
    drop(k);
    Ok(format!(
        "### UPDATE throughput ({secs} s, one client, each signed UPDATE waits for its answer)\n\n\
| server | durable before NOERROR in | updates/s |\n|---|---|---|\n\
| gitns (VM) | zone cache on the storage device | {gitns:.0} |\n\
| gitns (VM) | a commit pushed to the git remote (sshd) | {git_rate:.1} |\n\
| Knot | its journal (defaults) | {knot_rate:.0} |\n\n\
Ratio gitns (storage) / Knot: {:.2}. The git figure is bound by sshd starting\n\
git-receive-pack for every push (see `bench appliance`).\n",
        gitns / knot_rate
    ))
}

/// Send one signed UPDATE to `primary` and time until `secondary` serves
/// `serial`.
fn to_secondary(primary: &str, secondary: &str, i: u32, serial: u32) -> Result<f64, String> {
    let key = crate::dnstool::parse_key(&format!("personal._update.{ZONE}:SHA256:{SECRET}"))?;
    let zone = Name::parse(ZONE, &Name::root()).map_err(|e| e.to_string())?;
    let m = crate::dnstool::signed_update(
        i as u16,
        &zone,
        &format!("add s{i}.{ZONE}. 300 A 192.0.2.1"),
        &key,
    )?;
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    let t0 = Instant::now();
    sock.send_to(&m, primary).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).map_err(|e| format!("{primary}: {e}"))?;
    if n < 4 || buf[3] & 0x0f != 0 {
        return Err(format!("{primary} refused the UPDATE"));
    }
    let at = poll_soa(secondary, ZONE, |s| s == serial)?;
    Ok(at.duration_since(t0).as_secs_f64() * 1e3)
}

fn secondary(dir: &Path, runs: usize) -> Result<String, String> {
    let zones = write_zone(
        dir,
        ZONE,
        &super::dns::zone_text(),
        &[(&format!("{ZONE}._keys"), keys_file())],
    )?;
    let xfr_key = format!("10.0.0.2.10.0.0.1._transfer.{ZONE}");
    let sec_conf = |primary: &str, key: &str| {
        format!("key:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: {primary}@53\n    key: {key}\nacl:\n  - id: notify\n    address: {primary}\n    key: {key}\n    action: notify\n")
    };
    // gitns primary, Knot secondary on the tap's host side.
    let ns = Netns::create(&format!("gitns-bops-{}", std::process::id()))?;
    let g = boot(&ns, &zones, 512, &[])?;
    ns.run_in(|| poll_soa_long("10.0.0.2:53", ZONE))??;
    let k = knot(
        dir,
        &Knot {
            tag: "sec1",
            ns: &ns.name,
            listen: "10.0.0.1",
            zone: ZONE,
            file: Path::new("/nonexistent"),
            extra: &sec_conf("10.0.0.2", &xfr_key),
            zone_opts: "    master: primary\n    acl: notify\n",
        },
    )?;
    ns.run_in(|| poll_soa_long("10.0.0.1:53", ZONE))??;
    let mut gitns = Vec::new();
    for i in 0..runs as u32 {
        gitns.push(ns.run_in(move || to_secondary("10.0.0.2:53", "10.0.0.1:53", i, 2 + i))??);
    }
    drop(k);
    drop(g);
    drop(ns);
    // Knot primary (10.0.1.2) -> Knot secondary (10.0.1.1).
    let pair = VethPair::create("sc")?;
    let kkey = format!("10.0.1.2.10.0.1.1._transfer.{ZONE}");
    let primary_conf = format!(
        "{}  - id: xfr\n    key: {kkey}\n    action: transfer\nremote:\n  - id: secondary\n    address: 10.0.1.1@53\n    key: {kkey}\n",
        knot_update_conf().replace("key:\n", &format!("key:\n  - id: {kkey}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n"))
    );
    let kp = knot(
        dir,
        &Knot {
            tag: "pri",
            ns: &pair.server,
            listen: "10.0.1.2",
            zone: ZONE,
            file: &zones.join(ZONE),
            extra: &primary_conf,
            zone_opts: "    acl: [upd, xfr]\n    notify: secondary\n",
        },
    )?;
    run_in_named(&pair.client, || poll_soa_long("10.0.1.2:53", ZONE))??;
    let ks = knot(
        dir,
        &Knot {
            tag: "sec2",
            ns: &pair.client,
            listen: "10.0.1.1",
            zone: ZONE,
            file: Path::new("/nonexistent"),
            extra: &sec_conf("10.0.1.2", &kkey),
            zone_opts: "    master: primary\n    acl: notify\n",
        },
    )?;
    run_in_named(&pair.client, || poll_soa_long("10.0.1.1:53", ZONE))??;
    let mut knot_t = Vec::new();
    for i in 0..runs as u32 {
        knot_t.push(run_in_named(&pair.client, move || {
            to_secondary("10.0.1.2:53", "10.0.1.1:53", i, 2 + i)
        })??);
    }
    drop(ks);
    drop(kp);
    let (g, k): (Summary, Summary) = (summary(&gitns), summary(&knot_t));
    Ok(format!(
        "### Primary -> secondary ({runs} runs): signed UPDATE sent to the primary until the Knot secondary serves it (ms)\n\n\
| primary | min | median | max |\n|---|---|---|---|\n\
| gitns (VM) | {:.1} | {:.1} | {:.1} |\n| Knot | {:.1} | {:.1} | {:.1} |\n\n\
Ratio Knot / gitns (median, > 1 means gitns ahead): {:.2}.\n",
        g.min, g.median, g.max, k.min, k.median, k.max, k.median / g.median
    ))
}
