//! The gitns secondary (issue 23) with real peers on seed 001's network
//! (a bridge, the host side at 10.0.42.1, the image at 10.0.42.3 given
//! only `--keys` in the seed's form, or `--primary` and a key naming only
//! the zone): NSD and BIND as its primary; Knot and NSD as secondaries of it; an IXFR chain Knot -> gitns -> Knot;
//! BIND (`catalog-zones`) and PowerDNS 4.7 (gsqlite3, kind consumer) as
//! catalog consumers of a gitns primary's `--catalog`.
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
/// A key naming only the zone, for `--primary`.
const PLAIN: &str = "bind._transfer.mirage";
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

/// mirage at 10.0.42.1 from `text`, NOTIFYing `notify`, the seed-form key.
fn served<'a>(text: &'a str, notify: &'a [&'a str]) -> Served<'a> {
    Served {
        zone: "mirage",
        text,
        notify,
        key: (KEY, SECRET),
    }
}

/// A secondary of mirage at `ip` from `primary` with `key`.
fn follows<'a>(ip: &'a str, primary: &'a str, key: Tsig<'a>) -> Follows<'a> {
    Follows {
        ip,
        primary,
        zone: "mirage",
        key,
    }
}

/// The gitns secondary of 10.0.42.1 with the seed-form `--keys` (and `more`).
fn gitns_secondary(ns: &Netns, more: &str) -> Guest {
    let keys = format!("--keys={KEY}:SHA256:{SECRET}{more}");
    boot_on(ns, "tap1", None, &["--ipv4=10.0.42.3/24", &keys])
}

/// Every copy (`ips`) equals the primary's AXFR (the seed-form key).
fn same_as_primary(ns: &Netns, ips: &[&str]) {
    same_as(ns, KEY, ips)
}

/// Every copy (`ips`) equals the primary's AXFR at 10.0.42.1 (all
/// transferred with `key`).
fn same_as(ns: &Netns, key: &str, ips: &[&str]) {
    let reference = axfr(ns, "10.0.42.1", "mirage", key, SECRET);
    for ip in ips {
        assert_eq!(
            axfr(ns, ip, "mirage", key, SECRET),
            reference,
            "copy at {ip}"
        );
    }
}

