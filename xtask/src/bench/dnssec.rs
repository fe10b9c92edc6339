//! `cargo xtask bench dnssec [--quick]`: the figures of issue 26.
//! - Signing a 1,000,000-name zone (`--quick`: 100,000) from scratch:
//!   `gitns sign` against Knot's `kzonesign` and ldns's `ldns-signzone`,
//!   the same algorithm (ECDSAP256SHA256 and ED25519 rows), one combined
//!   key, NSEC3 with 0 iterations and no salt (RFC 9276), one signing
//!   thread, all pinned to core 1: seconds and peak RSS (wait4(2)), keys
//!   made in the run. A signer still at work after [`limit`] seconds is
//!   stopped and its row says so.
//! - Queries with DO=1 on the signed bench zone of `bench dns`: the gitns
//!   VM, NSD and Knot serving the same file (signed once by `gitns sign`),
//!   dnsperf `-D`, the runner pieces of `bench dns`.
//! - UPDATE -> signed answer (see [`super::dnssec_update`]).

use super::report;
use super::stats::{summary, Summary};
use crate::build;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const BIG: &str = "big.test";
const ALGORITHMS: [&str; 2] = ["ecdsap256sha256", "ed25519"];

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[
        ("kzonesign", "knot-dnssecutils"),
        ("ldns-signzone", "ldnsutils"),
        ("knotd", "knot"),
        ("nsd", "nsd"),
        ("dnsperf", "dnsperf"),
        ("dig", "dnsutils"),
        ("taskset", "util-linux"),
    ])?;
    let dir = std::env::temp_dir().join(format!("gitns-bench-dnssec-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // One signing run even in the full bench: a 1,000,000-name zone takes
    // minutes per signer.
    let (names, runs, secs) = if quick {
        (100_000, 1, 3)
    } else {
        (1_000_000, 3, 10)
    };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let r = (|| -> Result<String, String> {
        let s = signing(&dir, names, 1)?;
        let q = super::dnssec_qps::run(&dir, runs, secs)?;
        let u = super::dnssec_update::run(&dir, if quick { 5 } else { 20 })?;
        Ok(format!("{s}\n{q}\n{u}"))
    })();
    let _ = std::fs::remove_dir_all(&dir);
    let tables = r?;
    let cmd = format!(
        "cargo xtask bench dnssec{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "## DNSSEC (issue 26)\n\nCommand: `{cmd}` ({machine}; load average at the start {load}).\n\n{tables}",
        machine = report::machine(),
        load = load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
    );
    report::write_section("dnssec", &body)?;
    print!("{body}");
    Ok(())
}

/// RRSIG and NSEC3 records in a signed zone file (any presentation).
fn count(file: &Path) -> Result<(usize, usize), String> {
    let t = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut n = (0, 0);
    for l in t.lines().filter(|l| !l.starts_with(';')) {
        // OWNER TTL [IN] TYPE RDATA: the type, not an RRSIG's type covered.
        let mut w = l.split_whitespace().skip(2);
        let rtype = match w.next() {
            Some("IN") => w.next(),
            t => t,
        };
        n.0 += (rtype == Some("RRSIG")) as usize;
        n.1 += (rtype == Some("NSEC3")) as usize;
    }
    Ok(n)
}

/// The Knot configuration of `kzonesign` for `alg` in `d`.
fn knot_conf(d: &Path, alg: &str) -> String {
    format!(
        "server:\n  rundir: {d}\ndatabase:\n  storage: {d}\n  kasp-db: {d}/kasp\npolicy:\n  - id: p\n    algorithm: {alg}\n    single-type-signing: on\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\n    signing-threads: 1\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\nzone:\n  - domain: {BIG}\n    file: {BIG}\n    dnssec-signing: on\n    dnssec-policy: p\n",
        d = d.display()
    )
}

/// One signer's runs: (seconds, MiB, (RRSIGs, NSEC3s) of the output);
/// None when a run did not finish within the limit.
type Signed = Option<(Summary, Summary, (usize, usize))>;

/// Seconds one signing run may take: a 1,000,000-name zone took gitns
/// 81 s and Knot about 200 s on the loaded bench machine.
fn limit(names: u32) -> u64 {
    if names > 100_000 {
        1800
    } else {
        600
    }
}

/// Time and peak RSS of `runs` runs of the command `make` gives (after
/// `prepare`), then the counts of the file `out`; None at the first run
/// over the limit.
fn runs_of(
    runs: usize,
    limit: u64,
    prepare: &mut dyn FnMut() -> Result<Command, String>,
    out: &Path,
) -> Result<Signed, String> {
    let (mut t, mut m) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let mut c = prepare()?;
        let Some((s, mib)) = super::zone::measure_bounded(&mut c, limit)? else {
            return Ok(None);
        };
        t.push(s);
        m.push(mib);
    }
    Ok(Some((summary(&t), summary(&m), count(out)?)))
}

/// `gitns sign` of `zone` with `alg`, keys made afresh each run.
fn gitns_sign(dir: &Path, zone: &str, alg: &str, runs: usize, lim: u64) -> Result<Signed, String> {
    let d = dir.join(format!("gitns-{alg}"));
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let file = d.join(BIG);
    std::fs::write(&file, zone).map_err(|e| e.to_string())?;
    let policy = d.join("policy");
    let text = format!("algorithm {alg}\ndenial nsec3\nkeys csk\n");
    std::fs::write(&policy, text).map_err(|e| e.to_string())?;
    let (keys, out) = (d.join("keys"), d.join("signed"));
    let tool = build::tools(true)?;
    let mut prepare = || {
        let _ = std::fs::remove_file(&keys);
        let mut c = Command::new("taskset");
        c.args(["-c", "1"]).arg(&tool).arg("sign").arg(&file);
        c.arg("--policy").arg(&policy).arg("--keys").arg(&keys);
        c.arg("--out").arg(&out);
        Ok(c)
    };
    runs_of(runs, lim, &mut prepare, &out)
}

