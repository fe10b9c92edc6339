//! The DO=1 figures of `bench dnssec`: the zone of `bench dns` signed
//! once by `gitns sign` (ECDSA P-256, one key, NSEC3 0 iterations) and
//! loaded by the gitns VM, NSD and Knot; dnsperf with and without `-D`
//! (the DO bit), the query mix and runners of `bench dns`.

use super::dns::{dnsperf_with, start_gitns, start_knot, start_nsd, GitnsRow, VethPair, ZONE};
use super::stats::summary;
use crate::build;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

/// The table: each server's QPS with DO=0 and DO=1.
pub fn run(dir: &Path, runs: usize, secs: u32) -> Result<String, String> {
    sign_bench_zone(dir)?;
    let qfile = dir.join("queries");
    std::fs::write(&qfile, super::dns::queries()).map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    for which in ["vm", "nsd", "knot"] {
        rows.push(qps_of(dir, which, &qfile, runs, secs)?);
    }
    let best = rows[1..].iter().map(|r| r.2).fold(0.0, f64::max);
    let mut t = format!(
        "### Queries with DO=1 on the signed bench zone ({runs} run(s) of {secs} s per column)\n\n\
The 10,000-host zone and query mix of `bench dns`, signed once by `gitns sign` (ECDSA\n\
P-256, NSEC3 0 iterations, no salt) and loaded by all three; dnsperf `-c 4 -q 200` pinned\n\
to core 1 without and with `-D`, each server on core 0 with one worker. Every server is\n\
checked to answer with RRSIGs and NSEC3 proofs first.\n\n\
| server | QPS DO=0 | QPS DO=1 | DO=1 / DO=0 | DO=1 ratio to best peer |\n|---|---|---|---|---|\n"
    );
    for (name, off, on) in &rows {
        let _ = writeln!(
            t,
            "| {name} | {off:.0} | {on:.0} | {:.2} | {:.2} |",
            on / off,
            on / best
        );
    }
    Ok(t)
}

/// `dig +dnssec` at `addr` from `ns`: a signed positive answer and an
/// NXDOMAIN with NSEC3 proofs, or an error.
fn check_signed(ns: &str, addr: &str) -> Result<(), String> {
    for (name, want) in [
        (format!("h1.{ZONE}"), "RRSIG"),
        (format!("nx.{ZONE}"), "NSEC3"),
    ] {
        let out = Command::new("ip")
            .args(["netns", "exec", ns, "dig", &format!("@{addr}"), &name, "A"])
            .args(["+dnssec", "+time=2", "+tries=2"])
            .output()
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout);
        if !text.split_whitespace().any(|w| w == want) {
            return Err(format!("{addr}: no {want} with DO=1 for {name}:\n{text}"));
        }
    }
    Ok(())
}

/// dnsperf against `which` of `bench dns`'s servers, the signed zone in
/// `dir/zones`: (QPS DO=0, QPS DO=1) medians over `runs`, and its name.
fn qps_of(
    dir: &Path,
    which: &str,
    qfile: &Path,
    runs: usize,
    secs: u32,
) -> Result<(&'static str, f64, f64), String> {
    let pair = VethPair::create(&format!("s{}", &which[..2]))?;
    let (server, _ns) = match which {
        "vm" => {
            let (s, n) = start_gitns(&GitnsRow::of("vm"), dir)?;
            (s, Some(n))
        }
        "nsd" => (start_nsd(dir, &pair, None)?, None),
        _ => (start_knot(dir, &pair, false)?, None),
    };
    check_signed(&server.client_ns, server.addr)?;
    let (mut off, mut on) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        off.push(dnsperf_with(&server.client_ns, server.addr, qfile, secs, &[])?.0);
        on.push(dnsperf_with(&server.client_ns, server.addr, qfile, secs, &["-D"])?.0);
    }
    let (a, b) = (summary(&off).median, summary(&on).median);
    eprintln!(
        "bench dnssec: {}: {a:.0} qps DO=0, {b:.0} qps DO=1",
        server.name
    );
    Ok((server.name, a, b))
}

/// The zone of `bench dns` signed by `gitns sign` (ECDSA P-256, NSEC3),
/// written to `dir/zones/bench.test`.
fn sign_bench_zone(dir: &Path) -> Result<(), String> {
    let d = dir.join("bench-sign");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(dir.join("zones")).map_err(|e| e.to_string())?;
    let file = d.join(ZONE);
    std::fs::write(&file, super::dns::zone_text()).map_err(|e| e.to_string())?;
    std::fs::write(d.join("policy"), "denial nsec3\nkeys csk\n").map_err(|e| e.to_string())?;
    let out = Command::new(build::tools(true)?)
        .arg("sign")
        .arg(&file)
        .arg("--policy")
        .arg(d.join("policy"))
        .arg("--keys")
        .arg(d.join("keys"))
        .arg("--out")
        .arg(dir.join("zones").join(ZONE))
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "gitns sign: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}
