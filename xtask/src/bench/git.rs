//! `cargo xtask bench git`: gitns's git client against git itself over
//! the same OpenSSH sshd (in the benchmark's namespace): a shallow clone of
//! a repository holding a 100,000-name zone, and an incremental fetch after
//! a one-line change. gitns's time includes checking every object's SHA-1
//! and the trailer and building the checkout (the files it serves).

use super::report;
use super::stats::{json, summary};
use crate::netns::Netns;
use crate::sshd::{key, GitServer};
use gitns_git::checkout::Checkout;
use gitns_git::pack::Limits;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::session::{Op, Outcome, Timeouts};
use gitns_git::ssh::Credential;
use std::process::Command;
use std::time::Instant;

const ZONE: &str = "big.test";
const NAMES: u32 = 100_000;

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[("sshd", "openssh-server"), ("git", "git")])?;
    let n = if quick { 3 } else { 10 };
    let ns = Netns::create(&format!("gitns-bgit-{}", std::process::id()))?;
    let seed = [0x24u8; 32];
    let (_, authorized) = key(seed);
    let zone = |serial: u32| {
        super::zone::big_zone(NAMES).replacen(" 1 7200", &format!(" {serial} 7200"), 1)
    };
    let srv = GitServer::start(&ns, "bench-git", &authorized, &[(ZONE, &zone(1))]);
    let cmd = format!("git-upload-pack '{}'", srv.repo.display());
    let pin = srv.fingerprint.clone();
    // gitns: clone, then fetch after one new commit, n times each.
    let fetch = move |have: Option<Checkout>| -> Result<(f64, Checkout), String> {
        let (cmd, pin) = (cmd.clone(), pin.clone());
        let t0 = Instant::now();
        let haves = have.iter().map(|c| c.head).collect();
        let op = Op::Fetch(Fetch::new("main", haves, false, 512 << 20));
        let out = crate::gitclient::run(
            "10.0.0.1:22".parse().map_err(|_| "addr")?,
            "root",
            Credential::Ed25519Seed(seed),
            Some(&pin),
            &cmd,
            op,
            Timeouts::default(),
        )
        .map_err(|e| e.to_string())?;
        let c = match out {
            Outcome::Fetched(Fetched::Pack { head, pack }) => {
                Checkout::from_pack(&pack, head, Limits::default(), have.as_ref())
                    .map_err(|e| format!("{e:?}"))?
            }
            other => return Err(format!("unexpected {other:?}")),
        };
        Ok((t0.elapsed().as_secs_f64() * 1e3, c))
    };
    let mut clone = Vec::new();
    let mut last = None;
    for _ in 0..n {
        let f = fetch.clone();
        let (ms, c) = ns.run_in(move || f(None))??;
        if c.files().first().map(|f| f.1.len()).unwrap_or(0) < 1_000_000 {
            return Err("the clone did not hold the zone".into());
        }
        clone.push(ms);
        last = Some(c);
    }
    let mut incr = Vec::new();
    for i in 0..n as u32 {
        srv.commit(&[(ZONE, &zone(2 + i))], "serial");
        let f = fetch.clone();
        let have = last.take();
        let (ms, c) = ns.run_in(move || f(have))??;
        incr.push(ms);
        last = Some(c);
    }
    let (git_clone, git_fetch) = super::appliance::git_peer(&ns, &srv, n, &zone, ZONE)?;
    let (https, git_https) = super::git_https::clones(&ns, &srv, n)?;
    let (h, gh) = (summary(&https), summary(&git_https));
    let size = Command::new("du")
        .args(["-sk"])
        .arg(&srv.repo)
        .output()
        .map(|o| {
            String::from_utf8_lossy(&o.stdout)
                .split_whitespace()
                .next()
                .unwrap_or("?")
                .to_string()
        })
        .unwrap_or_default();
    drop(srv);
    drop(ns);
    let (c, f, gc, gf) = (
        summary(&clone),
        summary(&incr),
        summary(&git_clone),
        summary(&git_fetch),
    );
    let cmdline = format!(
        "cargo xtask bench git{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "Command: `{cmdline}` ({n} runs each; {machine})\n\n\
A repository holding one zone file of {NAMES} names (~120,000 records), bare\n\
repository {size} KiB, behind OpenSSH sshd in the benchmark's namespace.\n\
gitns's client is the sans-I/O session the image runs, driven over a host\n\
TCP socket; its times include verifying every object and building the\n\
checkout. Times in ms.\n\n\
| measure | min | median | max |\n|---|---|---|---|\n\
| gitns: clone (depth 1) | {:.1} | {:.1} | {:.1} |\n\
| git + OpenSSH: `git clone --depth 1` | {:.1} | {:.1} | {:.1} |\n\
| gitns: fetch after a one-line change | {:.1} | {:.1} | {:.1} |\n\
| git + OpenSSH: `git fetch` | {:.1} | {:.1} | {:.1} |\n\
| gitns: clone over HTTPS (git http-backend + lighttpd, TLS) | {:.1} | {:.1} | {:.1} |\n\
| git: `git clone --depth 1 https://...` (same server) | {:.1} | {:.1} | {:.1} |\n\n\
Ratios (medians, goal <= 1.0): clone {:.2}, fetch {:.2}, clone over HTTPS {:.2}.\n",
        c.min,
        c.median,
        c.max,
        gc.min,
        gc.median,
        gc.max,
        f.min,
        f.median,
        f.max,
        gf.min,
        gf.median,
        gf.max,
        h.min,
        h.median,
        h.max,
        gh.min,
        gh.median,
        gh.max,
        c.median / gc.median,
        f.median / gf.median,
        h.median / gh.median,
        machine = report::machine(),
    );
    report::write_section("git", &body)?;
    report::write_json(
        "git",
        &format!(
            "{{\"clone_ms\": {}, \"git_clone_ms\": {}, \"fetch_ms\": {}, \"git_fetch_ms\": {}, \"https_clone_ms\": {}, \"git_https_clone_ms\": {}}}",
            json(c),
            json(gc),
            json(f),
            json(gf),
            json(h),
            json(gh)
        ),
    )?;
    print!("{body}");
    Ok(())
}
