//! The gitns secondary as a catalog consumer (issue 23, RFC 9432 5):
//! given only `--keys` (a root transfer key naming its primary) and
//! `--follow-catalog=catalog.invalid`, it follows the catalog's members.
//! Producers: a gitns primary (zones from git over SSH, `--catalog`) and
//! Knot 3.2 (`catalog-role: generate`). Each step runs against a control,
//! a Knot consumer (`catalog-role: interpret`) of the same producer at
//! 10.0.42.4, so a failure says whose fault it is. Members come and go
//! with no change to either consumer's command line or configuration.

#[path = "common/chain.rs"]
mod chain;
mod common;
use chain::*;
use common::*;
use xtask::sshd::{git, key, GitServer};

const SECRET: &str = "cDK6sKyvlt8UBerZlmxuD84ih2KookJGDagJlLVNo20=";
const PERSONAL: &str = "kJJqipaQHQWqZL31Raar6uPnepGFIdtpjkXot9rv2xg=";
const SEED: [u8; 32] = [0x5a; 32];
/// The gitns consumer (a guest on tap1) and the Knot control (host).
const GITNS: &str = "10.0.42.3";
const CONTROL: &str = "10.0.42.4";
const CATALOG: &str = "catalog.invalid";

fn vm(test: &str, programs: &[&str]) -> bool {
    let have = programs.iter().all(|p| have_program(p));
    kvm_or_skip(test) && netns_or_skip(test) && needs(test, have, &programs.join(", "))
}

