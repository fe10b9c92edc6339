//! Hostile traffic (issue 24): malformed and mutated messages, floods,
//! idle, slow, non-reading and garbage TCP clients, connect churn, bad
//! length prefixes and EDNS edge cases, sent to the booted image and, in
//! the same test, to NSD as the control. After every step a normal client
//! must get a UDP and a TCP answer within a second from each server; a
//! step NSD fails is a wrong step, not a finding.
//!
//! Both servers sit in one namespace: gitns (VM) at 10.0.0.2 behind the
//! tap, NSD at 10.0.0.1. The probe sends from 10.0.0.1 (the normal client)
//! and from 10.9.0.1-40, extra addresses of the namespace that gitns
//! reaches through its gateway 10.0.0.1.

mod common;
#[path = "hostile/steps.rs"]
mod steps;
#[path = "hostile/wire.rs"]
mod wire;

use common::*;
use std::net::Ipv4Addr;
use std::time::Duration;

const SOURCES: u8 = 40;

/// NSD on 10.0.0.1:53 in `ns` serving the probe's zone, without response
/// rate limiting and with room for the probe's 1000 connections (past
/// half of `tcp-count` NSD shortens its TCP timeout to 200 ms).
fn start_nsd(ns: &Netns) -> Daemon {
    let dir = peer_dir("hostile-nsd");
    std::fs::write(dir.join(wire::ZONE), wire::zone_text()).unwrap();
    let conf = format!(
        "server:\n  ip-address: 10.0.0.1\n  port: 53\n  server-count: 1\n  tcp-count: 2500\n  username: \"\"\n  zonesdir: \"{d}\"\n  pidfile: \"{d}/nsd.pid\"\n  database: \"\"\n  xfrdfile: \"{d}/xfrd.state\"\n  zonelistfile: \"{d}/zone.list\"\n  rrl-ratelimit: 0\n  verbosity: 1\nremote-control:\n  control-enable: no\nzone:\n  name: {z}\n  zonefile: {z}\n",
        d = dir.display(),
        z = wire::ZONE
    );
    spawn_nsd(ns, dir, &conf, true)
}

/// The probe against `server`: Err(step, why) at the first failure.
fn probe(server: Ipv4Addr) -> Result<(), (&'static str, String)> {
    let ctx = steps::Ctx {
        server,
        sources: (1..=SOURCES).map(|i| Ipv4Addr::new(10, 9, 0, i)).collect(),
    };
    let limit = Duration::from_secs(1);
    // The server is up before the first step.
    let start = std::time::Instant::now();
    while wire::udp_answer(server, 1, limit).is_err() {
        if start.elapsed() > Duration::from_secs(20) {
            return Err(("start", "no answer".into()));
        }
    }
    for (n, step) in steps::STEPS.iter().enumerate() {
        eprintln!("  {server}: {}", step.name);
        let id = 1000 + n as u16 * 2;
        let mut checks = 0;
        let mut check = || {
            checks += 1;
            wire::udp_answer(server, id, limit).map_err(|e| format!("UDP: {e}"))?;
            wire::tcp_answer(server, id + 1, limit).map_err(|e| format!("TCP: {e}"))
        };
        (step.run)(&ctx, &mut check).map_err(|e| (step.name, e))?;
        if checks != 1 {
            return Err((step.name, format!("the step checked {checks} times")));
        }
        // Once what it held is closed, the server still answers.
        wire::udp_answer(server, id, limit)
            .and_then(|_| wire::tcp_answer(server, id + 1, limit))
            .map_err(|e| (step.name, format!("after the step ended: {e}")))?;
    }
    Ok(())
}

#[test]
fn hostile_traffic_against_gitns_and_nsd() {
    let t = "hostile_traffic_against_gitns_and_nsd";
    if !kvm_or_skip(t) || !netns_or_skip(t) || !needs(t, have_program("nsd"), "nsd") {
        return;
    }
    // 1000 held connections per server and the checks' own.
    let lim = libc::rlimit {
        rlim_cur: 8192,
        rlim_max: 8192,
    };
    // SAFETY: setrlimit reads the struct we pass; no other effect.
    assert_eq!(unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) }, 0);
    let ns = netns(t);
    for i in 1..=SOURCES {
        run_in(
            &ns,
            "ip",
            &["addr", "add", &format!("10.9.0.{i}/32"), "dev", &ns.tap],
        );
    }
    let zone = wire::zone_text();
    let guest = Guest::boot_with_zones(
        &ns,
        &[(wire::ZONE, &zone)],
        // Rate limiting off, as the NSD control's (`rrl-ratelimit: 0`):
        // the floods come from the checking client's own /24, and a
        // limited answer is meant to be dropped (tests/edns.rs tests RRL).
        &["--ipv4=10.0.0.2/24", "--ipv4-gateway=10.0.0.1", "--rrl=0"],
    );
    guest.wait_for("ready", Duration::from_secs(30));
    let _nsd = start_nsd(&ns);
    for (name, ip) in [("NSD", [10, 0, 0, 1]), ("gitns", [10, 0, 0, 2])] {
        let server = Ipv4Addr::from(ip);
        match ns.run_in(move || probe(server)).expect("probe thread") {
            Ok(()) => {}
            Err((step, e)) if name == "NSD" => {
                panic!("step `{step}` is wrong: NSD (the control) fails it: {e}")
            }
            Err((step, e)) => panic!(
                "gitns after step `{step}`: {e}\nguest output:\n{}",
                guest.output()
            ),
        }
    }
    let out = guest.output();
    assert!(!out.contains("panicked"), "guest output:\n{out}");
}
