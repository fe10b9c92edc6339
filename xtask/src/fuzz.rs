//! `cargo xtask fuzz`: build the fuzz targets of fuzz/ (a workspace of its
//! own, so its `fake-ca` feature never reaches the appliance's build) with
//! libFuzzer's coverage instrumentation on stable Rust, and run each for a
//! bounded time. A crash, a panic, a leak of the time limit per input or an
//! out-of-memory fails the command; libFuzzer leaves the input under
//! `target/fuzz/artifacts/TARGET/`.
//!
//! Inputs found interesting go to `target/fuzz/corpus/TARGET/` (kept between
//! local runs, never committed); `fuzz/corpus/TARGET/` holds the seed corpus
//! in git and is only read.

use crate::util::{cargo, root};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Coverage flags of cargo-fuzz's `--sanitizer none` build: edge counters,
/// the PC table and comparison tracing, all on stable rustc. Debug
/// assertions and overflow checks stay on, as a fuzz build should find
/// what release builds hide.
const RUSTFLAGS: &str = "-Cpasses=sancov-module \
    -Cllvm-args=-sanitizer-coverage-level=4 \
    -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
    -Cllvm-args=-sanitizer-coverage-pc-table \
    -Cllvm-args=-sanitizer-coverage-trace-compares \
    --cfg fuzzing -Cdebug-assertions -Coverflow-checks";

/// The target triple is named so RUSTFLAGS reach only the targets, never
/// build scripts or proc macros (which would not link without libFuzzer).
const TRIPLE: &str = "x86_64-unknown-linux-gnu";

/// Longest input: past 65,535 so a 64 KiB record or message plus framing
/// can be reached (issue 25).
const MAX_LEN: usize = 70_000;

/// Seconds each target runs in `cargo xtask test`.
pub const CI_SECONDS: u64 = 20;

/// What to run and for how long.
#[derive(Debug, PartialEq, Eq)]
pub struct Plan {
    /// Targets to run; empty means every target of fuzz/Cargo.toml.
    pub targets: Vec<String>,
    pub seconds: u64,
    /// Targets fuzzed at once (one core each).
    pub jobs: usize,
}

const USAGE: &str =
    "usage: cargo xtask fuzz [TARGET...] [--seconds N | --minutes N] [--jobs N] [--list]";

/// Parse `cargo xtask fuzz` arguments; `Ok(None)` for `--list`.
pub fn parse(args: &[String]) -> Result<Option<Plan>, String> {
    let mut plan = Plan {
        targets: Vec::new(),
        seconds: 60,
        jobs: 2,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("{what} needs a number\n{USAGE}"))
        };
        match a.as_str() {
            "--list" => return Ok(None),
            "--seconds" => plan.seconds = num("--seconds")?,
            "--minutes" => plan.seconds = num("--minutes")? * 60,
            "--jobs" => plan.jobs = num("--jobs")?.max(1) as usize,
            "-h" | "--help" => return Err(USAGE.to_string()),
            s if s.starts_with('-') => return Err(format!("unknown option {s}\n{USAGE}")),
            s => plan.targets.push(s.to_string()),
        }
    }
    Ok(Some(plan))
}

/// The `[[bin]]` names of the fuzz crate's manifest, in order.
pub fn targets_in(manifest: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_bin = false;
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            in_bin = line == "[[bin]]";
            continue;
        }
        let Some(v) = line.strip_prefix("name").map(str::trim_start) else {
            continue;
        };
        if let (true, Some(v)) = (in_bin, v.strip_prefix('=')) {
            out.push(v.trim().trim_matches('"').to_string());
        }
    }
    out
}

fn fuzz_dir() -> PathBuf {
    root().join("fuzz")
}

fn work_dir() -> PathBuf {
    root().join("target/fuzz")
}

