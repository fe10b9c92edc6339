//! One dead on-link address must not stop a server's UDP: a query spoofed
//! from an address of the server's subnet that nobody answers ARP for
//! (or a client that asked and went away) is sent to the booted image and,
//! as the control, to NSD behind a veth; the real client's next queries
//! must each be answered within a second. (smoltcp keeps a datagram to an
//! unresolved neighbour at the head of its socket; gitns holds such
//! datagrams in net/'s neighbour table instead.)
//!
//! The dead address sits on the namespace's `lo` with `arp_ignore=1` on the
//! link, so the namespace's kernel sends from it but answers no ARP for it;
//! `arp_announce=2` keeps it out of the kernel's own ARP requests.
//! The NOTIFY side is tests/secondary_interop.rs::
//! a_secondary_that_is_down_holds_back_no_notify.

mod common;
#[allow(dead_code)]
#[path = "hostile/wire.rs"]
mod wire;

use common::*;
use std::net::{Ipv4Addr, UdpSocket};
use std::time::{Duration, Instant};

/// Make `dead` an address of `ns` that the link `dev` never hears of.
fn dead_neighbour(ns: &Netns, dev: &str, dead: &str) {
    for (key, v) in [("arp_ignore", "1"), ("arp_announce", "2")] {
        for on in ["all", dev] {
            let out = run_in(
                ns,
                "sysctl",
                &["-qw", &format!("net.ipv4.conf.{on}.{key}={v}")],
            );
            assert!(out.trim().is_empty(), "sysctl {on}.{key}: {out}");
        }
    }
    run_in(
        ns,
        "ip",
        &["addr", "add", &format!("{dead}/32"), "dev", "lo"],
    );
}

/// One query from `from` to `server`:53; how long its answer took, or why
/// none came within `limit`.
fn ask(from: Ipv4Addr, server: Ipv4Addr, id: u16, limit: Duration) -> Result<Duration, String> {
    let s = UdpSocket::bind((from, 0)).map_err(|e| format!("bind {from}: {e}"))?;
    let q = wire::query(id, &format!("www.{}", wire::ZONE), 1);
    let start = Instant::now();
    s.send_to(&q, (server, 53)).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(format!(
                "no answer to id {id} from {server} within {limit:?}"
            ));
        }
        s.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match s.recv_from(&mut buf) {
            Ok((n, _)) if n >= 12 && buf[..2] == id.to_be_bytes() => return Ok(start.elapsed()),
            Ok(_) => {}
            Err(_) => {}
        }
    }
}

/// The check, run inside the client's namespace: the server answers, then
/// gets three queries from `dead`, then must answer `client` five times,
/// each within a second, and again once the dead neighbour is given up.
fn spoofed_then_answered(client: Ipv4Addr, server: Ipv4Addr, dead: Ipv4Addr) -> Result<(), String> {
    let up = Instant::now();
    while ask(client, server, 1, Duration::from_millis(500)).is_err() {
        if up.elapsed() > Duration::from_secs(20) {
            return Err(format!("{server} never answered {client}"));
        }
    }
    let spoof = UdpSocket::bind((dead, 0)).map_err(|e| format!("bind {dead}: {e}"))?;
    for id in 100..103u16 {
        let q = wire::query(id, &format!("www.{}", wire::ZONE), 1);
        spoof.send_to(&q, (server, 53)).map_err(|e| e.to_string())?;
    }
    for id in 200..205u16 {
        let took = ask(client, server, id, Duration::from_secs(1))
            .map_err(|e| format!("after the query from {dead}: {e}"))?;
        eprintln!("{server}: answer {id} after the spoofed queries in {took:?}");
    }
    std::thread::sleep(Duration::from_millis(1500));
    ask(client, server, 300, Duration::from_secs(1)).map(|_| ())
}

/// NSD at 10.1.0.2 in its own namespace, on a veth to `ns` (10.1.0.1).
fn nsd_behind_veth(ns: &Netns) -> (Netns, Daemon) {
    let side = netns("neighnsd");
    let (a, b) = ("nbr-a", "nbr-b");
    let ip = |args: &[&str]| {
        let st = std::process::Command::new("ip")
            .args(args)
            .status()
            .expect("ip");
        assert!(st.success(), "ip {args:?}");
    };
    ip(&[
        "link", "add", a, "netns", &ns.name, "type", "veth", "peer", "name", b, "netns", &side.name,
    ]);
    run_in(ns, "ip", &["addr", "add", "10.1.0.1/24", "dev", a]);
    run_in(ns, "ip", &["link", "set", a, "up"]);
    run_in(&side, "ip", &["addr", "add", "10.1.0.2/24", "dev", b]);
    run_in(&side, "ip", &["link", "set", b, "up"]);
    let dir = peer_dir("neighbour-nsd");
    std::fs::write(dir.join(wire::ZONE), wire::zone_text()).unwrap();
    let conf = format!(
        "server:\n  ip-address: 10.1.0.2\n  port: 53\n  server-count: 1\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  rrl-ratelimit: 0\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: {z}\n  zonefile: {z}\n",
        d = dir.display(),
        z = wire::ZONE
    );
    let nsd = spawn_nsd(&side, dir, &conf, false);
    (side, nsd)
}

#[test]
fn a_query_from_a_dead_on_link_address_stops_no_udp_answer() {
    let t = "a_query_from_a_dead_on_link_address_stops_no_udp_answer";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("nsd"), "nsd") {
        return;
    }
    let ns = netns(t);
    let zone = wire::zone_text();
    let guest = Guest::boot_with_zones(
        &ns,
        &[(wire::ZONE, &zone)],
        &["--ipv4=10.0.0.2/24", "--rrl=0"],
    );
    guest.wait_for("ready", Duration::from_secs(30));
    let (_side, _nsd) = nsd_behind_veth(&ns);
    dead_neighbour(&ns, &ns.tap, "10.0.0.77");
    dead_neighbour(&ns, "nbr-a", "10.1.0.77");
    let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
    let control = (ip("10.1.0.1"), ip("10.1.0.2"), ip("10.1.0.77"));
    let r = ns.run_in(move || spoofed_then_answered(control.0, control.1, control.2));
    if let Err(e) = r.expect("namespace thread") {
        panic!("the check is wrong: NSD (the control) fails it: {e}");
    }
    let gitns = (ip("10.0.0.1"), ip("10.0.0.2"), ip("10.0.0.77"));
    let r = ns.run_in(move || spoofed_then_answered(gitns.0, gitns.1, gitns.2));
    let out = guest.output();
    if let Err(e) = r.expect("namespace thread") {
        panic!("gitns: {e}\nguest output:\n{out}");
    }
    assert!(!out.contains("panicked"), "guest output:\n{out}");
}
