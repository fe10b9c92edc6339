//! Chains of secondaries on one bridge (seed 001's network, 10.0.42.0/24):
//! the host side at 10.0.42.1 plus extra host addresses for more peers,
//! gitns guests on taps, and the peers' configurations (Knot, NSD, BIND)
//! as primaries and secondaries, TSIG on everything.
#![allow(dead_code)]

use super::*;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long any one step may take.
pub const T: Duration = Duration::from_secs(30);

/// The bridge br0 (10.0.42.1 and `extra` host addresses) with tap0 and tap1.
pub fn bridge(ns: &Netns, extra: &[&str]) {
    let mut cmds: Vec<String> = [
        "ip addr del 10.0.0.1/24 dev tap0",
        "ip link add br0 type bridge",
        "ip tuntap add dev tap1 mode tap",
        "ip link set tap0 master br0",
        "ip link set tap1 master br0",
        "ip addr add 10.0.42.1/24 dev br0",
        "ip link set br0 up",
        "ip link set tap1 up",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for ip in extra {
        cmds.push(format!("ip addr add {ip}/24 dev br0"));
    }
    for cmd in &cmds {
        let args: Vec<&str> = cmd.split(' ').collect();
        let out = ns.command(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{cmd}: {out:?}");
    }
}

/// Boot on `tap` (the storage image when `dev` is given).
pub fn boot_on(ns: &Netns, tap: &str, dev: Option<&Path>, args: &[&str]) -> Guest {
    let mut c = ns.command(tender().to_str().unwrap());
    c.arg(format!("--net:service={tap}"));
    match dev {
        Some(d) => c
            .arg(format!("--block:storage={}", d.display()))
            .arg(image_storage()),
        None => c.arg(image()),
    };
    c.args(args);
    Guest::spawn(c)
}

/// dig @`ip` with one try of one second.
pub fn dig_at(ns: &Netns, ip: &str, args: &[&str]) -> String {
    let server = format!("@{ip}");
    let mut a = vec![server.as_str(), "+time=1", "+tries=1"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// Wait until `dig @ip name type +short` prints `want`.
pub fn wait_answer(ns: &Netns, ip: &str, name: &str, rtype: &str, want: &str) {
    let end = Instant::now() + T;
    loop {
        if dig_at(ns, ip, &[name, rtype, "+short"]).contains(want) {
            return;
        }
        if Instant::now() > end {
            let full = dig_at(ns, ip, &[name, rtype]);
            panic!("{ip} never answered {name} {rtype} with {want}: {full}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// `zone` as `ip` transfers it with TSIG key `key` (hmac-sha256, `secret`):
/// one line per record, whitespace collapsed, lower case (Knot and NSD
/// print names in lower case), sorted, the TSIG left out.
pub fn axfr(ns: &Netns, ip: &str, zone: &str, key: &str, secret: &str) -> Vec<String> {
    let y = format!("hmac-sha256:{key}:{secret}");
    let args = [zone, "AXFR", "-y", &y, "+nocmd", "+nostats", "+nocomments"];
    let out = dig_at(ns, ip, &args);
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';') && !l.contains("TSIG"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .map(|l| l.to_lowercase())
        .collect();
    lines.sort();
    lines.dedup();
    assert!(lines.len() >= 4, "AXFR of {zone} from {ip}: {out}");
    lines
}

/// The serial `ip` serves for `zone` (None without an answer).
pub fn serial_at(ns: &Netns, ip: &str, zone: &str) -> Option<u32> {
    let out = dig_at(ns, ip, &[zone, "SOA", "+short"]);
    out.split_whitespace().nth(2)?.parse().ok()
}

/// A fresh directory for a peer, named after the namespace and `tag`.
pub fn dir_of(ns: &Netns, tag: &str) -> std::path::PathBuf {
    peer_dir(&format!("{}-{tag}", ns.name))
}

/// A TSIG key (hmac-sha256): its name and base64 secret.
pub type Tsig<'a> = (&'a str, &'a str);

/// A primary at 10.0.42.1 serving `zone` from the master file `text`,
/// NOTIFYing `notify` (addresses) and letting `key` transfer.
pub struct Served<'a> {
    pub zone: &'a str,
    pub text: &'a str,
    pub notify: &'a [&'a str],
    pub key: Tsig<'a>,
}

impl Served<'_> {
    /// A fresh directory `tag` for the primary, with the zone file.
    fn dir(&self, ns: &Netns, tag: &str) -> std::path::PathBuf {
        let dir = dir_of(ns, tag);
        std::fs::write(dir.join(format!("{}.zone", self.zone)), self.text).unwrap();
        dir
    }
}

/// A secondary at `ip` of `zone` (for a catalog consumer: the catalog)
/// from `primary`, taking its NOTIFY, transfers signed with `key`.
pub struct Follows<'a> {
    pub ip: &'a str,
    pub primary: &'a str,
    pub zone: &'a str,
    pub key: Tsig<'a>,
}

/// The Knot sections every Knot here shares: listen on `ip`, files and
/// log (info, `knot.log`) in `dir`.
fn knot_head(ip: &str, dir: &Path) -> String {
    format!(
        "server:\n  listen: {ip}@53\n  rundir: {d}\n  user: root\ndatabase:\n  storage: {d}\ncontrol:\n  listen: {d}/knot.sock\nlog:\n  - target: {d}/knot.log\n    any: info\n",
        d = dir.display()
    )
}

/// Knot at `ip` as a secondary of `zone` from `primary` with `key`,
/// taking its NOTIFY, keeping differences (it asks IXFR once it has the
/// zone), letting anyone with the key transfer its copy.
pub fn knot_secondary_of(ns: &Netns, f: &Follows) -> Daemon {
    let Follows {
        ip,
        primary,
        zone,
        key,
    } = *f;
    let dir = dir_of(ns, &format!("knot-{ip}"));
    let (k, secret) = key;
    let conf = format!(
        "{}key:\n  - id: {k}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: primary\n    address: {primary}@53\n    key: {k}\nacl:\n  - id: notify\n    address: {primary}\n    key: {k}\n    action: notify\n  - id: xfr\n    key: {k}\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: changes\nzone:\n  - domain: {zone}\n    master: primary\n    acl: [notify, xfr]\n",
        knot_head(ip, &dir),
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// Knot at `ip` as a catalog consumer (`catalog-role: interpret`) of
/// `zone` from `primary` with `key`: its members from the same primary
/// with the same key, NOTIFYs taken from it.
pub fn knot_catalog_consumer(ns: &Netns, f: &Follows) -> Daemon {
    let Follows {
        ip,
        primary,
        zone,
        key: (k, secret),
    } = *f;
    let dir = dir_of(ns, &format!("knotcat-{ip}"));
    let conf = format!(
        "{}key:\n  - id: {k}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: primary\n    address: {primary}@53\n    key: {k}\nacl:\n  - id: notify\n    address: {primary}\n    key: {k}\n    action: notify\ntemplate:\n  - id: default\n    storage: {d}\n  - id: member\n    storage: {d}\n    master: primary\n    acl: notify\nzone:\n  - domain: {zone}\n    master: primary\n    acl: notify\n    catalog-role: interpret\n    catalog-template: member\n",
        knot_head(ip, &dir),
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// The rcode `ip` answers `name` A with (dig's `status:`).
pub fn status_at(ns: &Netns, ip: &str, name: &str) -> String {
    let out = dig_at(ns, ip, &[name, "A"]);
    out.split("status: ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap_or("no answer")
        .to_string()
}

/// Wait until `ip` answers `name` A with rcode `want`.
pub fn wait_status(ns: &Netns, ip: &str, name: &str, want: &str) {
    let end = Instant::now() + T;
    while status_at(ns, ip, name) != want {
        if Instant::now() > end {
            let full = dig_at(ns, ip, &[name, "A"]);
            panic!("{ip} never answered {name} with {want}: {full}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// Knot at 10.0.42.1 as the primary of `zone` (file `text`), keeping
/// differences of its zone file edits, NOTIFYing `notify` (addresses)
/// with `key` and letting the key transfer.
pub fn knot_primary_of(ns: &Netns, p: &Served) -> Daemon {
    let Served {
        zone, notify, key, ..
    } = *p;
    let dir = p.dir(ns, "knotpri");
    let (k, secret) = key;
    let mut remotes = String::new();
    for ip in notify {
        remotes.push_str(&format!(
            "  - id: r{ip}\n    address: {ip}@53\n    key: {k}\n"
        ));
    }
    let ids: Vec<String> = notify.iter().map(|ip| format!("r{ip}")).collect();
    let conf = format!(
        "{}key:\n  - id: {k}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n{remotes}acl:\n  - id: xfr\n    key: {k}\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: changes\n    zonefile-load: difference\nzone:\n  - domain: {zone}\n    file: {zone}.zone\n    acl: xfr\n    notify: [{}]\n",
        knot_head("10.0.42.1", &dir),
        ids.join(", "),
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// Make the Knot primary `knot` load its edited zone file (and NOTIFY).
pub fn knot_reload(ns: &Netns, knot: &Daemon, zone: &str) {
    let conf = knot.dir.join("knot.conf");
    let out = run_in(
        ns,
        "knotc",
        &["-c", conf.to_str().unwrap(), "zone-reload", zone],
    );
    assert!(out.contains("OK"), "knotc zone-reload: {out}");
}

/// The NSD sections every NSD here shares: listen on `ip`, files and log
/// in `dir`, key `key`.
fn nsd_head(ip: &str, dir: &Path, key: (&str, &str)) -> String {
    format!(
        "server:\n  ip-address: {ip}\n  port: 53\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  logfile: \"{d}/nsd.log\"\n  verbosity: 2\n  rrl-ratelimit: 0\nremote-control:\n  control-enable: no\nkey:\n  name: \"{}\"\n  algorithm: hmac-sha256\n  secret: \"{}\"\n",
        key.0,
        key.1,
        d = dir.display()
    )
}

/// NSD at 10.0.42.1 as the primary of `zone` (file `text`), NOTIFYing
/// `notify` and letting the bridge transfer, all with `key`.
pub fn nsd_primary_of(ns: &Netns, p: &Served) -> Daemon {
    let Served {
        zone, notify, key, ..
    } = *p;
    let dir = p.dir(ns, "nsdpri");
    let mut conf = nsd_head("10.0.42.1", &dir, key);
    conf.push_str(&format!(
        "zone:\n  name: {zone}\n  zonefile: {zone}.zone\n  provide-xfr: 10.0.42.0/24 {}\n",
        key.0
    ));
    for ip in notify {
        conf.push_str(&format!("  notify: {ip} {}\n", key.0));
    }
    spawn_nsd(ns, dir, &conf, false)
}

/// NSD at `ip` as a secondary of `zone` from `primary` with `key`.
pub fn nsd_secondary_of(ns: &Netns, f: &Follows) -> Daemon {
    let Follows {
        ip,
        primary,
        zone,
        key,
    } = *f;
    let dir = dir_of(ns, &format!("nsd-{ip}"));
    let mut conf = nsd_head(ip, &dir, key);
    conf.push_str(&format!(
        "zone:\n  name: {zone}\n  zonefile: {zone}.zone\n  request-xfr: {primary} {k}\n  allow-notify: {primary} {k}\n  provide-xfr: 10.0.42.0/24 {k}\n",
        k = key.0
    ));
    spawn_nsd(ns, dir, &conf, false)
}

/// Signal `sig` to a daemon we started.
pub fn signal(d: &Daemon, sig: &str) {
    let st = std::process::Command::new("kill")
        .args([sig, &d.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "kill {sig}");
}

/// named (BIND) at 10.0.42.1 as the primary of `zone` (file `text`),
/// keeping differences (real IXFR), NOTIFYing `notify` and letting the
/// key transfer.
pub fn bind_primary_of(ns: &Netns, p: &Served) -> Daemon {
    let Served {
        zone, notify, key, ..
    } = *p;
    let dir = p.dir(ns, "bindpri");
    let d = dir.display();
    let (k, secret) = key;
    let also: String = notify
        .iter()
        .map(|ip| format!("{ip} key \"{k}\"; "))
        .collect();
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  listen-on port 53 {{ 10.0.42.1; }};\n  listen-on-v6 {{ none; }};\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  recursion no;\n  dnssec-validation no;\n  notify explicit;\n  ixfr-from-differences yes;\n  also-notify {{ {also}}};\n}};\nkey \"{k}\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\nzone \"{zone}\" {{ type primary; file \"{d}/{zone}.zone\"; allow-transfer {{ key \"{k}\"; }}; }};\n"
    );
    spawn_named(ns, dir, &conf)
}

/// named in `ns` with `conf` written to `dir`, in the foreground.
fn spawn_named(ns: &Netns, dir: std::path::PathBuf, conf: &str) -> Daemon {
    std::fs::write(dir.join("named.conf"), conf).unwrap();
    let child = ns
        .command("/usr/sbin/named")
        .arg("-f")
        .arg("-c")
        .arg(dir.join("named.conf"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("named");
    Daemon {
        child,
        dir,
        port: 53,
    }
}

/// Make named reload its edited zone file `file` (it reloads a file only
/// when its time moved past the last load) and NOTIFY.
pub fn bind_reload(named: &Daemon, file: &Path) {
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    let f = std::fs::File::options().write(true).open(file).unwrap();
    f.set_modified(later).unwrap();
    signal(named, "-HUP");
}

/// named at `ip` as a catalog consumer (`catalog-zones`) of `catalog`
/// from `primary` with `key`: member zones are added from the catalog
/// with `primary` as their primary and the same key. Its log in
/// `named.log`.
pub fn bind_catalog_consumer(ns: &Netns, f: &Follows) -> Daemon {
    let Follows {
        ip,
        primary,
        zone: catalog,
        key,
    } = *f;
    let dir = dir_of(ns, &format!("bindcat-{ip}"));
    let d = dir.display();
    let (k, secret) = key;
    let from = format!("{{ {primary} key \"{k}\"; }}");
    let conf = format!(
        "options {{\n  directory \"{d}\";\n  listen-on port 53 {{ {ip}; }};\n  listen-on-v6 {{ none; }};\n  pid-file \"{d}/named.pid\";\n  session-keyfile \"{d}/session.key\";\n  managed-keys-directory \"{d}\";\n  recursion no;\n  dnssec-validation no;\n  notify no;\n  allow-new-zones yes;\n  catalog-zones {{ zone \"{catalog}\" default-primaries {from} min-update-interval 1; }};\n}};\nlogging {{ channel f {{ file \"{d}/named.log\"; severity info; print-time yes; }}; category default {{ f; }}; category xfer-in {{ f; }}; category notify {{ f; }}; }};\nkey \"{k}\" {{ algorithm hmac-sha256; secret \"{secret}\"; }};\nzone \"{catalog}\" {{ type secondary; file \"{d}/catalog.db\"; primaries {from}; }};\n"
    );
    spawn_named(ns, dir, &conf)
}

/// pdnsutil on the database of the PowerDNS in `dir`; panics on failure.
fn pdnsutil(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("pdnsutil")
        .arg(format!("--config-dir={}", dir.display()))
        .args(args)
        .output()
        .expect("pdnsutil");
    assert!(out.status.success(), "pdnsutil {args:?}: {out:?}");
}

/// PowerDNS (gsqlite3 backend) at `ip` as a catalog consumer of `catalog`
/// from `primary`, the catalog's transfers signed with `key` (PowerDNS
/// 4.7's members adopt the consumer zone's primaries but not its TSIG
/// key). Its log on stderr goes to `pdns.log`.
pub fn pdns_catalog_consumer(ns: &Netns, f: &Follows) -> Daemon {
    let Follows {
        ip,
        primary,
        zone: catalog,
        key,
    } = *f;
    let dir = dir_of(ns, &format!("pdnscat-{ip}"));
    let d = dir.display();
    let conf = format!(
        "launch=gsqlite3\ngsqlite3-database={d}/pdns.sqlite3\nlocal-address={ip}\nlocal-port=53\nsecondary=yes\nsocket-dir={d}\ndaemon=no\nguardian=no\nwebserver=no\napi=no\nxfr-cycle-interval=1\nloglevel=6\n"
    );
    std::fs::write(dir.join("pdns.conf"), conf).unwrap();
    let schema = "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql";
    let st = std::process::Command::new("sqlite3")
        .arg(dir.join("pdns.sqlite3"))
        .arg(format!(".read {schema}"))
        .status()
        .expect("sqlite3");
    assert!(st.success(), "sqlite3 schema");
    pdnsutil(&dir, &["create-secondary-zone", catalog, primary]);
    pdnsutil(&dir, &["set-kind", catalog, "consumer"]);
    pdnsutil(&dir, &["import-tsig-key", key.0, "hmac-sha256", key.1]);
    pdnsutil(&dir, &["set-meta", catalog, "AXFR-MASTER-TSIG", key.0]);
    let log = std::fs::File::create(dir.join("pdns.log")).unwrap();
    let child = ns
        .command("pdns_server")
        .arg(format!("--config-dir={d}"))
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()
        .expect("pdns_server");
    Daemon {
        child,
        dir,
        port: 53,
    }
}
