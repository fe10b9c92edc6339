//! Item 3 of `bench secondary`: a new zone committed and pushed to the
//! git remote of a gitns primary (`--catalog=catalog.invalid`), then the
//! operator's signed NOTIFY, until the primary serves it and until a Knot
//! secondary that knows only the catalog (`catalog-role: interpret`,
//! RFC 9432) serves it too.

use super::dns::pinned;
use super::guest::{boot, Vm};
use super::ops::{poll_soa_long, SECRET};
use super::stats::summary;
use super::Kill;
use crate::netns::Netns;
use crate::sshd::{key, GitServer};
use gitns_dns::name::Name;
use std::path::Path;
use std::time::{Duration, Instant};

/// Knot at 10.0.0.1 following the catalog of 10.0.0.2 with `key`.
fn knot_consumer(dir: &Path, ns: &Netns, key: &str) -> Result<Kill, String> {
    let d = dir.join("knot-catalog");
    std::fs::create_dir_all(&d).map_err(|e| e.to_string())?;
    let conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\n  udp-workers: 1\n  tcp-workers: 1\n  background-workers: 1\ndatabase:\n  storage: {d}\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: 10.0.0.2@53\n    key: {key}\nacl:\n  - id: notify\n    key: {key}\n    action: notify\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: none\n  - id: member\n    storage: {d}\n    journal-content: none\n    zonefile-sync: -1\n    master: primary\n    acl: notify\nzone:\n  - domain: catalog.invalid\n    master: primary\n    acl: notify\n    catalog-role: interpret\n    catalog-template: member\n",
        d = d.display()
    );
    std::fs::write(d.join("knot.conf"), conf).map_err(|e| e.to_string())?;
    let log = std::fs::File::create(d.join("knot.log")).map_err(|e| e.to_string())?;
    let mut c = pinned(1, &ns.name, Path::new("/usr/sbin/knotd"));
    c.arg("-c").arg(d.join("knot.conf")).stderr(log);
    Ok(Kill(c.spawn().map_err(|e| format!("knotd: {e}"))?))
}

/// A small zone `origin`.
fn small(origin: &str) -> String {
    format!("$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\nns A 10.0.0.2\nwww A 192.0.2.1\n")
}

/// The operator's signed NOTIFY (root update key) for `zone` to the
/// primary; its answer must be NOERROR.
fn notify(zone: &str, personal: &str) -> Result<(), String> {
    let key = crate::dnstool::parse_key(&format!("hmac-sha256:personal._update:{personal}"))?;
    let zone = Name::parse(zone, &Name::root()).map_err(|e| e.to_string())?;
    let m = crate::dnstool::signed_notify(7, &zone, &key);
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|e| e.to_string())?;
    sock.send_to(&m, "10.0.0.2:53").map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1500];
    let n = sock.recv(&mut buf).map_err(|e| format!("NOTIFY: {e}"))?;
    if n < 4 || buf[3] & 0x0f != 0 {
        return Err(format!(
            "the primary answered the NOTIFY with RCODE {}",
            buf[3] & 0x0f
        ));
    }
    Ok(())
}

/// From just before `commit` + NOTIFY: (ms until gitns serves `zone`,
/// ms until Knot does).
fn one(srv: &GitServer, ns: &Netns, zone: &str, personal: &str) -> Result<(f64, f64), String> {
    let polls = ["10.0.0.2:53", "10.0.0.1:53"].map(|s| {
        let z = zone.to_string();
        ns.run_in(move || std::thread::spawn(move || poll_soa_long(s, &z)))
    });
    let t0 = Instant::now();
    srv.commit(&[(zone, &small(zone))], "a new zone");
    let p = personal.to_string();
    ns.run_in(move || notify("a.test", &p))??;
    let mut ms = [0.0; 2];
    for (m, p) in ms.iter_mut().zip(polls) {
        let at = p?.join().map_err(|_| "poll thread")??;
        *m = at.saturating_duration_since(t0).as_secs_f64() * 1e3;
    }
    Ok((ms[0], ms[1]))
}

/// `zones` new zones, one at a time: the table.
pub fn run(dir: &Path, zones: u32) -> Result<String, String> {
    let ns = Netns::create(&format!("gitns-bscat-{}", std::process::id()))?;
    let personal = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
    let keys = format!("10.0.0.2.10.0.0.1._transfer. DNSKEY 0 3 163 {SECRET}\npersonal._update. DNSKEY 0 3 163 {personal}\n");
    let (ssh_key, authorized) = key([0x5au8; 32]);
    let a = small("a.test");
    let srv = GitServer::start(
        &ns,
        "bsec-cat",
        &authorized,
        &[("a.test", &a), ("_keys", &keys)],
    );
    let args = [
        srv.remote(),
        format!("--ssh-key={ssh_key}"),
        format!("--ssh-authenticator={}", srv.fingerprint),
        "--catalog=catalog.invalid".to_string(),
    ];
    let vm = Vm {
        tap: "tap0",
        ip: "10.0.0.2",
        mem: 256,
        dev: None,
        metrics: false,
        log: None,
        args: &args,
    };
    let _g = boot(&ns, 0, &vm)?;
    ns.run_in(|| poll_soa_long("10.0.0.2:53", "a.test"))??;
    let _k = knot_consumer(dir, &ns, "10.0.0.2.10.0.0.1._transfer")?;
    ns.run_in(|| poll_soa_long("10.0.0.1:53", "a.test"))??;
    let (mut g, mut k) = (Vec::new(), Vec::new());
    for i in 0..zones {
        let (a, b) = one(&srv, &ns, &format!("new{i}.test"), personal)?;
        g.push(a);
        k.push(b);
    }
    let (g, k) = (summary(&g), summary(&k));
    Ok(format!(
        "### git push + NOTIFY -> a new zone served by a catalog-following Knot secondary ({zones} zones, ms)\n\n\
From just before the operator's commit and push (a local bare repository behind OpenSSH\n\
sshd) and signed NOTIFY to the gitns primary (`--catalog=catalog.invalid`), until the\n\
primary answers the new zone's SOA, and until a Knot secondary configured with only the\n\
catalog zone (`catalog-role: interpret`) answers it.\n\n\
| served by | min | median | max |\n|---|---|---|---|\n\
| gitns primary (VM, git over SSH) | {:.0} | {:.0} | {:.0} |\n\
| Knot catalog consumer | {:.0} | {:.0} | {:.0} |\n",
        g.min, g.median, g.max, k.min, k.median, k.max
    ))
}
