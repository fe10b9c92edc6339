//! `cargo xtask bench zone`: parse time and peak memory for a generated
//! 1,000,000-name zone: gitns's parser and checks (in a child process, so
//! its peak RSS is its own) against kzonecheck (Knot) and nsd-checkzone;
//! then the memory to serve that zone (see [`super::servemem`]).

use super::report;
use super::stats::{summary, Summary};
use std::fmt::Write as _;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A zone with `n` names (A records, every 5th with AAAA).
pub fn big_zone(n: u32) -> String {
    let mut z = String::with_capacity(n as usize * 40);
    z.push_str(
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n",
    );
    for i in 0..n {
        let _ = writeln!(
            z,
            "host{i} A 10.{}.{}.{}",
            (i >> 16) & 255,
            (i >> 8) & 255,
            i & 255
        );
        if i % 5 == 0 {
            let _ = writeln!(z, "host{i} AAAA fd00::{:x}:{:x}", i >> 16, i & 0xffff);
        }
    }
    z
}

/// `xtask zone-parse FILE ORIGIN` (used by this benchmark): parse and check.
pub fn parse_main(args: &[String]) -> Result<(), String> {
    let (file, origin) = (
        args.first().ok_or("zone-parse FILE ORIGIN")?,
        args.get(1).ok_or("zone-parse FILE ORIGIN")?,
    );
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let origin = gitns_dns::name::Name::parse(origin, &gitns_dns::name::Name::root())
        .map_err(|e| e.to_string())?;
    // The appliance's path (zoneset::load_zone): records go straight into
    // the zone while the text is read.
    let (zone, _) = gitns_dns::zone::check::parse_and_build(file, &text, &origin, &|_| None)
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    println!("{} records", zone.record_count());
    Ok(())
}

/// Run a command; return (seconds, peak RSS in MiB) from wait4(2).
pub(super) fn measure(cmd: &mut Command) -> Result<(f64, f64), String> {
    measure_bounded(cmd, u64::MAX)?.ok_or_else(|| format!("{cmd:?}: stopped"))
}