/// Every target of fuzz/Cargo.toml.
pub fn all_targets() -> Result<Vec<String>, String> {
    let manifest = fuzz_dir().join("Cargo.toml");
    let text =
        std::fs::read_to_string(&manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    Ok(targets_in(&text))
}

/// Build every target instrumented; returns the directory of the binaries.
pub fn build() -> Result<PathBuf, String> {
    let target_dir = work_dir().join("build");
    let status = cargo()
        .current_dir(fuzz_dir())
        .args(["build", "--release", "--bins", "--target", TRIPLE])
        .arg("--target-dir")
        .arg(&target_dir)
        .env("RUSTFLAGS", RUSTFLAGS)
        .status()
        .map_err(|e| format!("cargo build (fuzz): {e}"))?;
    if !status.success() {
        return Err(format!("building the fuzz targets failed: {status}"));
    }
    Ok(target_dir.join(TRIPLE).join("release"))
}

/// One target's libFuzzer process, its output going to a log file.
struct Running {
    name: String,
    log: PathBuf,
    child: Child,
}

fn start(bins: &Path, name: &str, seconds: u64) -> Result<Running, String> {
    let corpus = work_dir().join("corpus").join(name);
    let artifacts = work_dir().join("artifacts").join(name);
    let seeds = fuzz_dir().join("corpus").join(name);
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let log = work_dir().join(format!("{name}.log"));
    let out = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = out.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = Command::new(bins.join(name));
    cmd.arg(format!("-max_total_time={seconds}"))
        .arg(format!("-max_len={MAX_LEN}"))
        // An input that takes 10 s is a hang: a failure, not a slow case.
        .arg("-timeout=10")
        .arg("-rss_limit_mb=2048")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus);
    if seeds.is_dir() {
        cmd.arg(&seeds);
    }
    let child = cmd
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(Running {
        name: name.to_string(),
        log,
        child,
    })
}

/// libFuzzer's closing line (`Done N runs in S second(s)`), or the last
/// lines of the log when it did not get there.
fn summary(log: &Path, failed: bool) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    if !failed {
        if let Some(done) = lines.iter().rev().find(|l| l.starts_with("Done ")) {
            return done.to_string();
        }
    }
    let from = lines.len().saturating_sub(30);
    lines[from..].join("\n")
}

/// Wait for one of `running` to end; returns its name and failure, if any.
fn reap(running: &mut Vec<Running>) -> (String, Option<String>) {
    loop {
        for i in 0..running.len() {
            if let Ok(Some(status)) = running[i].child.try_wait() {
                let r = running.swap_remove(i);
                let failed = !status.success();
                let text = summary(&r.log, failed);
                if failed {
                    return (r.name, Some(format!("{status}\n{text}")));
                }
                eprintln!("fuzz {}: {text}", r.name);
                return (r.name, None);
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Build and run the plan; Err names every target that failed.
pub fn run(plan: &Plan) -> Result<(), String> {
    let known = all_targets()?;
    let targets = if plan.targets.is_empty() {
        known.clone()
    } else {
        plan.targets.clone()
    };
    if let Some(t) = targets.iter().find(|t| !known.contains(t)) {
        return Err(format!("no fuzz target `{t}` (known: {})", known.join(" ")));
    }
    let bins = build()?;
    let mut failed = Vec::new();
    let mut running = Vec::new();
    let mut queue = targets.iter();
    loop {
        while running.len() < plan.jobs {
            let Some(t) = queue.next() else { break };
            eprintln!("fuzz {t}: {} s", plan.seconds);
            running.push(start(&bins, t, plan.seconds)?);
        }
        if running.is_empty() {
            break;
        }
        if let (name, Some(why)) = reap(&mut running) {
            eprintln!("fuzz {name}: FAILED ({why})");
            failed.push(name);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "fuzz targets failed: {} (inputs under {})",
            failed.join(" "),
            work_dir().join("artifacts").display()
        ))
    }
}

/// `cargo xtask fuzz ARGS`.
pub fn main(args: &[String]) -> Result<(), String> {
    match parse(args)? {
        None => {
            println!("{}", all_targets()?.join("\n"));
            Ok(())
        }
        Some(plan) => run(&plan),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reads_bin_names_only() {
        let m = "[package]\nname = \"gitns-fuzz\"\n\n[[bin]]\nname = \"a\"\npath = \"x\"\n\n[dependencies]\nname = \"no\"\n[[bin]]\nname=\"b\"\n";
        assert_eq!(targets_in(m), vec!["a".to_string(), "b".to_string()]);
    }

    #[test]
    fn every_target_has_its_source() {
        for t in all_targets().unwrap() {
            let src = fuzz_dir().join("fuzz_targets").join(format!("{t}.rs"));
            assert!(src.exists(), "{}", src.display());
        }
    }

    #[test]
    fn parses_times_and_targets() {
        let p = parse(&args(&["zone_parse", "--minutes", "2", "--jobs", "1"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            p,
            Plan {
                targets: vec!["zone_parse".to_string()],
                seconds: 120,
                jobs: 1
            }
        );
        assert!(parse(&args(&["--seconds"])).is_err());
        assert!(parse(&args(&["--bogus"])).is_err());
        assert_eq!(parse(&args(&["--list"])).unwrap(), None);
    }
}
