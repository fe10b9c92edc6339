//! The gitns secondary (issue 23) with real peers on seed 001's network
//! (a bridge, the host side at 10.0.42.1, the image at 10.0.42.3 given
//! only `--keys` in the seed's form): NSD and BIND as its primary; Knot
//! and NSD as secondaries of it; an IXFR chain Knot -> gitns -> Knot.
//! Each step runs against a control built from peers only (a Knot
//! secondary beside gitns, of the same primary), so a failure says whose
//! fault it is; every copy is compared with the primary's own AXFR.
//! Refresh timers are a day long: only the NOTIFYs can bring a change in
//! time.

#[path = "common/chain.rs"]
mod chain;
mod common;
use chain::*;
use common::*;

const SECRET: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
/// The seed-form key: primary 10.0.42.1, secondary (gitns) 10.0.42.3.
const KEY: &str = "10.0.42.1.10.0.42.3._transfer.mirage";
/// The gitns guest.
const GITNS: &str = "10.0.42.3";
/// The control secondary (Knot, a host address).
const CONTROL: &str = "10.0.42.4";

/// The zone at `serial`; from serial 2 on it has `new` too.
fn mirage(serial: u32) -> String {
    let mut z = format!("$ORIGIN mirage.\n$TTL 3600\n@ SOA ns1 hostmaster {serial} 86400 7200 1048576 3600\n@ NS ns1\nns1 A 10.0.42.3\nwww A 1.1.1.1\nmail A 192.0.2.25\n@ MX 10 mail\ntxt TXT \"serial {serial}\"\n");
    for i in 0..200 {
        z.push_str(&format!("h{i} A 10.1.{}.{}\n", i / 250, i % 250));
    }
    if serial >= 2 {
        z.push_str(&format!("new A 192.0.2.{serial}\n"));
    }
    z
}

fn vm(test: &str, programs: &[&str]) -> bool {
    let have = programs.iter().all(|p| have_program(p));
    kvm_or_skip(test) && netns_or_skip(test) && needs(test, have, &programs.join(", "))
}

/// The gitns secondary of 10.0.42.1 with the seed-form `--keys` (and `more`).
fn gitns_secondary(ns: &Netns, more: &str) -> Guest {
    let keys = format!("--keys={KEY}:SHA256:{SECRET}{more}");
    boot_on(ns, "tap1", None, &["--ipv4=10.0.42.3/24", &keys])
}

/// Every copy (`ips`) equals the primary's AXFR at 10.0.42.1.
fn same_as_primary(ns: &Netns, ips: &[&str]) {
    let reference = axfr(ns, "10.0.42.1", "mirage", KEY, SECRET);
    for ip in ips {
        assert_eq!(
            axfr(ns, ip, "mirage", KEY, SECRET),
            reference,
            "copy at {ip}"
        );
    }
}

/// The common steps with a primary at 10.0.42.1 serving serial 1: gitns and
/// the control take it; `change` writes serial 2 and makes the primary
/// load it and NOTIFY; both take it. Unsigned transfers get nothing.
fn follow(ns: &Netns, g: &Guest, change: &dyn Fn()) {
    wait_answer(ns, GITNS, "www.mirage", "A", "1.1.1.1");
    g.wait_for("AXFR to serial 1", T);
    wait_answer(ns, CONTROL, "www.mirage", "A", "1.1.1.1");
    same_as_primary(ns, &[GITNS, CONTROL]);
    change();
    wait_answer(ns, CONTROL, "new.mirage", "A", "192.0.2.2");
    wait_answer(ns, GITNS, "new.mirage", "A", "192.0.2.2");
    same_as_primary(ns, &[GITNS, CONTROL]);
    let unsigned = dig_at(ns, GITNS, &["mirage", "AXFR", "+tcp"]);
    assert!(!unsigned.contains("192.0.2.2"), "{unsigned}");
}

#[test]
fn gitns_secondary_of_nsd() {
    if !vm("gitns_secondary_of_nsd", &["nsd", "knotd", "dig"]) {
        return;
    }
    let ns = netns("secnsd");
    bridge(&ns, &[CONTROL]);
    let key = (KEY, SECRET);
    let nsd = nsd_primary_of(&ns, "mirage", &mirage(1), &[GITNS, CONTROL], key);
    let _control = knot_secondary_of(&ns, CONTROL, "10.0.42.1", "mirage", key);
    let g = gitns_secondary(&ns, "");
    follow(&ns, &g, &|| {
        std::fs::write(nsd.dir.join("mirage.zone"), mirage(2)).unwrap();
        // SIGHUP: NSD rereads changed zone files and NOTIFYs.
        signal(&nsd, "-HUP");
    });
    // NSD keeps no differences: it answers gitns's IXFR with the whole zone.
    g.wait_for("AXFR to serial 2", T);
    let log = std::fs::read_to_string(nsd.dir.join("nsd.log")).unwrap_or_default();
    assert!(!log.contains("error"), "NSD: {log}");
}

#[test]
fn gitns_secondary_of_bind() {
    if !vm("gitns_secondary_of_bind", &["named", "knotd", "dig"]) {
        return;
    }
    let ns = netns("secbind");
    bridge(&ns, &[CONTROL]);
    let key = (KEY, SECRET);
    let named = bind_primary_of(&ns, "mirage", &mirage(1), &[GITNS, CONTROL], key);
    let _control = knot_secondary_of(&ns, CONTROL, "10.0.42.1", "mirage", key);
    let g = gitns_secondary(&ns, "");
    follow(&ns, &g, &|| {
        let file = named.dir.join("mirage.zone");
        std::fs::write(&file, mirage(2)).unwrap();
        bind_reload(&named, &file);
    });
    // ixfr-from-differences: BIND answers with the difference.
    g.wait_for("IXFR to serial 2", T);
}
