//! `cargo xtask bench appliance`: the operator-facing latencies of the
//! appliance (issue 7) with the 10,000-name bench zone in a git repository
//! behind OpenSSH's sshd in the benchmark's namespace:
//! - launch -> first authoritative answer (clone over SSH included), and
//!   from the zones kept on the storage device (a restart), with and
//!   without the remote configured;
//! - signed NOTIFY -> the new serial answered (fetch + reload).
//!
//! The peer is NSD started on the same zone file from disk (launch -> first
//! answer): what an operator waits after restarting a classic primary.
//! Clients poll with one UDP query per millisecond from a thread inside the
//! namespace; every wait is bounded.

use super::report;
use super::stats::{json, summary};
use crate::build;
use crate::netns::Netns;
use crate::sshd::{key, GitServer};
use gitns_dns::name::Name;
use std::net::UdpSocket;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ZONE: &str = "bench.test";
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const WAIT: Duration = Duration::from_secs(20);

pub fn run(quick: bool) -> Result<(), String> {
    crate::deps::install(&[("sshd", "openssh-server"), ("git", "git"), ("nsd", "nsd")])?;
    let hvt = build::tender(true)?;
    let image = build::image(true)?;
    let n = if quick { 3 } else { 10 };
    let ns = Netns::create(&format!("gitns-bapp-{}", std::process::id()))?;
    let seed = [0x42u8; 32];
    let (ssh_key, authorized) = key(seed);
    let zone = |serial: u32| -> String {
        super::dns::zone_text().replacen(" 1 7200", &format!(" {serial} 7200"), 1)
    };
    let keys = format!("n._notify.{ZONE}. DNSKEY 0 3 163 {SECRET}\n");
    let srv = GitServer::start(
        &ns,
        "bench-appliance",
        &authorized,
        &[(ZONE, &zone(1)), (&format!("{ZONE}._keys"), &keys)],
    );
    let args = vec![
        "--ipv4=10.0.0.2/24".to_string(),
        srv.remote(),
        format!("--ssh-key={ssh_key}"),
        format!("--ssh-authenticator={}", srv.fingerprint),
        "-l".into(),
        "warn".into(),
    ];
    let launch = |extra: &[String]| tender(&hvt, &image, None, extra);
    let first = first_answers(&ns, n, || launch(&args))?;
    // NOTIFY -> new serial, on one running guest.
    let mut cmd = launch(&args);
    let mut guest = ns.run_in(move || cmd.spawn().map_err(|e| e.to_string()))??;
    let key = crate::dnstool::parse_key(&format!("n._notify.{ZONE}:SHA256:{SECRET}"))?;
    let zname = Name::parse(ZONE, &Name::root()).map_err(|e| e.to_string())?;
    let mut notify = Vec::new();
    let result = (|| -> Result<(), String> {
        ns.run_in(|| poll_serial("10.0.0.2:53", |s| s == 1))??;
        for i in 0..n as u32 {
            let serial = 2 + i;
            srv.commit(&[(ZONE, &zone(serial))], &format!("serial {serial}"));
            let msg = crate::dnstool::signed_notify(i as u16, &zname, &key);
            let ms = ns.run_in(move || -> Result<f64, String> {
                let t0 = Instant::now();
                let sock = UdpSocket::bind("10.0.0.1:0").map_err(|e| e.to_string())?;
                sock.send_to(&msg, "10.0.0.2:53")
                    .map_err(|e| e.to_string())?;
                let r = poll_serial("10.0.0.2:53", |s| s == serial)?;
                Ok(r.duration_since(t0).as_secs_f64() * 1e3)
            })??;
            notify.push(ms);
        }
        Ok(())
    })();
    stop(&mut guest);
    result?;
    // A restart with the zones in the storage device's cache: alone, and
    // with the remote configured (served from the cache while it clones).
    let dev = std::env::temp_dir().join(format!("gitns-bapp-dev-{}", std::process::id()));
    crate::zones::pack(&srv.work, &dev)?;
    let stored = build::image_storage(true)?;
    let plain = ["--ipv4=10.0.0.2/24".to_string(), "-l".into(), "warn".into()];
    let boot = |a: &[String]| tender(&hvt, &stored, Some(&dev), a);
    let both = (|| -> Result<_, String> {
        Ok((
            first_answers(&ns, n, || boot(&plain))?,
            first_answers(&ns, n, || boot(&args))?,
        ))
    })();
    let _ = std::fs::remove_file(&dev);
    let (cached, cached_git) = both?;
    let nsd = nsd_first_answer(&ns, &srv.work, n)?;
    let (git_clone, git_fetch) = git_peer(&ns, &srv, n, &zone, ZONE)?;
    drop(srv);
    drop(ns);
    let (f, no, p) = (summary(&first), summary(&notify), summary(&nsd));
    let (c, cg) = (summary(&cached), summary(&cached_git));
    let (gc, gf) = (summary(&git_clone), summary(&git_fetch));
    let cmd = format!(
        "cargo xtask bench appliance{}",
        if quick { " --quick" } else { "" }
    );
    let body = format!(
        "Command: `{cmd}` ({n} runs each; {machine})\n\n\
The 10,000-name zone of `bench dns` in a git repository behind OpenSSH sshd\n\
in the benchmark's namespace; gitns in the VM clones it over SSH (ed25519\n\
key, pinned host key). Times in ms from spawning the tender.\n\n\
| measure | min | median | max | goal |\n|---|---|---|---|---|\n\
| gitns: launch -> first answer (clone over SSH) | {:.1} | {:.1} | {:.1} | <= 300 ms |\n\
| gitns: launch -> first answer, zones in the storage cache | {:.1} | {:.1} | {:.1} | <= 50 ms |\n\
| gitns: the same with the remote configured (cloning meanwhile) | {:.1} | {:.1} | {:.1} | <= 50 ms |\n\
| NSD: launch -> first answer (zone file on disk) | {:.1} | {:.1} | {:.1} | |\n\
| git + OpenSSH client: `git clone --depth 1` of the same repo | {:.1} | {:.1} | {:.1} | |\n\
| gitns: signed NOTIFY -> new serial answered | {:.1} | {:.1} | {:.1} | <= 100 ms |\n\
| git + OpenSSH client: `git fetch` of one new commit | {:.1} | {:.1} | {:.1} | |\n\n\
Ratios (medians): gitns launch -> answer / NSD launch -> answer {:.2} (from the cache {:.2}); \
gitns launch -> answer / git clone {:.2}; gitns NOTIFY -> answer / git fetch {:.2}.\n\
The remote side (sshd forking a session, git-upload-pack and pack-objects)\n\
is most of every figure here: `ssh host true` alone takes about 300 ms on\n\
this machine.\n",
        f.min,
        f.median,
        f.max,
        c.min,
        c.median,
        c.max,
        cg.min,
        cg.median,
        cg.max,
        p.min,
        p.median,
        p.max,
        gc.min,
        gc.median,
        gc.max,
        no.min,
        no.median,
        no.max,
        gf.min,
        gf.median,
        gf.max,
        f.median / p.median,
        c.median / p.median,
        f.median / gc.median,
        no.median / gf.median,
        machine = report::machine(),
    );
    report::write_section("appliance", &body)?;
    report::write_json(
        "appliance",
        &format!(
            "{{\"first_answer_ms\": {}, \"cached_first_answer_ms\": {}, \"cached_with_remote_first_answer_ms\": {}, \"nsd_first_answer_ms\": {}, \"git_clone_ms\": {}, \"notify_to_answer_ms\": {}, \"git_fetch_ms\": {}}}",
            json(f),
            json(c),
            json(cg),
            json(p),
            json(gc),
            json(no),
            json(gf)
        ),
    )?;
    print!("{body}");
    Ok(())
}

