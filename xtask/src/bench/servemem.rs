//! Memory to serve the big zone of `bench zone` (issue 9): the smallest
//! guest memory (`gitns-hvt --mem`) with which the VM boots, loads the
//! zone from its storage device and answers for it, and the memory the
//! host spends on it then (PSS of gitns-hvt: the guest pages touched), side
//! by side with the PSS of knotd and of NSD (all its processes) once they
//! answer for the same zone file.

use super::appliance::{answer_serial, soa_query};
use super::dns::{pinned, VethPair};
use super::Kill;
use crate::build;
use crate::netns::{run_in_named, Netns};
use std::net::UdpSocket;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long one server may take to answer for the zone.
const LOAD: Duration = Duration::from_secs(60);

/// The figures, in MiB.
pub struct ServeMem {
    /// Smallest `--mem` that served the zone (to `step` MiB).
    pub gitns_mem: u32,
    pub step: u32,
    /// PSS of gitns-hvt serving with that `--mem`.
    pub gitns_pss: f64,
    pub knotd_pss: f64,
    pub nsd_pss: f64,
}

/// One SOA query from inside namespace `ns`: did `addr` answer for `zone`?
pub(super) fn answers(ns: &str, addr: &str, zone: &str) -> bool {
    let (addr, zone) = (format!("{addr}:53"), zone.to_string());
    run_in_named(ns, move || -> Option<()> {
        let sock = UdpSocket::bind("0.0.0.0:0").ok()?;
        sock.set_read_timeout(Some(Duration::from_millis(200)))
            .ok()?;
        sock.send_to(&soa_query(&zone), &addr).ok()?;
        let mut buf = [0u8; 1500];
        let n = sock.recv(&mut buf).ok()?;
        answer_serial(&buf[..n]).map(|_| ())
    })
    .ok()
    .flatten()
    .is_some()
}

/// Wait until `child` answers for `zone` at `addr` (seen from `ns`):
/// false when it exits first or `LOAD` passes.
fn wait_serving(child: &mut Kill, ns: &str, addr: &str, zone: &str) -> bool {
    let end = Instant::now() + LOAD;
    while Instant::now() < end {
        if !matches!(child.0.try_wait(), Ok(None)) {
            return false;
        }
        if answers(ns, addr, zone) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// Proportional set size of `pid` and its descendants, MiB
/// (/proc/PID/smaps_rollup): shared pages counted once overall.
fn pss_tree(pid: u32) -> f64 {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        let parent = pids[i];
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // "pid (comm) state ppid ...": the comm may hold spaces.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u32>().ok());
            if ppid == Some(parent) && !pids.contains(&p) {
                pids.push(p);
            }
        }
        i += 1;
    }
    let kib: u64 = pids
        .iter()
        .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/smaps_rollup")).ok())
        .filter_map(|t| {
            t.lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum();
    kib as f64 / 1024.0
}

/// Boot the storage image with `mem` MiB on `dev`: Some(PSS MiB) once it
/// answers for `zone`, None when it cannot (out of memory).
fn gitns_with(ns: &Netns, dev: &Path, mem: u32, zone: &str) -> Result<Option<f64>, String> {
    let mut c = pinned(0, &ns.name, &build::tender(true)?);
    c.args(["--quiet", &format!("--mem={mem}"), "--net:service=tap0"])
        .arg(format!("--block:storage={}", dev.display()))
        .arg(build::image_storage(true)?)
        .args(["--ipv4=10.0.0.2/24", "-l", "warn"]);
    let mut k = Kill(c.spawn().map_err(|e| e.to_string())?);
    if !wait_serving(&mut k, &ns.name, "10.0.0.2", zone) {
        return Ok(None);
    }
    std::thread::sleep(Duration::from_millis(500));
    Ok(Some(pss_tree(k.0.id())))
}

/// Measure with the zone file `file` (zone `zone`, e.g. "big.test").
pub fn run(file: &Path, zone: &str, dir: &Path) -> Result<ServeMem, String> {
    crate::deps::install(&[("knotd", "knot"), ("nsd", "nsd"), ("taskset", "util-linux")])?;
    // gitns: bisect --mem between a size that fails and one that serves.
    let zones = dir.join("serve-zones");
    std::fs::create_dir_all(&zones).map_err(|e| e.to_string())?;
    std::fs::copy(file, zones.join(zone)).map_err(|e| e.to_string())?;
    let dev = crate::zones::pack(&zones, &dir.join("serve.tar"))?;
    let ns = Netns::create(&format!("gitns-bmem-{}", std::process::id()))?;
    let step = 8;
    let (mut lo, mut hi) = (16u32, 2048u32);
    let mut pss = gitns_with(&ns, &dev, hi, zone)?
        .ok_or_else(|| format!("gitns does not serve {zone} even with --mem={hi}"))?;
    while hi - lo > step {
        let mid = (lo + hi) / 2 / step * step;
        match gitns_with(&ns, &dev, mid, zone)? {
            Some(p) => {
                eprintln!("bench zone: --mem={mid}: serves");
                (hi, pss) = (mid, p);
            }
            None => {
                eprintln!("bench zone: --mem={mid}: does not serve");
                lo = mid;
            }
        }
    }
    drop(ns);
    // Knot and NSD on a veth pair, one worker each, as in `bench dns`.
    let pair = VethPair::create("mem")?;
    let kd = dir.join("knot");
    std::fs::create_dir_all(&kd).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  listen: 10.0.1.2@53\n  rundir: {d}\n  user: root\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: {d}\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\n    journal-content: none\n    zonefile-sync: -1\nzone:\n  - domain: {zone}\n    file: {z}\n",
        d = kd.display(),
        z = zones.join(zone).display()
    );
    std::fs::write(kd.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = pinned(0, &pair.server, Path::new("/usr/sbin/knotd"));
    c.arg("-c").arg(kd.join("knot.conf"));
    let mut k = Kill(c.spawn().map_err(|e| format!("knotd: {e}"))?);
    if !wait_serving(&mut k, &pair.client, "10.0.1.2", zone) {
        return Err(format!("knotd does not serve {zone}"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let knotd_pss = pss_tree(k.0.id());
    drop(k);
    let nd = dir.join("nsd");
    std::fs::create_dir_all(&nd).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  ip-address: 10.0.1.2\n  port: 53\n  server-count: 1\n  username: \"\"\n  zonesdir: \"{z}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  verbosity: 0\nremote-control:\n  control-enable: no\nzone:\n  name: {zone}\n  zonefile: {zone}\n",
        z = zones.display(),
        d = nd.display()
    );
    std::fs::write(nd.join("nsd.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = pinned(0, &pair.server, Path::new("/usr/sbin/nsd"));
    c.arg("-d").arg("-c").arg(nd.join("nsd.conf"));
    let mut n = Kill(c.spawn().map_err(|e| format!("nsd: {e}"))?);
    if !wait_serving(&mut n, &pair.client, "10.0.1.2", zone) {
        return Err(format!("nsd does not serve {zone}"));
    }
    std::thread::sleep(Duration::from_millis(500));
    let nsd_pss = pss_tree(n.0.id());
    drop(n);
    Ok(ServeMem {
        gitns_mem: hi,
        step,
        gitns_pss: pss,
        knotd_pss,
        nsd_pss,
    })
}