/// The common steps with a primary at 10.0.42.1 serving serial 1: gitns and
/// the control take it; `change` writes serial 2 and makes the primary
/// load it and NOTIFY; both take it. Unsigned transfers get nothing.
/// Transfers are signed with `key`.
fn follow(ns: &Netns, g: &Guest, key: &str, change: &dyn Fn()) {
    wait_answer(ns, GITNS, "www.mirage", "A", "1.1.1.1");
    g.wait_for("AXFR to serial 1", T);
    wait_answer(ns, CONTROL, "www.mirage", "A", "1.1.1.1");
    same_as(ns, key, &[GITNS, CONTROL]);
    change();
    wait_answer(ns, CONTROL, "new.mirage", "A", "192.0.2.2");
    wait_answer(ns, GITNS, "new.mirage", "A", "192.0.2.2");
    same_as(ns, key, &[GITNS, CONTROL]);
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
    let nsd = nsd_primary_of(&ns, &served(&mirage(1), &[GITNS, CONTROL]));
    let _control = knot_secondary_of(&ns, &follows(CONTROL, "10.0.42.1", (KEY, SECRET)));
    let g = gitns_secondary(&ns, "");
    follow(&ns, &g, KEY, &|| {
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
    // The other form: --primary, and a key that names only the zone.
    let key = (PLAIN, SECRET);
    let text = mirage(1);
    let p = Served {
        zone: "mirage",
        text: &text,
        notify: &[GITNS, CONTROL],
        key,
    };
    let named = bind_primary_of(&ns, &p);
    let _control = knot_secondary_of(&ns, &follows(CONTROL, "10.0.42.1", key));
    let keys = format!("--keys={PLAIN}:SHA256:{SECRET}");
    let args = ["--ipv4=10.0.42.3/24", "--primary=10.0.42.1", &keys];
    let g = boot_on(&ns, "tap1", None, &args);
    follow(&ns, &g, PLAIN, &|| {
        let file = named.dir.join("mirage.zone");
        std::fs::write(&file, mirage(2)).unwrap();
        bind_reload(&named, &file);
    });
    // ixfr-from-differences: BIND answers with the difference.
    g.wait_for("IXFR to serial 2", T);
}

/// The secret of the keys of gitns's own secondaries.
const DOWN_SECRET: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
/// gitns's own secondaries (host addresses): Knot and NSD, each with a
/// key in the seed's form naming gitns (10.0.42.3) their primary: gitns
/// NOTIFYs them signed with it, they transfer with it.
const END_KNOT: &str = "10.0.42.5";
const END_NSD: &str = "10.0.42.6";
const DOWN_KNOT: &str = "10.0.42.3.10.0.42.5._transfer.mirage";
const DOWN_NSD: &str = "10.0.42.3.10.0.42.6._transfer.mirage";

/// `--keys` after the first: the keys of gitns's own secondaries `ends`.
fn down_keys(ends: &[&str]) -> String {
    ends.iter()
        .map(|k| format!(",{k}:SHA256:{DOWN_SECRET}"))
        .collect()
}

/// Knot primary at 10.0.42.1 (NOTIFYing gitns and the control, a Knot
/// secondary of it at 10.0.42.4) and the gitns secondary with the keys
/// of its own secondaries `ends`, which has taken serial 1.
fn chain_head(ns: &Netns, ends: &[&str]) -> (Daemon, Daemon, Guest) {
    let primary = knot_primary_of(ns, &served(&mirage(1), &[GITNS, CONTROL]));
    let control = knot_secondary_of(ns, &follows(CONTROL, "10.0.42.1", (KEY, SECRET)));
    // The first key names the primary gitns follows; the others name
    // gitns's own secondaries.
    let g = gitns_secondary(ns, &down_keys(ends));
    wait_answer(ns, GITNS, "www.mirage", "A", "1.1.1.1");
    g.wait_for("AXFR to serial 1", T);
    wait_answer(ns, CONTROL, "www.mirage", "A", "1.1.1.1");
    (primary, control, g)
}

/// The copies at the chain's ends (transferred with their keys) equal
/// the primary's, as do gitns's and the control's.
fn chain_same(ns: &Netns, ends: &[(&str, &str)]) {
    same_as_primary(ns, &[GITNS, CONTROL]);
    let reference = axfr(ns, "10.0.42.1", "mirage", KEY, SECRET);
    for (ip, key) in ends {
        let copy = axfr(ns, ip, "mirage", key, DOWN_SECRET);
        assert_eq!(copy, reference, "copy at the end {ip}");
    }
}

/// Serial 2 at the Knot primary, announced by its NOTIFY; gitns and the
/// control take it.
fn chain_change(ns: &Netns, primary: &Daemon, g: &Guest, serial: u32) {
    std::fs::write(primary.dir.join("mirage.zone"), mirage(serial)).unwrap();
    knot_reload(ns, primary, "mirage");
    let ip = format!("192.0.2.{serial}");
    wait_answer(ns, CONTROL, "new.mirage", "A", &ip);
    wait_answer(ns, GITNS, "new.mirage", "A", &ip);
    g.wait_for(&format!("IXFR to serial {serial}"), T);
}

#[test]
fn knot_and_nsd_secondaries_of_a_gitns_secondary() {
    let test = "knot_and_nsd_secondaries_of_a_gitns_secondary";
    if !vm(test, &["nsd", "knotd", "knotc", "dig"]) {
        return;
    }
    let ns = netns("secchain");
    bridge(&ns, &[CONTROL, END_KNOT, END_NSD]);
    let (primary, _control, g) = chain_head(&ns, &[DOWN_KNOT, DOWN_NSD]);
    let _knot = knot_secondary_of(&ns, &follows(END_KNOT, GITNS, (DOWN_KNOT, DOWN_SECRET)));
    let _nsd = nsd_secondary_of(&ns, &follows(END_NSD, GITNS, (DOWN_NSD, DOWN_SECRET)));
    wait_answer(&ns, END_KNOT, "www.mirage", "A", "1.1.1.1");
    wait_answer(&ns, END_NSD, "www.mirage", "A", "1.1.1.1");
    chain_same(&ns, &[(END_KNOT, DOWN_KNOT), (END_NSD, DOWN_NSD)]);
    // Only gitns's NOTIFYs (signed with their keys) can tell the ends in time.
    chain_change(&ns, &primary, &g, 2);
    wait_answer(&ns, END_KNOT, "new.mirage", "A", "192.0.2.2");
    wait_answer(&ns, END_NSD, "new.mirage", "A", "192.0.2.2");
    chain_same(&ns, &[(END_KNOT, DOWN_KNOT), (END_NSD, DOWN_NSD)]);
    // Both answered gitns's NOTIFY of serial 2.
    let out = g.output();
    let after = &out[out.find("IXFR to serial 2").unwrap()..];
    for ip in [END_KNOT, END_NSD] {
        let answered = format!("NOTIFY answered by {ip}:53");
        assert!(after.contains(&answered), "{answered}:\n{out}");
    }
}

#[test]
fn ixfr_chain_knot_gitns_knot() {
    if !vm("ixfr_chain_knot_gitns_knot", &["knotd", "knotc", "dig"]) {
        return;
    }
    let ns = netns("secixfr");
    bridge(&ns, &[CONTROL, END_KNOT]);
    let (primary, control, g) = chain_head(&ns, &[DOWN_KNOT]);
    let end = knot_secondary_of(&ns, &follows(END_KNOT, GITNS, (DOWN_KNOT, DOWN_SECRET)));
    wait_answer(&ns, END_KNOT, "www.mirage", "A", "1.1.1.1");
    for serial in [2, 3] {
        chain_change(&ns, &primary, &g, serial);
        let ip = format!("192.0.2.{serial}");
        wait_answer(&ns, END_KNOT, "new.mirage", "A", &ip);
        chain_same(&ns, &[(END_KNOT, DOWN_KNOT)]);
    }
    // Both hops were incremental: gitns's log said IXFR (chain_change), and
    // the last hop's Knot logs the same kind of transfer as the control.
    for (who, d) in [("the end", &end), ("the control", &control)] {
        let log = std::fs::read_to_string(d.dir.join("knot.log")).unwrap();
        let ixfrs = log
            .lines()
            .filter(|l| l.contains("IXFR, incoming") && l.contains("finished"))
            .count();
        assert!(ixfrs >= 2, "{who}: Knot's log shows {ixfrs} IXFRs:\n{log}");
        assert!(
            !log.contains("AXFR-style"),
            "{who}: a full answer to an IXFR:\n{log}"
        );
    }
}

#[test]
fn a_secondary_that_is_down_holds_back_no_notify() {
    let test = "a_secondary_that_is_down_holds_back_no_notify";
    if !vm(test, &["knotd", "knotc", "dig"]) {
        return;
    }
    let ns = netns("secdown");
    bridge(&ns, &[CONTROL, END_KNOT]);
    // The control: the Knot primary NOTIFYs the dead 10.0.42.6 too.
    let dead = END_NSD;
    let primary = knot_primary_of(&ns, &served(&mirage(1), &[GITNS, dead, CONTROL]));
    let _control = knot_secondary_of(&ns, &follows(CONTROL, "10.0.42.1", (KEY, SECRET)));
    let g = gitns_secondary(&ns, &down_keys(&[DOWN_NSD, DOWN_KNOT]));
    wait_answer(&ns, GITNS, "www.mirage", "A", "1.1.1.1");
    let _end = knot_secondary_of(&ns, &follows(END_KNOT, GITNS, (DOWN_KNOT, DOWN_SECRET)));
    wait_answer(&ns, END_KNOT, "www.mirage", "A", "1.1.1.1");
    chain_change(&ns, &primary, &g, 2);
    wait_answer(&ns, END_KNOT, "new.mirage", "A", "192.0.2.2");
}

/// A small zone `origin` with `www` at `ip`.
fn small(origin: &str, ip: &str) -> String {
    format!("$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\nns A 10.0.42.2\nwww A {ip}\n")
}

const PERSONAL: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
/// The catalog consumer under test and the control (Knot, catalog-role
/// interpret), both with root transfer keys of the gitns primary.
const CONSUMER: &str = "10.0.42.1";

/// The gitns primary's keys: a root transfer key per consumer (gitns
/// NOTIFYs every zone to them) and a root update key for the operator.
fn catalog_keys() -> String {
    let mut k = format!("personal._update. DNSKEY 0 3 163 {PERSONAL}\n");
    for ip in [CONSUMER, CONTROL] {
        k.push_str(&format!(
            "10.0.42.2.{ip}._transfer. DNSKEY 0 3 163 {SECRET}\n"
        ));
    }
    k
}

/// Knot at CONTROL following only the catalog of 10.0.42.2.
fn knot_catalog_control(ns: &Netns) -> Daemon {
    let k = format!("10.0.42.2.{CONTROL}._transfer");
    knot_catalog_consumer(
        ns,
        &Follows {
            ip: CONTROL,
            primary: "10.0.42.2",
            zone: "catalog.invalid",
            key: (&k, SECRET),
        },
    )
}

/// The gitns primary at 10.0.42.2 with `--catalog=catalog.invalid` (and
/// `more`), a.test on its storage cache; `consumer` (at CONSUMER) and the
/// Knot control serve a.test knowing only the catalog; b.test is added at
/// the source (as a push does) with the operator's NOTIFY, and both serve
/// it with no change to their configuration.
fn catalog_consumers(ns: &Netns, more: &[&str], consumer: &dyn Fn(&Netns) -> Daemon) {
    let keys = catalog_keys();
    let a = small("a.test", "192.0.2.1");
    let dev = zone_device(ns, &[("a.test", &a), ("_keys", &keys)]);
    let mut args = vec!["--ipv4=10.0.42.2/24", "--catalog=catalog.invalid"];
    args.extend_from_slice(more);
    let g = boot_on(ns, "tap0", Some(&dev), &args);
    g.wait_for(" ready", T);
    let c = consumer(ns);
    let _control = knot_catalog_control(ns);
    wait_answer(ns, CONTROL, "www.a.test", "A", "192.0.2.1");
    wait_answer(ns, CONSUMER, "www.a.test", "A", "192.0.2.1");
    let b = small("b.test", "192.0.2.2");
    zone_device(ns, &[("a.test", &a), ("b.test", &b), ("_keys", &keys)]);
    let y = format!("hmac-sha256:personal._update:{PERSONAL}");
    let out = dig_at(
        ns,
        "10.0.42.2",
        &["a.test", "SOA", "+opcode=notify", "+norec", "-y", &y],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    wait_answer(ns, "10.0.42.2", "www.b.test", "A", "192.0.2.2");
    wait_answer(ns, CONTROL, "www.b.test", "A", "192.0.2.2");
    wait_answer(ns, CONSUMER, "www.b.test", "A", "192.0.2.2");
    drop(c);
}

#[test]
fn bind_follows_the_catalog_of_a_gitns_primary() {
    let test = "bind_follows_the_catalog_of_a_gitns_primary";
    if !vm(test, &["named", "knotd", "dig"]) {
        return;
    }
    let ns = netns("catbind");
    bridge(&ns, &[CONTROL]);
    let key = format!("10.0.42.2.{CONSUMER}._transfer");
    catalog_consumers(&ns, &[], &|ns| {
        bind_catalog_consumer(
            ns,
            &Follows {
                ip: CONSUMER,
                primary: "10.0.42.2",
                zone: "catalog.invalid",
                key: (&key, SECRET),
            },
        )
    });
}

#[test]
fn powerdns_follows_the_catalog_of_a_gitns_primary() {
    let test = "powerdns_follows_the_catalog_of_a_gitns_primary";
    if !vm(
        test,
        &["pdns_server", "pdnsutil", "sqlite3", "knotd", "dig"],
    ) {
        return;
    }
    let ns = netns("catpdns");
    bridge(&ns, &[CONTROL]);
    let key = format!("10.0.42.2.{CONSUMER}._transfer");
    // PowerDNS 4.7 transfers the members unsigned (its members adopt the
    // consumer zone's primaries, not its TSIG key; without --axfr it never
    // serves a.test): --axfr lets it. The catalog itself is signed.
    catalog_consumers(&ns, &["--axfr"], &|ns| {
        pdns_catalog_consumer(
            ns,
            &Follows {
                ip: CONSUMER,
                primary: "10.0.42.2",
                zone: "catalog.invalid",
                key: (&key, SECRET),
            },
        )
    });
}
