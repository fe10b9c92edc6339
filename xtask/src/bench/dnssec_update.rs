//! UPDATE -> signed answer, the third figure of `bench dnssec`: a signed
//! UPDATE adds a name to a zone the server signs itself (gitns: the
//! storage image with the zone's `_dnssec` policy and keys; Knot:
//! `dnssec-signing: on` with the same policy), then the name is asked with
//! DO=1 until the answer carries its RRSIG. Milliseconds from sending the
//! UPDATE.

use super::dns::{pinned, VethPair, ZONE};
use super::guest::{boot, Vm};
use super::ops::{poll_soa_long, update_key, SECRET};
use super::Kill;
use crate::build;
use crate::netns::{run_in_named, Netns};
use gitns_dns::name::Name;
use std::net::UdpSocket;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// The longest one UPDATE may take to be answered signed.
const WAIT: Duration = Duration::from_secs(10);
const POLICY: &str = "denial nsec3\nkeys csk\n";

/// `name A` with DO=1 (an OPT with the DO bit, RFC 3225).
fn do_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut q = id.to_be_bytes().to_vec();
    q.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    let n = Name::parse(name, &Name::root()).map_err(|e| e.to_string())?;
    q.extend_from_slice(n.wire());
    q.extend_from_slice(&[0, 1, 0, 1]);
    // OPT: root owner, type 41, 1232-byte payload, DO (RFC 6891 6.1.2).
    q.extend_from_slice(&[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
    Ok(q)
}

/// Does answer `m` hold an RRSIG in its answer section?
fn signed_answer(m: &[u8]) -> bool {
    let mut r = gitns_dns::wire::Reader::message(m, 0);
    let Ok(h) = gitns_dns::message::Header::parse(&mut r) else {
        return false;
    };
    for _ in 0..h.qdcount {
        if r.name().is_err() || r.u32().is_err() {
            return false;
        }
    }
    (0..h.ancount).any(|_| matches!(gitns_dns::message::skip_rr(&mut r), Ok((46, _, _))))
}

/// Is `h1` of the zone answered with its RRSIG before any UPDATE?
fn served_signed(server: &str) -> Result<(), String> {
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    for _ in 0..3 {
        sock.send_to(&do_query(0x5152, &format!("h1.{ZONE}"))?, server)
            .map_err(|e| e.to_string())?;
        if let Ok(n) = sock.recv(&mut buf) {
            return match signed_answer(&buf[..n]) {
                true => Ok(()),
                false => Err(format!("{server} does not serve the zone signed")),
            };
        }
    }
    Err(format!("{server}: no answer to a DO=1 query"))
}

/// One signed UPDATE adding `u{i}` at `server`, then DO=1 queries for it
/// until the answer is signed: milliseconds.
fn one(server: &str, i: u32) -> Result<f64, String> {
    let key = crate::dnstool::parse_key(&format!("personal._update.{ZONE}:SHA256:{SECRET}"))?;
    let zone = Name::parse(ZONE, &Name::root()).map_err(|e| e.to_string())?;
    let name = format!("u{i}.{ZONE}");
    let upd = format!("add {name}. 300 A 192.0.2.{}", i % 250);
    let m = crate::dnstool::signed_update(i as u16, &zone, &upd, &key)?;
    let sock = UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_millis(5)))
        .map_err(|e| e.to_string())?;
    let (q, mut buf) = (do_query(0x5151, &name)?, [0u8; 4096]);
    let t0 = Instant::now();
    sock.send_to(&m, server).map_err(|e| e.to_string())?;
    while t0.elapsed() < WAIT {
        match sock.recv(&mut buf) {
            Ok(n) if n >= 4 && buf[..2] == (i as u16).to_be_bytes() && buf[3] & 0x0f != 0 => {
                return Err(format!("{server} refused the UPDATE"))
            }
            Ok(n) if buf[..2] == [0x51, 0x51] && signed_answer(&buf[..n]) => {
                return Ok(t0.elapsed().as_secs_f64() * 1e3)
            }
            Ok(_) => continue,
            Err(_) => sock.send_to(&q, server).map_err(|e| e.to_string())?,
        };
    }
    Err(format!(
        "{server}: {name} not answered signed within {WAIT:?}"
    ))
}

