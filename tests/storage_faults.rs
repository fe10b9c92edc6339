//! The storage device failing under the appliance (issue 25), injected by
//! the test-only `--block-fault:storage=N:MODE` of the tender and of the
//! unix platform: a failing write (host disk full) is an UPDATE answered
//! SERVFAIL while the appliance keeps serving; a crash at each write of the
//! first UPDATEs (before it, or with the write torn) boots again with every
//! UPDATE that was acknowledged, and none that was not; on the unix
//! platform the same over every write of UPDATEs that fold twice around a
//! reload.

mod common;
use common::*;
use std::path::Path;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
/// UPDATEs sent in each crash run: the first folds into slot 1 (two
/// writes: the archive, then the header), the others append records.
const UPDATES: usize = 3;

fn zones() -> [(&'static str, String); 2] {
    [
        (
            "x25519.net",
            "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\n"
                .to_string(),
        ),
        (
            "x25519.net._keys",
            format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n"),
        ),
    ]
}

/// Where the appliance runs.
#[derive(Clone, Copy)]
enum On {
    /// The storage image under gitns-hvt.
    Vm,
    /// The unix platform (a process on the tap).
    Unix,
}

/// Start the appliance on `dev` with device options `dev_args` (a fault).
fn boot(on: On, ns: &Netns, dev: &Path, dev_args: &[String]) -> Guest {
    let program = match on {
        On::Vm => tender(),
        On::Unix => unix(),
    };
    let mut c = ns.command(program.to_str().expect("utf-8 path"));
    c.arg(format!("--net:service={}", ns.tap))
        .arg(format!("--block:storage={}", dev.display()))
        .args(dev_args);
    match on {
        On::Vm => c.arg(image_storage()),
        On::Unix => c.arg("--"),
    };
    c.arg("--ipv4=10.0.0.2/24");
    Guest::spawn(c)
}

/// Add `h{i}` by signed UPDATE; true when acknowledged (NOERROR).
fn add(ns: &Netns, i: usize) -> (bool, String) {
    let script = format!(
        "server 10.0.0.2 53\nzone x25519.net\nupdate add h{i}.x25519.net 300 A 192.0.2.{i}\nsend\n"
    );
    let key = format!("hmac-sha256:personal._update.x25519.net:{SECRET}");
    nsupdate(ns, &["-t", "3", "-y", &key], &script)
}

fn served(ns: &Netns, i: usize) -> bool {
    dig(
        ns,
        &[
            "+short",
            "+tries=1",
            "+time=2",
            &format!("h{i}.x25519.net"),
            "A",
        ],
    )
    .contains(&format!("192.0.2.{i}"))
}

fn device(ns: &Netns) -> std::path::PathBuf {
    let z = zones();
    zone_device(ns, &[(z[0].0, &z[0].1), (z[1].0, &z[1].1)])
}

#[test]
fn a_failing_device_answers_servfail_and_keeps_serving() {
    let test = "a_failing_device_answers_servfail_and_keeps_serving";
    if !kvm_or_skip(test) || !netns_or_skip(test) {
        return;
    }
    let ns = netns("stfail");
    let dev = device(&ns);
    let g = boot(
        On::Vm,
        &ns,
        &dev,
        &["--block-fault:storage=0:fail".to_string()],
    );
    g.wait_for(" ready", T);
    let (ok, out) = add(&ns, 1);
    assert!(!ok && out.contains("SERVFAIL"), "{out}\n{}", g.output());
    g.wait_for("storage: writing the archive into slot 1 failed", T);
    // Not served (the UPDATE was undone), and the appliance answers.
    assert!(!served(&ns, 1), "{}", g.output());
    let soa = dig(&ns, &["+short", "x25519.net", "SOA"]);
    assert!(soa.contains("hostmaster.x25519.net. 1 "), "{soa}");
    let (ok, out) = add(&ns, 2);
    assert!(!ok && out.contains("SERVFAIL"), "{out}");
    // The device itself was never changed: a restart serves serial 1.
    drop(g);
    let g = boot(On::Vm, &ns, &dev, &[]);
    g.wait_for(" ready", T);
    assert!(dig(&ns, &["+short", "x25519.net", "SOA"]).contains(" 1 "));
    let (ok, out) = add(&ns, 3);
    assert!(ok, "{out}\n{}", g.output());
}

/// Restarted on `dev` after a crash (`what`): the UPDATE in flight at the
/// crash may be there or not (the state before or after that write);
/// every acknowledged one of `0..updates` is, none after it; and the
/// device takes UPDATEs again.
fn restart_keeps(on: On, ns: &Netns, dev: &Path, what: &str, acked: &[usize], updates: usize) {
    let g = boot(on, ns, dev, &[]);
    g.wait_for(" ready", T);
    let in_flight = acked.len();
    for i in (0..updates).filter(|i| *i != in_flight) {
        assert_eq!(
            served(ns, i),
            acked.contains(&i),
            "{what}: UPDATE {i} (acknowledged: {acked:?})\n{}",
            g.output()
        );
    }
    let (ok, out) = add(ns, 99);
    assert!(ok && served(ns, 99), "{what}: {out}\n{}", g.output());
}

/// Writes the first UPDATES UPDATEs make, counted on a clean run.
fn writes_of_a_clean_run(ns: &Netns) -> usize {
    let dev = device(ns);
    // Fail from a write number never reached: counts nothing, changes nothing.
    let g = boot(On::Vm, ns, &dev, &[]);
    g.wait_for(" ready", T);
    for i in 0..UPDATES {
        assert!(add(ns, i).0, "clean run: {}", g.output());
    }
    // One archive + header for the first, one record for each other.
    2 + (UPDATES - 1)
}

#[test]
fn a_crash_at_each_write_keeps_every_acknowledged_update() {
    let test = "a_crash_at_each_write_keeps_every_acknowledged_update";
    if !kvm_or_skip(test) || !netns_or_skip(test) {
        return;
    }
    let ns = netns("stcrash");
    let writes = writes_of_a_clean_run(&ns);
    for at in 0..writes {
        for mode in ["stop", "tear"] {
            let dev = device(&ns);
            let mut g = boot(
                On::Vm,
                &ns,
                &dev,
                &[format!("--block-fault:storage={at}:{mode}")],
            );
            g.wait_for(" ready", T);
            let mut acked = Vec::new();
            for i in 0..UPDATES {
                if add(&ns, i).0 {
                    acked.push(i);
                } else {
                    break;
                }
            }
            g.wait_exit(T);
            assert!(
                g.output().contains("--block-fault:"),
                "write {at} {mode}: the fault was reached\n{}",
                g.output()
            );
            restart_keeps(
                On::Vm,
                &ns,
                &dev,
                &format!("write {at} {mode}"),
                &acked,
                UPDATES,
            );
        }
    }
}

/// UPDATEs in the unix platform's run: on a 16 KiB device (slots of
/// 7.5 KiB) the first folds into slot 1, the journal fills after a few
/// more and they fold back into slot 0, then appends again.
const FOLD_UPDATES: usize = 14;
/// After this many UPDATEs a signed NOTIFY reloads the zones (and the
/// journal) from the device; the UPDATEs after it append to what was read.
const RELOAD_AFTER: usize = 5;

/// [`device`] cut to 16 KiB: the journal fills within a few UPDATEs.
fn small_device(ns: &Netns) -> std::path::PathBuf {
    let dev = device(ns);
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(&dev)
        .expect("open device");
    f.set_len(16 * 1024).expect("cut device");
    dev
}

/// A signed NOTIFY: the appliance reloads its zones from the device.
fn reload(ns: &Netns, g: &Guest) {
    let key = format!("hmac-sha256:personal._update.x25519.net:{SECRET}");
    let out = dig(
        ns,
        &["x25519.net", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}\n{}", g.output());
    g.wait_for("reloading zones from the storage cache", T);
}

/// One run on the unix platform with `fault` (none: a clean run): the
/// UPDATEs acknowledged, and whether the fault was reached.
fn unix_run(ns: &Netns, dev: &Path, fault: Option<String>) -> (Vec<usize>, bool) {
    let mut g = boot(On::Unix, ns, dev, fault.as_slice());
    g.wait_for(" ready", T);
    let mut acked = Vec::new();
    for i in 0..FOLD_UPDATES {
        if i == RELOAD_AFTER {
            reload(ns, &g);
        }
        if !add(ns, i).0 {
            break;
        }
        acked.push(i);
    }
    let reached = acked.len() < FOLD_UPDATES;
    if reached {
        g.wait_exit(T);
        assert!(
            g.output().contains("gitns-unix: --block-fault:"),
            "{fault:?}: the process stopped at the fault\n{}",
            g.output()
        );
    }
    (acked, reached)
}

/// Issue 25 on the unix platform: a crash (stop, or a torn write) at each
/// write of UPDATEs that fold twice around a reload, a restart after each:
/// every acknowledged UPDATE is served, none after the one in flight, and
/// the device takes UPDATEs again.
#[test]
fn the_unix_platform_keeps_every_acknowledged_update_at_each_write() {
    let test = "the_unix_platform_keeps_every_acknowledged_update_at_each_write";
    if !netns_or_skip(test) {
        return;
    }
    let ns = netns("stunix");
    let (acked, reached) = unix_run(&ns, &small_device(&ns), None);
    assert!(
        !reached && acked.len() == FOLD_UPDATES,
        "clean run: {acked:?}"
    );
    let mut writes = 0;
    for at in 0.. {
        let mut reached_any = false;
        for mode in ["stop", "tear"] {
            let dev = small_device(&ns);
            let fault = format!("--block-fault:storage={at}:{mode}");
            let (acked, reached) = unix_run(&ns, &dev, Some(fault));
            reached_any |= reached;
            if !reached {
                continue;
            }
            let what = format!("write {at} {mode}");
            restart_keeps(On::Unix, &ns, &dev, &what, &acked, FOLD_UPDATES);
        }
        if !reached_any {
            writes = at;
            break;
        }
    }
    // Two folds of two writes each (archive, header) and one record per
    // other UPDATE: fewer writes means no second fold was walked.
    assert!(writes >= FOLD_UPDATES + 2, "{writes} writes walked");
}