/// Wait until the gitns consumer `g` answers `name` A with `want` (an
/// address, or an rcode such as REFUSED); its log in the panic.
fn gitns_answers(ns: &Netns, g: &Guest, name: &str, want: &str) {
    let end = std::time::Instant::now() + T;
    loop {
        let rcode = want.chars().all(|c| c.is_ascii_uppercase());
        let got = match rcode {
            true => status_at(ns, GITNS, name),
            false => dig_at(ns, GITNS, &[name, "A", "+short"]),
        };
        if got.contains(want) {
            return;
        }
        if std::time::Instant::now() > end {
            panic!(
                "{GITNS} never answered {name} with {want}: {got}\n{}",
                g.output()
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
}

/// A small zone `origin` with `www` at `ip`.
fn small(origin: &str, ip: &str) -> String {
    format!("$ORIGIN {origin}.\n$TTL 300\n@ SOA ns hm 1 3600 600 86400 300\n@ NS ns\nns A 10.0.42.2\nwww A {ip}\n")
}

/// The root transfer key `primary` names `secondary` with.
fn root_key(primary: &str, secondary: &str) -> String {
    format!("{primary}.{secondary}._transfer")
}

/// The gitns consumer of `primary`'s catalog: `--keys` with the root key
/// and `--follow-catalog`, nothing else about the zones.
fn gitns_consumer(ns: &Netns, primary: &str, dev: Option<&std::path::Path>) -> Guest {
    let keys = format!("--keys={}.:SHA256:{SECRET}", root_key(primary, GITNS));
    let follow = format!("--follow-catalog={CATALOG}");
    boot_on(ns, "tap1", dev, &["--ipv4=10.0.42.3/24", &keys, &follow])
}

/// The Knot control following `primary`'s catalog.
fn control_of(ns: &Netns, primary: &str) -> Daemon {
    let k = root_key(primary, CONTROL);
    knot_catalog_consumer(
        ns,
        &Follows {
            ip: CONTROL,
            primary,
            zone: CATALOG,
            key: (&k, SECRET),
        },
    )
}

/// `zone` at `ip` as its primary transfers it, with the key `primary`
/// gave the gitns consumer.
fn same_as_primary(ns: &Netns, primary: &str, zone: &str) {
    let k = root_key(primary, GITNS);
    assert_eq!(
        axfr(ns, GITNS, zone, &k, SECRET),
        axfr(ns, primary, zone, &k, SECRET),
        "{zone} at the gitns consumer"
    );
}

/// The operator's NOTIFY at the gitns primary: it fetches git.
fn notify_primary(ns: &Netns) {
    let y = format!("hmac-sha256:personal._update:{PERSONAL}");
    let args = ["a.test", "SOA", "+opcode=notify", "+norec", "-y", &y];
    let out = dig_at(ns, "10.0.42.2", &args);
    assert!(out.contains("status: NOERROR"), "{out}");
}

/// The gitns primary's `_keys`: root transfer keys for both consumers
/// (it NOTIFYs every zone, the catalog included, to them) and a root
/// update key for the operator.
fn primary_keys() -> String {
    let mut k = format!("personal._update. DNSKEY 0 3 163 {PERSONAL}\n");
    for ip in [GITNS, CONTROL] {
        let name = root_key("10.0.42.2", ip);
        k.push_str(&format!("{name}. DNSKEY 0 3 163 {SECRET}\n"));
    }
    k
}

#[test]
fn gitns_follows_the_catalog_of_a_gitns_primary() {
    let test = "gitns_follows_the_catalog_of_a_gitns_primary";
    if !vm(test, &["knotd", "dig"]) || !sshd_or_skip(test) {
        return;
    }
    let ns = netns("catgit");
    bridge(&ns, &[CONTROL]);
    let a = small("a.test", "192.0.2.1");
    let keys = primary_keys();
    let srv = GitServer::start(
        &ns,
        "catgit",
        &key(SEED).1,
        &[("a.test", &a), ("_keys", &keys)],
    );
    let remote = format!("--remote=root@10.0.42.1:{}", srv.repo.display());
    let ssh_key = format!("--ssh-key={}", key(SEED).0);
    let auth = format!("--ssh-authenticator={}", srv.fingerprint);
    let catalog = format!("--catalog={CATALOG}");
    let args = ["--ipv4=10.0.42.2/24", &catalog, &remote, &ssh_key, &auth];
    let primary = boot_on(&ns, "tap0", None, &args);
    primary.wait_for("git: main is at", T);
    // The consumer keeps its copies on a storage device.
    let dev = zone_device(&ns, &[("_keys", "")]);
    let g = gitns_consumer(&ns, "10.0.42.2", Some(&dev));
    let _control = control_of(&ns, "10.0.42.2");
    wait_answer(&ns, CONTROL, "www.a.test", "A", "192.0.2.1");
    gitns_answers(&ns, &g, "www.a.test", "192.0.2.1");
    g.wait_for("member a.test. added", T);

    // A zone pushed to git and the operator's NOTIFY: the primary serves
    // it and lists it in its catalog; both consumers follow.
    let b = small("b.test", "192.0.2.2");
    srv.commit(&[("b.test", &b)], "a new zone");
    notify_primary(&ns);
    wait_answer(&ns, "10.0.42.2", "www.b.test", "A", "192.0.2.2");
    wait_answer(&ns, CONTROL, "www.b.test", "A", "192.0.2.2");
    gitns_answers(&ns, &g, "www.b.test", "192.0.2.2");
    g.wait_for("member b.test. added", T);
    same_as_primary(&ns, "10.0.42.2", "b.test");
    same_as_primary(&ns, "10.0.42.2", CATALOG);

    // Removed from git: gone from the catalog, no longer served by either.
    git(&srv.work, &["rm", "-q", "b.test"]);
    git(&srv.work, &["commit", "-q", "-m", "b.test goes"]);
    git(&srv.work, &["push", "-q", "origin", "main"]);
    notify_primary(&ns);
    wait_status(&ns, "10.0.42.2", "www.b.test", "REFUSED");
    wait_status(&ns, CONTROL, "www.b.test", "REFUSED");
    gitns_answers(&ns, &g, "www.b.test", "REFUSED");
    g.wait_for("member b.test. removed", T);
    gitns_answers(&ns, &g, "www.a.test", "192.0.2.1");

    // The primary goes away; the consumer reboots and serves the member
    // it keeps on its device at once (and not the one removed).
    drop(primary);
    drop(g);
    let g = gitns_consumer(&ns, "10.0.42.2", Some(&dev));
    g.wait_for(" ready", T);
    let out = dig_at(&ns, GITNS, &["www.a.test", "A", "+short"]);
    assert!(out.contains("192.0.2.1"), "{out}\n{}", g.output());
    assert_eq!(status_at(&ns, GITNS, "www.b.test"), "REFUSED");
    let _ = std::fs::remove_file(&dev);
}

/// Knot 3.2 at 10.0.42.1 generating `catalog.invalid` from its member
/// zones `members` (files in its directory), NOTIFYing the gitns
/// consumer and the control, each with its root key.
fn knot_producer_conf(dir: &std::path::Path, members: &[&str]) -> String {
    let d = dir.display();
    let (kg, kc) = (root_key("10.0.42.1", GITNS), root_key("10.0.42.1", CONTROL));
    let mut conf = format!(
        "server:\n  listen: 10.0.42.1@53\n  rundir: {d}\n  user: root\ndatabase:\n  storage: {d}\ncontrol:\n  listen: {d}/knot.sock\nlog:\n  - target: {d}/knot.log\n    any: info\nkey:\n  - id: {kg}\n    algorithm: hmac-sha256\n    secret: {SECRET}\n  - id: {kc}\n    algorithm: hmac-sha256\n    secret: {SECRET}\nremote:\n  - id: gitns\n    address: {GITNS}@53\n    key: {kg}\n  - id: control\n    address: {CONTROL}@53\n    key: {kc}\nacl:\n  - id: xfr\n    key: [{kg}, {kc}]\n    action: transfer\ntemplate:\n  - id: default\n    storage: {d}\n    file: \"%s.zone\"\n    acl: xfr\n    notify: [gitns, control]\nzone:\n  - domain: {CATALOG}\n    catalog-role: generate\n"
    );
    for m in members {
        conf.push_str(&format!(
            "  - domain: {m}\n    catalog-role: member\n    catalog-zone: {CATALOG}\n"
        ));
    }
    conf
}

/// The Knot producer's member list becomes `members`: its configuration
/// reloaded, it regenerates the catalog and NOTIFYs.
fn knot_members(ns: &Netns, knot: &Daemon, members: &[&str]) {
    let conf = knot.dir.join("knot.conf");
    std::fs::write(&conf, knot_producer_conf(&knot.dir, members)).unwrap();
    let out = run_in(ns, "knotc", &["-c", conf.to_str().unwrap(), "reload"]);
    assert!(out.contains("Reloaded"), "knotc reload: {out}");
}

#[test]
fn gitns_follows_a_knot_catalog_producer() {
    let test = "gitns_follows_a_knot_catalog_producer";
    if !vm(test, &["knotd", "knotc", "dig"]) {
        return;
    }
    let ns = netns("catknot");
    bridge(&ns, &[CONTROL]);
    let dir = dir_of(&ns, "knotprod");
    for (z, ip) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        std::fs::write(dir.join(format!("{z}.zone")), small(z, ip)).unwrap();
    }
    let conf = knot_producer_conf(&dir, &["a.test"]);
    let knot = spawn_knot(&ns, dir, &conf);
    let _control = control_of(&ns, "10.0.42.1");
    let g = gitns_consumer(&ns, "10.0.42.1", None);
    wait_answer(&ns, CONTROL, "www.a.test", "A", "192.0.2.1");
    gitns_answers(&ns, &g, "www.a.test", "192.0.2.1");
    assert_eq!(status_at(&ns, GITNS, "www.b.test"), "REFUSED");
    same_as_primary(&ns, "10.0.42.1", CATALOG);

    // b.test joins the catalog: both follow it.
    knot_members(&ns, &knot, &["a.test", "b.test"]);
    wait_answer(&ns, CONTROL, "www.b.test", "A", "192.0.2.2");
    gitns_answers(&ns, &g, "www.b.test", "192.0.2.2");
    g.wait_for("member b.test. added", T);
    same_as_primary(&ns, "10.0.42.1", "b.test");

    // a.test leaves it: neither serves it any more; b.test stays.
    knot_members(&ns, &knot, &["b.test"]);
    wait_status(&ns, CONTROL, "www.a.test", "REFUSED");
    gitns_answers(&ns, &g, "www.a.test", "REFUSED");
    g.wait_for("member a.test. removed", T);
    assert_eq!(status_at(&ns, GITNS, "www.b.test"), "NOERROR");
    // Moved by Knot's NOTIFYs of the catalog, its differences by IXFR.
    g.wait_for("catalog.invalid.: NOTIFY, checking the primary", T);
    g.wait_for("catalog.invalid.: IXFR to serial", T);
}

/// A catalog written by hand (version `version`, serial `serial`, members
/// as (id, zone)).
fn hand_catalog(serial: u32, version: &str, members: &[(&str, &str)]) -> String {
    let mut t = format!("$ORIGIN {CATALOG}.\n@ 0 SOA invalid. invalid. {serial} 3600 600 2147483646 0\n@ 0 NS invalid.\nversion 0 TXT \"{version}\"\n");
    for (id, zone) in members {
        t.push_str(&format!("{id}.zones 0 PTR {zone}.\n"));
    }
    t
}

/// Knot at 10.0.42.1 serving the hand-written catalog and its members as
/// plain zones from files, NOTIFYing both consumers.
fn knot_hand_catalog(ns: &Netns, catalog: &str) -> Daemon {
    let dir = dir_of(ns, "knothand");
    for (z, ip) in [("a.test", "192.0.2.1"), ("b.test", "192.0.2.2")] {
        std::fs::write(dir.join(format!("{z}.zone")), small(z, ip)).unwrap();
    }
    std::fs::write(dir.join(format!("{CATALOG}.zone")), catalog).unwrap();
    // The generating producer's configuration, the catalog a plain zone.
    let conf = knot_producer_conf(&dir, &[]).replace(
        "    catalog-role: generate\n",
        "  - domain: a.test\n  - domain: b.test\n",
    );
    spawn_knot(ns, dir, &conf)
}

/// The hand-written catalog becomes `text`: Knot reloads it and NOTIFYs.
fn hand_publish(ns: &Netns, knot: &Daemon, text: &str) {
    std::fs::write(knot.dir.join(format!("{CATALOG}.zone")), text).unwrap();
    knot_reload(ns, knot, CATALOG);
}

#[test]
fn a_member_under_a_new_id_is_reset_a_broken_catalog_changes_nothing() {
    let test = "a_member_under_a_new_id_is_reset_a_broken_catalog_changes_nothing";
    if !vm(test, &["knotd", "knotc", "dig"]) {
        return;
    }
    let ns = netns("cathand");
    bridge(&ns, &[CONTROL]);
    let both = [("m1", "a.test"), ("m2", "b.test")];
    let knot = knot_hand_catalog(&ns, &hand_catalog(1, "2", &both));
    let _control = control_of(&ns, "10.0.42.1");
    let g = gitns_consumer(&ns, "10.0.42.1", None);
    for (ip, name) in [("192.0.2.1", "www.a.test"), ("192.0.2.2", "www.b.test")] {
        wait_answer(&ns, CONTROL, name, "A", ip);
        gitns_answers(&ns, &g, name, ip);
    }
    // a.test listed under another id (RFC 9432 5.4): dropped, transferred
    // afresh; the control follows it too.
    hand_publish(
        &ns,
        &knot,
        &hand_catalog(2, "2", &[("m9", "a.test"), ("m2", "b.test")]),
    );
    g.wait_for("member a.test. listed under a new id", T);
    gitns_answers(&ns, &g, "www.a.test", "192.0.2.1");
    wait_answer(&ns, CONTROL, "www.a.test", "A", "192.0.2.1");
    let out = g.output();
    let reset = &out[out.find("listed under a new id").unwrap()..];
    assert!(reset.contains("a.test.: AXFR to serial 1"), "{out}");
    // A version we do not understand: the catalog is served as sent, the
    // members stay.
    hand_publish(&ns, &knot, &hand_catalog(3, "1", &[("m2", "b.test")]));
    g.wait_for("catalog catalog.invalid. is broken", T);
    assert_eq!(serial_at(&ns, GITNS, CATALOG), Some(3));
    gitns_answers(&ns, &g, "www.a.test", "192.0.2.1");
    gitns_answers(&ns, &g, "www.b.test", "192.0.2.2");
}
