//! The same image as a secondary (issue 23), as seed 001 runs it: a gitns
//! primary VM at 10.0.42.2 and `gitns.hvt --ipv4=10.0.42.3/24
//! --keys=10.0.42.2.10.0.42.3._update.mirage:SHA256:SECRET` verbatim, both
//! on one bridge (10.0.42.1 is the host side). The secondary transfers the
//! zone (AXFR, then IXFR on the primary's NOTIFY after an UPDATE), serves
//! it, answers UPDATE with NOTAUTH, keeps it on its storage cache across a
//! reboot with the primary gone, and transfers from Knot as the primary.
//! A Knot secondary of the same primary is the control: both copies equal
//! the primary's AXFR.

mod common;
use common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);
/// The seed's secrets (seed 001).
const PERSONAL: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
const SECRET: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
const SEC_KEY: &str = "10.0.42.2.10.0.42.3._update.mirage";

/// The seed's zone.
fn mirage(serial: u32) -> String {
    format!("$ORIGIN mirage.\n$TTL 3600\n@ SOA ns1 hostmaster {serial} 86400 7200 1048576 3600\n@ NS ns1\nns1 A 127.0.0.1\nwww A 1.1.1.1\nMixed CNAME WWW.mirage.\n")
}

fn keys() -> String {
    format!("personal._update.mirage. DNSKEY 0 3 163 {PERSONAL}\n{SEC_KEY}. DNSKEY 0 3 163 {SECRET}\n10.0.42.2.10.0.42.1._transfer.mirage. DNSKEY 0 3 163 {SECRET}\n")
}

/// The seed's network: a bridge with the host at 10.0.42.1 and two taps.
fn bridge(ns: &Netns) {
    for cmd in [
        "ip addr del 10.0.0.1/24 dev tap0",
        "ip link add br0 type bridge",
        "ip tuntap add dev tap1 mode tap",
        "ip link set tap0 master br0",
        "ip link set tap1 master br0",
        "ip addr add 10.0.42.1/24 dev br0",
        "ip link set br0 up",
        "ip link set tap1 up",
    ] {
        let args: Vec<&str> = cmd.split(' ').collect();
        let out = ns.command(args[0]).args(&args[1..]).output().unwrap();
        assert!(out.status.success(), "{cmd}: {out:?}");
    }
}

