//! `cargo xtask test`: install what the tests need, audit the dependencies
//! (`cargo deny`), build the image and the host binaries once, then run
//! every test of the workspace and close with one summary line
//! (`summary: N passed, N failed, N skipped`).

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc;
use xtask::build;
use xtask::deps;
use xtask::util::cargo;

/// Totals over every `test result:` line, and the loud skips.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub passed: u64,
    pub failed: u64,
    pub skipped: u64,
}

impl Tally {
    /// Account for one output line of `cargo test`.
    pub fn line(&mut self, l: &str) {
        if let Some(rest) = l.trim_start().strip_prefix("test result: ") {
            for part in rest.split(';') {
                let mut w = part.split_whitespace().rev();
                let (Some(what), Some(n)) = (w.next(), w.next()) else {
                    continue;
                };
                let n: u64 = n.parse().unwrap_or(0);
                match what {
                    "passed" => self.passed += n,
                    "failed" => self.failed += n,
                    _ => {}
                }
            }
        } else if l.starts_with("SKIP ") {
            self.skipped += 1;
        }
    }
}

pub fn main(args: &[String]) -> Result<(), String> {
    deps::install(deps::TEST_TOOLS)?;
    xtask::deny::check()?;
    let image = build::image(true)?;
    let image_storage = build::image_storage(true)?;
    let hvt = build::tender(true)?;
    let unix = build::unix(true)?;
    let tools = build::tools(true)?;
    // This very binary (release, built by the `cargo xtask` alias): building
    // it a second time into the host-tools directory doubles the cost of
    // its dependencies (russh, gix) on a cache-free machine.
    let xtask_bin = std::env::current_exe().map_err(|e| format!("xtask binary: {e}"))?;
    let size = std::fs::metadata(&image).map_err(|e| e.to_string())?.len();
    eprintln!("xtask test: image {} ({size} bytes)", image.display());
    let mut cmd = cargo();
    cmd.args(["test", "--workspace"]).args(args);
    let skip_log = std::env::temp_dir().join(format!("gitns-skips-{}", std::process::id()));
    let _ = std::fs::remove_file(&skip_log);
    cmd.env("GITNS_SKIP_LOG", &skip_log);
    cmd.env("GITNS_IMAGE_STORAGE", &image_storage);
    cmd.env("GITNS_XTASK", &xtask_bin);
    cmd.env("GITNS_TOOLS", &tools);
    cmd.env("GITNS_IMAGE", &image)
        .env("GITNS_HVT", &hvt)
        .env("GITNS_UNIX", &unix);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cargo test: {e}"))?;
    let (tx, rx) = mpsc::channel::<String>();
    let out = child.stdout.take().ok_or("no stdout")?;
    let err = child.stderr.take().ok_or("no stderr")?;
    let tx2 = tx.clone();
    let t1 = std::thread::spawn(move || {
        for l in lossy_lines(out) {
            println!("{l}");
            let _ = tx.send(l);
        }
    });
    let t2 = std::thread::spawn(move || {
        for l in lossy_lines(err) {
            eprintln!("{l}");
            let _ = tx2.send(l);
        }
    });
    let status = child.wait().map_err(|e| e.to_string())?;
    let _ = (t1.join(), t2.join());
    let mut tally = Tally::default();
    for l in rx.try_iter() {
        tally.line(&l);
    }
    for l in std::fs::read_to_string(&skip_log)
        .unwrap_or_default()
        .lines()
    {
        println!("{l}");
        tally.line(l);
    }
    let _ = std::fs::remove_file(&skip_log);
    println!(
        "summary: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.skipped
    );
    let fuzzed = fuzz_step();
    if !(status.success() && tally.failed == 0) {
        return Err(format!("cargo test failed: {status}"));
    }
    fuzzed
}

/// The lines of `r` until its end, bytes that are not UTF-8 replaced: a
/// test may print anything (the tender's hostile-hypercall harness echoes
/// guest bytes), and a reader that stopped at the first such line would
/// close the pipe and kill the test run with EPIPE.
fn lossy_lines(r: impl std::io::Read) -> impl Iterator<Item = String> {
    BufReader::new(r)
        .split(b'\n')
        .map_while(Result::ok)
        .map(|l| String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(&l)).into_owned())
}

/// Every fuzz target for a bounded time (issue 25: the targets build and
/// run in CI; a crash fails the run). GITNS_FUZZ_SECONDS changes the time;
/// 0 skips the step, loudly (never under CI).
fn fuzz_step() -> Result<(), String> {
    let seconds = match std::env::var("GITNS_FUZZ_SECONDS") {
        Ok(s) => s
            .parse()
            .map_err(|_| format!("GITNS_FUZZ_SECONDS={s}: not a number"))?,
        Err(_) => xtask::fuzz::CI_SECONDS,
    };
    if seconds == 0 {
        if std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false") {
            return Err("GITNS_FUZZ_SECONDS=0 under CI: the fuzz step may not be skipped".into());
        }
        println!("SKIP fuzz: GITNS_FUZZ_SECONDS=0");
        return Ok(());
    }
    let plan = xtask::fuzz::Plan {
        targets: Vec::new(),
        seconds,
        jobs: 2,
    };
    let started = std::time::Instant::now();
    let result = xtask::fuzz::run(&plan);
    println!(
        "fuzz: {} in {:.0} s",
        if result.is_ok() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_that_are_not_utf8_do_not_end_the_output() {
        let out: Vec<String> = lossy_lines(&b"a\n\xff\xfe garbage\r\nb\n"[..]).collect();
        assert_eq!(out, vec!["a", "\u{fffd}\u{fffd} garbage", "b"]);
    }

    #[test]
    fn tally_reads_cargo_result_lines() {
        let mut t = Tally::default();
        t.line("test result: ok. 10 passed; 0 failed; 2 ignored; 0 measured; 0 filtered out; finished in 0.00s");
        t.line("test result: FAILED. 1 passed; 3 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1s");
        t.line("SKIP guest_answers_ping: /dev/kvm is not usable here");
        t.line("test foo ... ok");
        assert_eq!(
            t,
            Tally {
                passed: 11,
                failed: 3,
                skipped: 1
            }
        );
    }
}