/// `kzonesign` of `zone` with `alg`, a fresh KASP database each run.
fn knot_sign(dir: &Path, zone: &str, alg: &str, runs: usize, lim: u64) -> Result<Signed, String> {
    let d = dir.join(format!("knot-{alg}"));
    let mut prepare = || {
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("out")).map_err(|e| e.to_string())?;
        std::fs::write(d.join(BIG), zone).map_err(|e| e.to_string())?;
        std::fs::write(d.join("knot.conf"), knot_conf(&d, alg)).map_err(|e| e.to_string())?;
        let mut c = Command::new("taskset");
        c.args(["-c", "1", "kzonesign", "-c"])
            .arg(d.join("knot.conf"));
        c.arg("-o").arg(d.join("out")).arg(BIG);
        Ok(c)
    };
    runs_of(runs, lim, &mut prepare, &d.join("out").join(BIG))
}

/// `ldns-signzone -n -t 0` (NSEC3, 0 iterations, no salt) of `zone` with
/// `alg`, a key made by `ldns-keygen -k` (a KSK: one key signs all) each run.
fn ldns_sign(dir: &Path, zone: &str, alg: &str, runs: usize, lim: u64) -> Result<Signed, String> {
    let d = dir.join(format!("ldns-{alg}"));
    let out = d.join("signed");
    let mut prepare = || {
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
        std::fs::write(d.join(BIG), zone).map_err(|e| e.to_string())?;
        let k = Command::new("ldns-keygen")
            .args(["-a", &alg.to_uppercase(), "-k", BIG])
            .current_dir(&d)
            .output()
            .map_err(|e| format!("ldns-keygen: {e}"))?;
        let key = String::from_utf8_lossy(&k.stdout).trim().to_string();
        if !k.status.success() || key.is_empty() {
            return Err(format!(
                "ldns-keygen -a {alg}: {}",
                String::from_utf8_lossy(&k.stderr)
            ));
        }
        let mut c = Command::new("taskset");
        c.args(["-c", "1", "ldns-signzone", "-n", "-t", "0", "-o", BIG, "-f"]);
        c.arg(&out).arg(BIG).arg(key).current_dir(&d);
        Ok(c)
    };
    runs_of(runs, lim, &mut prepare, &out)
}

/// The signing table.
fn signing(dir: &Path, names: u32, runs: usize) -> Result<String, String> {
    let zone = super::zone::big_zone(names);
    let lim = limit(names);
    let mut t = format!(
        "### Signing a {names}-name zone from scratch ({runs} run(s); NSEC3, 0 iterations, no salt; one key)\n\n\
`gitns sign FILE --policy P --keys K --out F` (policy `denial nsec3`, `keys csk`) against\n\
`kzonesign` (Knot policy `single-type-signing: on`, `nsec3-iterations: 0`,\n\
`nsec3-salt-length: 0`, `signing-threads: 1`) and `ldns-signzone -n -t 0` (one KSK), each\n\
pinned to core 1, keys made in the run, each run stopped after {lim} s. Peak RSS from\n\
wait4(2). Records counted in each output (Knot adds CDS/CDNSKEY and their RRSIGs). The\n\
ratios are the peer's over gitns's (> 1: gitns ahead).\n\n\
| algorithm | signer | s min | s median | s max | peak RSS MiB | RRSIGs | NSEC3s | time peer / gitns | memory peer / gitns |\n\
|---|---|---|---|---|---|---|---|---|---|\n"
    );
    for alg in ALGORITHMS {
        let rows = [
            ("gitns sign", gitns_sign(dir, &zone, alg, runs, lim)?),
            ("kzonesign (Knot)", knot_sign(dir, &zone, alg, runs, lim)?),
            ("ldns-signzone", ldns_sign(dir, &zone, alg, runs, lim)?),
        ];
        check_nsec3(alg, names, &rows)?;
        let gitns = rows[0].1.as_ref();
        for (who, r) in &rows {
            let Some((s, m, (sigs, nsec3))) = r else {
                let _ = writeln!(
                    t,
                    "| {alg} | {who} | not finished in {lim} s | | | | | | | |"
                );
                eprintln!("bench dnssec: {alg}: {who} not finished in {lim} s");
                continue;
            };
            eprintln!(
                "bench dnssec: {alg}: {who} {:.2} s {:.0} MiB",
                s.median, m.median
            );
            let _ = write!(
                t,
                "| {alg} | {who} | {:.2} | {:.2} | {:.2} | {:.0} | {sigs} | {nsec3} |",
                s.min, s.median, s.max, m.median
            );
            let _ = match gitns {
                Some((gs, gm, _)) if *who != "gitns sign" => writeln!(
                    t,
                    " {:.2} | {:.2} |",
                    s.median / gs.median,
                    m.median / gm.median
                ),
                _ => writeln!(t, " | |"),
            };
        }
    }
    Ok(t)
}

/// Every signer that finished made the same NSEC3 chain: one NSEC3 a
/// name at least (the zone's names and its apex).
fn check_nsec3(alg: &str, names: u32, rows: &[(&str, Signed)]) -> Result<(), String> {
    let counts: Vec<(&str, usize)> = rows
        .iter()
        .filter_map(|(who, r)| r.as_ref().map(|r| (*who, r.2 .1)))
        .collect();
    let first = counts.first().map_or(0, |c| c.1);
    if counts.iter().any(|c| c.1 != first || c.1 < names as usize) {
        return Err(format!(
            "bench dnssec: {alg}: NSEC3 records {counts:?} ({names} names)"
        ));
    }
    Ok(())
}