/// Run `cmd`, stopped after `limit` seconds: (seconds, peak RSS in MiB)
/// from wait4(2), None when it was stopped.
pub(super) fn measure_bounded(cmd: &mut Command, limit: u64) -> Result<Option<(f64, f64)>, String> {
    let t0 = Instant::now();
    let child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{cmd:?}: {e}"))?;
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: rusage is plain data filled by the kernel.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: polling our own child with valid out-pointers.
        let rc = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut ru) };
        if rc == pid {
            break;
        }
        if rc < 0 {
            return Err(format!("{cmd:?}: wait4 failed"));
        }
        if t0.elapsed() >= Duration::from_secs(limit) {
            // SAFETY: our own child, not yet reaped, so the pid is its.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::wait4(pid, &mut status, 0, &mut ru);
            }
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let secs = t0.elapsed().as_secs_f64();
    if status != 0 {
        return Err(format!("{cmd:?} failed (status {status})"));
    }
    Ok(Some((secs, ru.ru_maxrss as f64 / 1024.0)))
}

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[("kzonecheck", "knot-dnssecutils"), ("nsd-checkzone", "nsd")])?;
    let n = if quick { 100_000 } else { 1_000_000 };
    let runs = if quick { 1 } else { 3 };
    let dir = std::env::temp_dir().join(format!("gitns-bench-zone-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("big.test");
    std::fs::write(&file, big_zone(n)).map_err(|e| e.to_string())?;
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut rows: Vec<(&str, Summary, Summary)> = Vec::new();
    let tools: [(&str, Box<dyn Fn() -> Command>); 3] = [
        (
            "gitns (parse + checks)",
            Box::new(|| {
                let mut c = Command::new(&me);
                c.arg("zone-parse").arg(&file).arg("big.test.");
                c
            }),
        ),
        (
            "kzonecheck (Knot)",
            Box::new(|| {
                let mut c = Command::new("kzonecheck");
                c.args(["-o", "big.test"]).arg(&file);
                c
            }),
        ),
        (
            "nsd-checkzone (NSD)",
            Box::new(|| {
                let mut c = Command::new("nsd-checkzone");
                c.arg("big.test").arg(&file);
                c
            }),
        ),
    ];
    for (name, make) in tools.iter() {
        let (mut t, mut m) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let (s, mib) = measure(&mut make())?;
            t.push(s);
            m.push(mib);
        }
        eprintln!(
            "bench zone: {name}: {:.2} s, {:.0} MiB",
            summary(&t).median,
            summary(&m).median
        );
        rows.push((name, summary(&t), summary(&m)));
    }
    let mem = super::servemem::run(&file, "big.test", &dir);
    let _ = std::fs::remove_dir_all(&dir);
    let mem = mem?;
    let size = big_zone(n).len();
    let cmd = format!(
        "cargo xtask bench zone{}",
        if quick { " --quick" } else { "" }
    );
    let (kt, km) = (rows[1].1.median, rows[1].2.median);
    let mut body = format!("## Zone parse time and memory\n\nCommand: `{cmd}`. Machine: {}.\nZone: {n} names ({} records, {:.1} MB of text); {runs} run(s); peak RSS from wait4(2).\n\n| tool | seconds min | median | max | peak RSS MiB (median) | time vs kzonecheck | memory vs kzonecheck |\n|---|---|---|---|---|---|---|\n", report::machine(), n + n / 5 + 3, size as f64 / 1e6);
    for (name, t, m) in &rows {
        let _ = writeln!(
            body,
            "| {name} | {:.2} | {:.2} | {:.2} | {:.0} | {:.2} | {:.2} |",
            t.min,
            t.median,
            t.max,
            m.median,
            t.median / kt,
            m.median / km
        );
    }
    let _ = write!(
        body,
        "\n### Memory to serve it\n\n\
gitns: the smallest `gitns-hvt --mem` (to {step} MiB) with which the storage image boots, loads\n\
the zone from its block device and answers for it; PSS of gitns-hvt then (the guest pages\n\
touched, plus the tender). knotd (one worker each kind, journal off) and NSD (`server-count: 1`,\n\
PSS summed over its processes) once they answer for the same file. MiB.\n\n\
| server | memory given | PSS serving | PSS vs knotd |\n|---|---|---|---|\n\
| gitns (VM) | {gm} | {gp:.0} | {gr:.2} |\n\
| knotd (Knot) | | {kp:.0} | 1.00 |\n\
| NSD | | {np:.0} | {nr:.2} |\n\n\
Ratio knotd PSS / gitns --mem (> 1: the whole guest is smaller than knotd): {mr:.2}.\n",
        step = mem.step,
        gm = mem.gitns_mem,
        gp = mem.gitns_pss,
        gr = mem.gitns_pss / mem.knotd_pss,
        kp = mem.knotd_pss,
        np = mem.nsd_pss,
        nr = mem.nsd_pss / mem.knotd_pss,
        mr = mem.knotd_pss / mem.gitns_mem as f64,
    );
    print!("{body}");
    report::write_section("zone", &body)?;
    report::write_json("zone", &format!("{{\"names\": {n}, \"gitns_s\": {:.3}, \"gitns_mib\": {:.1}, \"kzonecheck_s\": {kt:.3}, \"kzonecheck_mib\": {km:.1}, \"gitns_serve_mem_mib\": {}, \"gitns_serve_pss_mib\": {:.1}, \"knotd_serve_pss_mib\": {:.1}, \"nsd_serve_pss_mib\": {:.1}}}", rows[0].1.median, rows[0].2.median, mem.gitns_mem, mem.gitns_pss, mem.knotd_pss, mem.nsd_pss))
}