/// The tender booting `image` on tap0 with `args` (and a storage device).
fn tender(hvt: &Path, image: &Path, storage: Option<&Path>, args: &[String]) -> Command {
    let mut c = Command::new(hvt);
    c.args(["--quiet", "--net:service=tap0"]);
    if let Some(dev) = storage {
        c.arg(format!("--block:storage={}", dev.display()));
    }
    c.arg(image)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .stdin(Stdio::null());
    c
}

/// Launch -> first authoritative SOA answer, `n` times, from a thread
/// inside the namespace.
fn first_answers(ns: &Netns, n: usize, cmd: impl Fn() -> Command) -> Result<Vec<f64>, String> {
    let mut out = Vec::new();
    for _ in 0..n {
        let mut c = cmd();
        let ms = ns.run_in(move || -> Result<f64, String> {
            let t0 = Instant::now();
            let mut child = c.spawn().map_err(|e| e.to_string())?;
            let r = poll_serial("10.0.0.2:53", |_| true);
            stop(&mut child);
            Ok(r?.duration_since(t0).as_secs_f64() * 1e3)
        })??;
        out.push(ms);
    }
    Ok(out)
}

fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// git itself over OpenSSH's client from inside the namespace: a shallow
/// clone, then a fetch of one new commit, `n` times each.
pub(super) fn git_peer(
    ns: &Netns,
    srv: &GitServer,
    n: usize,
    zone: &dyn Fn(u32) -> String,
    zone_name: &str,
) -> Result<(Vec<f64>, Vec<f64>), String> {
    let d = std::env::temp_dir().join(format!("gitns-bapp-git-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let k = d.join("key");
    crate::util::run_ok(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", ""])
            .arg("-f")
            .arg(&k),
    )?;
    let line = std::fs::read_to_string(d.join("key.pub")).map_err(|e| e.to_string())?;
    srv.authorize(&line);
    let ssh = format!(
        "ssh -i {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR",
        k.display()
    );
    let url = format!("ssh://root@10.0.0.1{}", srv.repo.display());
    let timed = |args: &[&str], dir: &Path| -> Result<f64, String> {
        let t0 = Instant::now();
        crate::util::run_ok(
            ns.command("git")
                .arg("-C")
                .arg(dir)
                .args(args)
                .env("GIT_SSH_COMMAND", &ssh),
        )?;
        Ok(t0.elapsed().as_secs_f64() * 1e3)
    };
    let mut clone = Vec::new();
    for i in 0..n {
        let c = format!("c{i}");
        clone.push(timed(&["clone", "-q", "--depth", "1", &url, &c], &d)?);
    }
    let mut fetch = Vec::new();
    let c0 = d.join("c0");
    for i in 0..n as u32 {
        let serial = 100 + i;
        srv.commit(&[(zone_name, &zone(serial))], &format!("serial {serial}"));
        fetch.push(timed(&["fetch", "-q", "origin"], &c0)?);
    }
    let _ = std::fs::remove_dir_all(&d);
    Ok((clone, fetch))
}

/// NSD on the same zone file, launch -> first answer, `n` times.
fn nsd_first_answer(ns: &Netns, zones: &Path, n: usize) -> Result<Vec<f64>, String> {
    let d = std::env::temp_dir().join(format!("gitns-bapp-nsd-{}", std::process::id()));
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  ip-address: 10.0.0.1\n  port: 5300\n  server-count: 1\n  username: \"\"\n  zonesdir: \"{z}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: {ZONE}\n  zonefile: {ZONE}\n",
        z = zones.display(),
        d = d.display()
    );
    std::fs::write(d.join("nsd.conf"), conf).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for _ in 0..n {
        let conf = d.join("nsd.conf");
        let ms = ns.run_in(move || -> Result<f64, String> {
            let t0 = Instant::now();
            let mut child = Command::new("/usr/sbin/nsd")
                .arg("-d")
                .arg("-c")
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map_err(|e| format!("nsd: {e}"))?;
            let r = poll_serial("10.0.0.1:5300", |_| true);
            stop(&mut child);
            Ok(r?.duration_since(t0).as_secs_f64() * 1e3)
        })??;
        out.push(ms);
    }
    let _ = std::fs::remove_dir_all(&d);
    Ok(out)
}

/// Query the SOA of the bench zone every millisecond until an
/// authoritative answer whose serial satisfies `want`; its arrival time
/// (bounded by a 20 s wait).
fn poll_serial(server: &str, want: impl Fn(u32) -> bool) -> Result<Instant, String> {
    poll_soa(server, ZONE, want)
}

/// The same for any zone.
pub(super) fn poll_soa(
    server: &str,
    zone: &str,
    want: impl Fn(u32) -> bool,
) -> Result<Instant, String> {
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(1)))
        .map_err(|e| e.to_string())?;
    let q = soa_query(zone);
    let end = Instant::now() + WAIT;
    let mut buf = [0u8; 1500];
    while Instant::now() < end {
        let _ = sock.send_to(&q, server);
        while let Ok(n) = sock.recv(&mut buf) {
            if let Some(s) = answer_serial(&buf[..n]) {
                if want(s) {
                    return Ok(Instant::now());
                }
            }
        }
    }
    Err(format!(
        "no wanted SOA answer from {server} within {WAIT:?}"
    ))
}

pub(super) fn soa_query(zone: &str) -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
    for l in zone.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 6, 0, 1]);
    m
}

/// The SOA serial of an authoritative NOERROR answer.
pub(super) fn answer_serial(m: &[u8]) -> Option<u32> {
    let (flags, rcode) = (*m.get(2)?, *m.get(3)? & 0x0f);
    let ancount = u16::from_be_bytes([*m.get(6)?, *m.get(7)?]);
    if flags & 0x04 == 0 || rcode != 0 || ancount == 0 {
        return None;
    }
    let i = skip_name(m, 12)? + 4;
    let i = skip_name(m, i)? + 10;
    let i = skip_name(m, i)?;
    let i = skip_name(m, i)?;
    Some(u32::from_be_bytes(m.get(i..i + 4)?.try_into().ok()?))
}

fn skip_name(m: &[u8], mut i: usize) -> Option<usize> {
    loop {
        let l = *m.get(i)?;
        if l & 0xc0 == 0xc0 {
            return Some(i + 2);
        }
        i += 1 + l as usize;
        if l == 0 {
            return Some(i);
        }
    }
}