/// gitns (storage image) serving the bench zone with a policy and keys
/// made by `gitns sign`.
fn gitns(dir: &Path, ns: &Netns) -> Result<Kill, String> {
    let z = dir.join("zones-dnssec-upd");
    std::fs::create_dir_all(&z).map_err(|e| e.to_string())?;
    let file = z.join(ZONE);
    std::fs::write(&file, super::dns::zone_text()).map_err(|e| e.to_string())?;
    std::fs::write(z.join(format!("{ZONE}._keys")), update_key(ZONE).0)
        .map_err(|e| e.to_string())?;
    std::fs::write(z.join(format!("{ZONE}._dnssec")), POLICY).map_err(|e| e.to_string())?;
    let out = Command::new(build::tools(true)?)
        .arg("sign")
        .arg(&file)
        .args(["--out", "/dev/null"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!(
            "gitns sign: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let dev = crate::zones::pack(&z, &dir.join("dnssec-upd.tar"))?;
    let vm = Vm {
        tap: "tap0",
        ip: "10.0.0.2",
        mem: 256,
        dev: Some(&dev),
        metrics: false,
        log: None,
        args: &[],
    };
    boot(ns, 0, &vm)
}

/// Knot signing the bench zone itself (ECDSA P-256, one key, NSEC3 0
/// iterations), UPDATE allowed with the bench key.
fn knot(dir: &Path, pair: &VethPair) -> Result<Kill, String> {
    let d = dir.join("knot-dnssec-upd");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    std::fs::write(d.join(ZONE), super::dns::zone_text()).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  listen: 10.0.1.2@53\n  rundir: {d}\n  user: root\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\n{keys}database:\n  storage: {d}\n  kasp-db: {d}/kasp\npolicy:\n  - id: p\n    algorithm: ecdsap256sha256\n    single-type-signing: on\n    nsec3: on\n    nsec3-iterations: 0\n    nsec3-salt-length: 0\ntemplate:\n  - id: default\n    storage: {d}\n    semantic-checks: off\nzone:\n  - domain: {ZONE}\n    file: {ZONE}\n    acl: upd\n    dnssec-signing: on\n    dnssec-policy: p\n",
        d = d.display(),
        keys = update_key(ZONE).1
    );
    std::fs::write(d.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let mut c = pinned(0, &pair.server, Path::new("/usr/sbin/knotd"));
    let log = std::fs::File::create(d.join("knot.log")).map_err(|e| e.to_string())?;
    c.arg("-c").arg(d.join("knot.conf")).stderr(log);
    Ok(Kill(c.spawn().map_err(|e| format!("knotd: {e}"))?))
}

/// `runs` UPDATEs at `server` from `ns`: the milliseconds of each, or
/// why not.
fn series(ns: &str, server: &'static str, runs: u32) -> Result<Vec<f64>, String> {
    run_in_named(ns, || poll_soa_long(server, ZONE))??;
    run_in_named(ns, move || served_signed(server))??;
    (0..runs)
        .map(|i| run_in_named(ns, move || one(server, i))?)
        .collect()
}

/// A row of the table: median and p90, or why there are none.
fn row(who: &str, r: &Result<Vec<f64>, String>) -> String {
    match r {
        Ok(v) => {
            let mut v = v.clone();
            v.sort_by(f64::total_cmp);
            let at = |q| super::dns::percentile(&v, q);
            format!("| {who} | {:.1} | {:.1} | |\n", at(0.5), at(0.9))
        }
        Err(e) => format!("| {who} | | | {e} |\n"),
    }
}

/// The section: `runs` UPDATEs at gitns and at Knot. A side that never
/// answers signed is a row saying why (the appliance signs after an
/// UPDATE only from issue 26's keeper step on).
pub fn run(dir: &Path, runs: u32) -> Result<String, String> {
    let ns = Netns::create(&format!("gitns-bdsu-{}", std::process::id()))?;
    let g = gitns(dir, &ns)?;
    let gv = series(&ns.name, "10.0.0.2:53", runs);
    drop((g, ns));
    let pair = VethPair::create("du")?;
    let k = knot(dir, &pair)?;
    let kv = series(&pair.client, "10.0.1.2:53", runs);
    drop(k);
    let ratio = match (&gv, &kv) {
        (Ok(g), Ok(k)) => {
            let m = |v: &[f64]| super::stats::summary(v).median;
            format!(
                "\nRatio Knot / gitns (medians, > 1: gitns ahead): {:.2}.\n",
                m(k) / m(g)
            )
        }
        _ => String::new(),
    };
    Ok(format!(
        "### UPDATE -> signed answer ({runs} UPDATEs, ms)\n\n\
A signed UPDATE adds a name to the bench zone, which the server signs itself (gitns: the\n\
storage image, policy `denial nsec3`, `keys csk`, keys made by `gitns sign`; Knot:\n\
`dnssec-signing: on`, ECDSA P-256, one key, NSEC3 0 iterations); then the name is asked\n\
with DO=1 about every 5 ms until the answer carries its RRSIG.\n\n\
| server | median | p90 | not measured because |\n|---|---|---|---|\n{}{}{ratio}",
        row("gitns (VM)", &gv),
        row("Knot", &kv)
    ))
}