/// Boot on `tap` (the storage image when `dev` is given).
fn boot(ns: &Netns, tap: &str, dev: Option<&Path>, args: &[&str]) -> Guest {
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

fn at(ns: &Netns, server: &str, args: &[&str]) -> String {
    let mut a = vec![server, "+time=1", "+tries=1"];
    a.extend_from_slice(args);
    run_in(ns, "dig", &a)
}

/// Wait until `dig @server name type +short` prints `want`.
fn wait_answer(ns: &Netns, server: &str, name: &str, rtype: &str, want: &str) {
    let end = Instant::now() + T;
    loop {
        let out = at(ns, server, &[name, rtype, "+short"]);
        if out.contains(want) {
            return;
        }
        if Instant::now() > end {
            let full = at(ns, server, &[name, rtype]);
            panic!("{server} never answered {name} {rtype} with {want}: {full}");
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The zone as `server` transfers it (signed with `key`), one sorted
/// line per record, names lowercased only where DNS says case does not
/// matter is not assumed: as printed.
fn axfr(ns: &Netns, server: &str, key: &str) -> Vec<String> {
    let y = format!("hmac-sha256:{key}:{SECRET}");
    let out = at(
        ns,
        server,
        &[
            "mirage",
            "AXFR",
            "-y",
            &y,
            "+nocmd",
            "+nostats",
            "+nocomments",
        ],
    );
    let mut lines: Vec<String> = out
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with(';') && !l.contains("TSIG"))
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines.dedup();
    assert!(lines.len() >= 5, "{server}: {out}");
    lines
}

/// Knot keeps names in lower case (its AXFR prints `mixed.mirage. CNAME
/// www.mirage.`): a Knot control is compared without case.
fn lower(v: &[String]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|l| l.to_lowercase()).collect();
    v.sort();
    v
}

fn vm(test: &str) -> bool {
    kvm_or_skip(test) && netns_or_skip(test) && needs(test, have_program("knotd"), "knotd")
}

#[test]
fn seed_001_secondary_of_a_gitns_primary() {
    if !vm("seed_001_secondary_of_a_gitns_primary") {
        return;
    }
    let ns = netns("sec001");
    bridge(&ns);
    let zones = [("mirage", mirage(1)), ("mirage._keys", keys())];
    let zones: Vec<(&str, &str)> = zones.iter().map(|(a, b)| (*a, b.as_str())).collect();
    let primary_dev = zone_device(&ns, &zones);
    let primary = boot(&ns, "tap0", Some(&primary_dev), &["--ipv4=10.0.42.2/24"]);
    primary.wait_for(" ready", T);
    // The seed's command line, verbatim (gitns.hvt for secondary.hvt).
    let seed = format!("--keys={SEC_KEY}:SHA256:{SECRET}");
    let secondary = boot(&ns, "tap1", None, &["--ipv4=10.0.42.3/24", &seed]);
    wait_answer(&ns, "@10.0.42.3", "www.mirage", "A", "1.1.1.1");
    secondary.wait_for("AXFR to serial 1", T);
    // The control: Knot as a secondary of the same primary.
    let knot = knot_follows(&ns, "10.0.42.2", "10.0.42.2.10.0.42.1._transfer.mirage");
    wait_answer(&ns, "@10.0.42.1", "www.mirage", "A", "1.1.1.1");
    let reference = axfr(&ns, "@10.0.42.2", SEC_KEY);
    assert_eq!(
        axfr(&ns, "@10.0.42.3", SEC_KEY),
        reference,
        "gitns secondary"
    );
    let knot_copy = axfr(&ns, "@10.0.42.1", "10.0.42.2.10.0.42.1._transfer.mirage");
    assert_eq!(lower(&knot_copy), lower(&reference), "Knot");
    assert!(
        reference.iter().any(|l| l.contains("CNAME WWW.mirage.")),
        "{reference:?}"
    );

    // The seed's UPDATE at the primary: it NOTIFYs, the secondary takes
    // the difference by IXFR.
    let y = format!("hmac-sha256:personal._update.mirage:{PERSONAL}");
    let (ok, out) = nsupdate(
        &ns,
        &["-y", &y],
        "server 10.0.42.2\nzone mirage\nupdate add foo.mirage 3600 A 1.2.3.4\nsend\n",
    );
    assert!(ok, "{out}");
    wait_answer(&ns, "@10.0.42.3", "foo.mirage", "A", "1.2.3.4");
    secondary.wait_for("IXFR to serial 2", T);
    wait_answer(&ns, "@10.0.42.1", "foo.mirage", "A", "1.2.3.4");
    let reference = axfr(&ns, "@10.0.42.2", SEC_KEY);
    assert_eq!(axfr(&ns, "@10.0.42.3", SEC_KEY), reference);
    // The secondary serves IXFR from its own copy.
    let ixfr = at(
        &ns,
        "@10.0.42.3",
        &[
            "mirage",
            "IXFR=1",
            "-y",
            &format!("hmac-sha256:{SEC_KEY}:{SECRET}"),
        ],
    );
    assert!(
        ixfr.contains("foo.mirage.") && ixfr.contains("1.2.3.4"),
        "{ixfr}"
    );

    // An UPDATE sent to the secondary: NOTAUTH, nothing changes.
    let (_, out) = nsupdate(
        &ns,
        &["-y", &format!("hmac-sha256:{SEC_KEY}:{SECRET}")],
        "server 10.0.42.3\nzone mirage\nupdate add bar.mirage 3600 A 1.2.3.5\nsend\n",
    );
    assert!(out.contains("NOTAUTH"), "{out}");
    assert!(at(&ns, "@10.0.42.2", &["bar.mirage", "A", "+short"])
        .trim()
        .is_empty());
    drop(knot);
    drop(secondary);
    drop(primary);
}

/// Knot at 10.0.42.1 following mirage from `primary` with `key`.
fn knot_follows(ns: &Netns, primary: &str, key: &str) -> Daemon {
    knot_follows_at(ns, "10.0.42.1", primary, key)
}

/// Knot at `listen` following mirage from `primary` with `key`.
fn knot_follows_at(ns: &Netns, listen: &str, primary: &str, key: &str) -> Daemon {
    let dir = peer_dir(&format!("{}-knotsec-{listen}", ns.name));
    let conf = format!(
        "server:\n  listen: {listen}@53\n  rundir: {d}\n  user: root\ndatabase:\n  storage: {d}\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: {primary}@53\n    key: {key}\nacl:\n  - id: notify\n    address: {primary}\n    key: {key}\n    action: notify\n  - id: xfr\n    key: {key}\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: none\nzone:\n  - domain: mirage\n    master: primary\n    acl: [notify, xfr]\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// Knot at 10.0.42.1 as the primary of mirage (file `text`), NOTIFYing
/// 10.0.42.3 and letting it transfer with the seed-form key.
fn knot_primary(ns: &Netns, text: &str) -> Daemon {
    knot_primary_keyed(ns, text, SECRET)
}

/// [`knot_primary`] with the key's secret `secret`.
fn knot_primary_keyed(ns: &Netns, text: &str, secret: &str) -> Daemon {
    let dir = peer_dir(&format!("{}-knotpri", ns.name));
    std::fs::write(dir.join("mirage.zone"), text).unwrap();
    let key = "10.0.42.1.10.0.42.3._transfer.mirage";
    let conf = format!(
        "server:\n  listen: 10.0.42.1@53\n  rundir: {d}\n  user: root\ndatabase:\n  storage: {d}\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: secondary\n    address: 10.0.42.3@53\n    key: {key}\nacl:\n  - id: xfr\n    key: {key}\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: all\n    zonefile-load: difference\nzone:\n  - domain: mirage\n    file: mirage.zone\n    acl: xfr\n    notify: secondary\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// The Knot primary's zone becomes `text` (a raised serial): reloaded,
/// it NOTIFYs.
fn knot_change(ns: &Netns, knot: &Daemon, text: &str) {
    std::fs::write(knot.dir.join("mirage.zone"), text).unwrap();
    let conf = knot.dir.join("knot.conf");
    let conf = conf.to_str().unwrap();
    let out = run_in(ns, "knotc", &["-c", conf, "zone-reload", "mirage"]);
    assert!(out.contains("OK"), "{out}");
}

#[test]
fn secondary_of_knot_kept_across_a_reboot() {
    if !vm("secondary_of_knot_kept_across_a_reboot") {
        return;
    }
    let ns = netns("secknot");
    bridge(&ns);
    let knot = knot_primary(&ns, &mirage(10));
    let key = format!("--keys=10.0.42.1.10.0.42.3._transfer.mirage:SHA256:{SECRET}");
    let dev = zone_device(&ns, &[("_keys", "")]);
    let args = ["--ipv4=10.0.42.3/24", key.as_str()];
    let g = boot(&ns, "tap1", Some(&dev), &args);
    wait_answer(&ns, "@10.0.42.3", "www.mirage", "A", "1.1.1.1");
    g.wait_for("AXFR to serial 10", T);
    // A change at Knot: its NOTIFY, the difference by IXFR.
    knot_change(&ns, &knot, &(mirage(11) + "new A 192.0.2.11\n"));
    wait_answer(&ns, "@10.0.42.3", "new.mirage", "A", "192.0.2.11");
    g.wait_for("IXFR to serial 11", T);
    // The primary goes away, the secondary reboots: it serves its copy
    // from the storage cache at once.
    drop(knot);
    drop(g);
    let g = boot(&ns, "tap1", Some(&dev), &args);
    g.wait_for(" ready", T);
    let out = at(&ns, "@10.0.42.3", &["new.mirage", "A", "+short"]);
    assert!(out.contains("192.0.2.11"), "{out}");
    let out = at(&ns, "@10.0.42.3", &["mirage", "SOA", "+short"]);
    assert!(out.contains(" 11 "), "{out}");
}

/// A small zone `origin` with `www` at `ip`.
fn small(origin: &str, ip: &str) -> String {
    format!("$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\nns A 10.0.42.2\nwww A {ip}\n")
}

#[test]
fn knot_follows_the_catalog_of_a_gitns_primary() {
    if !vm("knot_follows_the_catalog_of_a_gitns_primary") {
        return;
    }
    let ns = netns("seccat");
    bridge(&ns);
    // A root transfer key names Knot (10.0.42.1) a secondary of every zone,
    // the catalog included; a root update key lets the operator NOTIFY.
    let keys = format!("10.0.42.2.10.0.42.1._transfer. DNSKEY 0 3 163 {SECRET}\npersonal._update. DNSKEY 0 3 163 {PERSONAL}\n");
    let a = small("a.test", "192.0.2.1");
    let dev = zone_device(&ns, &[("a.test", &a), ("_keys", &keys)]);
    let args = ["--ipv4=10.0.42.2/24", "--catalog=catalog.invalid"];
    let g = boot(&ns, "tap0", Some(&dev), &args);
    g.wait_for(" ready", T);
    let key = "10.0.42.2.10.0.42.1._transfer";
    let dir = peer_dir(&format!("{}-knotcat", ns.name));
    let conf = format!(
        "server:\n  listen: 10.0.42.1@53\n  rundir: {d}\n  user: root\ndatabase:\n  storage: {d}\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: primary\n    address: 10.0.42.2@53\n    key: {key}\nacl:\n  - id: notify\n    address: 10.0.42.2\n    key: {key}\n    action: notify\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: none\n  - id: member\n    storage: {d}\n    journal-content: none\n    master: primary\n    acl: notify\nzone:\n  - domain: catalog.invalid\n    master: primary\n    acl: notify\n    catalog-role: interpret\n    catalog-template: member\n",
        d = dir.display()
    );
    let knot = spawn_knot(&ns, dir, &conf);
    // Knot knows only the catalog; it serves the member.
    wait_answer(&ns, "@10.0.42.1", "www.a.test", "A", "192.0.2.1");
    let version = at(
        &ns,
        "@10.0.42.2",
        &["version.catalog.invalid", "TXT", "+short"],
    );
    assert!(version.contains("\"2\""), "{version}");
    // A zone added at the source (the storage cache here, as a push does
    // with git): after the operator's NOTIFY the primary loads it, the
    // catalog's serial rises, Knot is NOTIFYed and follows the new member.
    let b = small("b.test", "192.0.2.2");
    zone_device(&ns, &[("a.test", &a), ("b.test", &b), ("_keys", &keys)]);
    let y = format!("hmac-sha256:personal._update:{PERSONAL}");
    let out = at(
        &ns,
        "@10.0.42.2",
        &["a.test", "SOA", "+opcode=notify", "+norec", "-y", &y],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    wait_answer(&ns, "@10.0.42.2", "www.b.test", "A", "192.0.2.2");
    wait_answer(&ns, "@10.0.42.1", "www.b.test", "A", "192.0.2.2");
    let ptrs = at(
        &ns,
        "@10.0.42.2",
        &[
            "catalog.invalid",
            "AXFR",
            "-y",
            &format!("hmac-sha256:{key}:{SECRET}"),
        ],
    );
    let members = ptrs
        .lines()
        .filter(|l| l.split_whitespace().nth(3) == Some("PTR"))
        .count();
    assert_eq!(members, 2, "{ptrs}");
    drop(knot);
}

/// The rcode `server` answers for `name` A (from dig's `status:` line).
fn status(ns: &Netns, server: &str, name: &str) -> String {
    let out = at(ns, server, &[name, "A"]);
    out.split("status: ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or("no answer")
        .to_string()
}

/// Wait until `server` answers `name` with `want` (an rcode name).
fn wait_status(ns: &Netns, server: &str, name: &str, want: &str) {
    let what = format!("{server} to answer {name} with {want}");
    eventually(&what, T, || status(ns, server, name) == want);
}

/// RFC 1035 3.3.13 / RFC 1034 4.3.5: a secondary whose primary is gone
/// for EXPIRE seconds stops answering for the zone: SERVFAIL, as the Knot
/// secondary of the same primary answers (the control), with a log line;
/// still SERVFAIL after a restart (no copy kept); once the primary is back
/// the retry timer transfers it again and it is served.
#[test]
fn an_expired_zone_is_servfail_until_the_primary_is_back() {
    if !vm("an_expired_zone_is_servfail_until_the_primary_is_back") {
        return;
    }
    let ns = netns("secexp");
    bridge(&ns);
    let out = ns
        .command("ip")
        .args(["addr", "add", "10.0.42.4/24", "dev", "br0"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    // refresh 2 s, retry 1 s, expire 6 s.
    let zone = mirage(5).replace("86400 7200 1048576 3600", "2 1 6 3600");
    let knot = knot_primary(&ns, &zone);
    let key = "10.0.42.1.10.0.42.3._transfer.mirage";
    let arg = format!("--keys={key}:SHA256:{SECRET}");
    let dev = zone_device(&ns, &[("_keys", "")]);
    let args = ["--ipv4=10.0.42.3/24", arg.as_str()];
    let g = boot(&ns, "tap1", Some(&dev), &args);
    let control = knot_follows_at(&ns, "10.0.42.4", "10.0.42.1", key);
    wait_answer(&ns, "@10.0.42.3", "www.mirage", "A", "1.1.1.1");
    wait_answer(&ns, "@10.0.42.4", "www.mirage", "A", "1.1.1.1");
    assert_eq!(status(&ns, "@10.0.42.3", "nothere.test"), "REFUSED");
    // The primary goes away: both secondaries expire the zone.
    drop(knot);
    wait_status(&ns, "@10.0.42.4", "www.mirage", "SERVFAIL");
    wait_status(&ns, "@10.0.42.3", "www.mirage", "SERVFAIL");
    g.wait_for("mirage.: expired", T);
    assert_eq!(status(&ns, "@10.0.42.3", "mirage"), "SERVFAIL", "apex");
    assert_eq!(status(&ns, "@10.0.42.3", "nothere.test"), "REFUSED");
    // Both restart with the primary still away: the zone they follow and
    // hold no copy of is SERVFAIL (not REFUSED), as soon as gitns has
    // taken up its storage cache.
    drop(g);
    drop(control);
    let g = boot(&ns, "tap1", Some(&dev), &args);
    let control = knot_follows_at(&ns, "10.0.42.4", "10.0.42.1", key);
    g.wait_for("mirage.: no copy yet", T);
    assert_eq!(status(&ns, "@10.0.42.3", "www.mirage"), "SERVFAIL");
    wait_status(&ns, "@10.0.42.4", "www.mirage", "SERVFAIL");
    // The primary comes back (a newer serial): served again.
    let zone = mirage(6).replace("86400 7200 1048576 3600", "2 1 6 3600");
    let knot = knot_primary(&ns, &(zone + "back A 192.0.2.6\n"));
    wait_answer(&ns, "@10.0.42.3", "back.mirage", "A", "192.0.2.6");
    wait_answer(&ns, "@10.0.42.4", "back.mirage", "A", "192.0.2.6");
    g.wait_for("AXFR to serial 6", T);
    drop(control);
    drop(knot);
}

/// A primary at 10.0.42.1:5300 in front of Knot (10.0.42.1:53): it passes
/// UDP and TCP through, or, while `cut` is set, sends the first half of a
/// TCP answer's first message and closes (a truncated transfer).
struct FakePrimary {
    cut: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
}

impl FakePrimary {
    fn start(ns: &Netns) -> FakePrimary {
        let cut = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, st) = (cut.clone(), stop.clone());
        let name = ns.name.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // Threads spawned in the namespace's thread stay in it.
        std::thread::spawn(move || {
            let r = xtask::netns::run_in_named(&name, move || {
                let udp = UdpSocket::bind("10.0.42.1:5300").unwrap();
                let tcp = TcpListener::bind("10.0.42.1:5300").unwrap();
                tx.send(()).unwrap();
                let s2 = st.clone();
                let u = std::thread::spawn(move || relay_udp(udp, &s2));
                accept_loop(tcp, &c, &st);
                let _ = u.join();
            });
            r.unwrap();
        });
        rx.recv_timeout(T).expect("fake primary bound");
        FakePrimary { cut, stop }
    }
}

impl Drop for FakePrimary {
    fn drop(&mut self) {
        self.stop.store(true, SeqCst);
    }
}

fn accept_loop(tcp: TcpListener, cut: &AtomicBool, stop: &AtomicBool) {
    tcp.set_nonblocking(true).unwrap();
    while !stop.load(SeqCst) {
        match tcp.accept() {
            Ok((c, _)) => {
                let cut = cut.load(SeqCst);
                std::thread::spawn(move || relay_tcp(c, cut));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn relay_udp(sock: UdpSocket, stop: &AtomicBool) {
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let up = UdpSocket::bind("10.0.42.1:0").unwrap();
    up.connect("10.0.42.1:53").unwrap();
    up.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
    let mut buf = vec![0u8; 65535];
    while !stop.load(SeqCst) {
        let Ok((n, from)) = sock.recv_from(&mut buf) else {
            continue;
        };
        let _ = up.send(&buf[..n]);
        if let Ok(m) = up.recv(&mut buf) {
            let _ = sock.send_to(&buf[..m], from);
        }
    }
}

/// One DNS message over TCP with its length prefix.
fn read_framed(s: &mut TcpStream) -> std::io::Result<Vec<u8>> {
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut m)?;
    Ok([&len[..], &m[..]].concat())
}

fn relay_tcp(mut client: TcpStream, cut: bool) {
    let _ = client.set_nonblocking(false);
    let Ok(mut up) = TcpStream::connect("10.0.42.1:53") else {
        return;
    };
    for s in [&client, &up] {
        let _ = s.set_read_timeout(Some(T));
    }
    if cut {
        // The request through, then half of the first answer message.
        let Ok(req) = read_framed(&mut client) else {
            return;
        };
        let _ = up.write_all(&req);
        if let Ok(ans) = read_framed(&mut up) {
            let _ = client.write_all(&ans[..ans.len() / 2]);
        }
        return;
    }
    let (mut c2, mut u2) = (client.try_clone().unwrap(), up.try_clone().unwrap());
    let t = std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut u2);
        let _ = u2.shutdown(std::net::Shutdown::Write);
    });
    let _ = std::io::copy(&mut up, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = t.join();
}

/// Wait until the guest's output after byte `from` contains `needle`.
fn wait_after(g: &Guest, from: usize, needle: &str) {
    let seen = || g.output().get(from..).is_some_and(|o| o.contains(needle));
    let end = Instant::now() + T;
    while !seen() {
        let out = g.output();
        assert!(
            Instant::now() < end,
            "no `{needle}` after byte {from}: {out}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `dig +short` of `name` `rtype` at the secondary.
fn short(ns: &Netns, name: &str, rtype: &str) -> String {
    at(ns, "@10.0.42.3", &[name, rtype, "+short"])
}

/// The mirage zone at `serial` with refresh 2 s, retry 1 s, expire 1 h.
fn quick(serial: u32, extra: &str) -> String {
    mirage(serial).replace("86400 7200 1048576 3600", "2 1 3600 3600") + extra
}

/// The secondary keeps serving its last good copy, and says why in a log
/// line, when the primary sends a truncated stream (a fake primary in
/// front of Knot cuts the answer), when the primary's key is not ours
/// (Knot restarted with another secret) and when the primary's serial
/// goes back (Knot restarted with an older zone). Each time the good path
/// (Knot through the fake primary passing everything) is shown first.
#[test]
fn bad_transfers_keep_the_last_good_copy() {
    if !vm("bad_transfers_keep_the_last_good_copy") {
        return;
    }
    let ns = netns("secbad");
    bridge(&ns);
    let knot = knot_primary(&ns, &quick(10, ""));
    let fake = FakePrimary::start(&ns);
    let key = format!("--keys=10.0.42.1.10.0.42.3._transfer.mirage:SHA256:{SECRET}");
    let args = [
        "--ipv4=10.0.42.3/24",
        key.as_str(),
        "--primary=10.0.42.1:5300",
    ];
    let g = boot(&ns, "tap1", None, &args);
    wait_answer(&ns, "@10.0.42.3", "www.mirage", "A", "1.1.1.1");
    g.wait_for("AXFR to serial 10", T);

    // A truncated stream: IXFR cut, AXFR cut, the copy at 10 stays.
    fake.cut.store(true, SeqCst);
    let from = g.output().len();
    knot_change(&ns, &knot, &quick(11, "new A 192.0.2.11\n"));
    wait_after(
        &g,
        from,
        "stream ended before the closing SOA; the last good copy stays",
    );
    assert!(short(&ns, "mirage", "SOA").contains(" 10 "));
    assert_eq!(short(&ns, "new.mirage", "A"), "");
    assert_eq!(short(&ns, "www.mirage", "A").trim(), "1.1.1.1");
    // The primary sends whole answers again: served on the next retry.
    fake.cut.store(false, SeqCst);
    wait_answer(&ns, "@10.0.42.3", "new.mirage", "A", "192.0.2.11");

    // The primary's key is not ours any more: NOTAUTH, the copy at 11 stays.
    drop(knot);
    let from = g.output().len();
    let knot = knot_primary_keyed(&ns, &quick(12, "gone A 192.0.2.12\n"), PERSONAL);
    wait_after(&g, from, "NOTAUTH (RCODE 9): it does not take our TSIG key");
    assert!(g.output()[from..].contains("the last good copy stays"));
    assert!(short(&ns, "mirage", "SOA").contains(" 11 "));
    assert_eq!(short(&ns, "new.mirage", "A").trim(), "192.0.2.11");
    assert_eq!(short(&ns, "gone.mirage", "A"), "");

    // The primary's serial goes back (a zone restored from an old copy):
    // ours is kept.
    drop(knot);
    let from = g.output().len();
    let knot = knot_primary(&ns, &quick(7, "old A 192.0.2.7\n"));
    wait_after(
        &g,
        from,
        "the primary's serial 7 is older than ours 11; keeping ours",
    );
    assert!(short(&ns, "mirage", "SOA").contains(" 11 "));
    assert_eq!(short(&ns, "old.mirage", "A"), "");
    assert_eq!(short(&ns, "new.mirage", "A").trim(), "192.0.2.11");
    drop(fake);
    drop(knot);
}
