//! The storage device failing under the appliance (issue 25), injected by
//! the tender's test-only `--block-fault:storage=N:MODE`: a failing write
//! (host disk full) is an UPDATE answered SERVFAIL while the appliance keeps
//! serving; a crash at each write of the first UPDATEs (before it, or with
//! the write torn) boots again with every UPDATE that was acknowledged, and
//! none that was not.

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

fn boot(ns: &Netns, dev: &Path, tender_args: &[String]) -> Guest {
    let mut c = ns.command(tender().to_str().expect("utf-8 path"));
    c.arg(format!("--net:service={}", ns.tap))
        .arg(format!("--block:storage={}", dev.display()))
        .args(tender_args)
        .arg(image_storage())
        .arg("--ipv4=10.0.0.2/24");
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
    let g = boot(&ns, &dev, &["--block-fault:storage=0:fail".to_string()]);
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
    let g = boot(&ns, &dev, &[]);
    g.wait_for(" ready", T);
    assert!(dig(&ns, &["+short", "x25519.net", "SOA"]).contains(" 1 "));
    let (ok, out) = add(&ns, 3);
    assert!(ok, "{out}\n{}", g.output());
}

/// Writes the first UPDATES UPDATEs make, counted on a clean run.
fn writes_of_a_clean_run(ns: &Netns) -> usize {
    let dev = device(ns);
    // Fail from a write number never reached: counts nothing, changes nothing.
    let g = boot(ns, &dev, &[]);
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
            let mut g = boot(&ns, &dev, &[format!("--block-fault:storage={at}:{mode}")]);
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
            let g = boot(&ns, &dev, &[]);
            g.wait_for(" ready", T);
            // The UPDATE in flight at the crash may be there or not (the
            // state before or after that write); every acknowledged one
            // is, none after it.
            let in_flight = acked.len();
            for i in (0..UPDATES).filter(|i| *i != in_flight) {
                assert_eq!(
                    served(&ns, i),
                    acked.contains(&i),
                    "write {at} {mode}: UPDATE {i} (acknowledged: {acked:?})\n{}",
                    g.output()
                );
            }
            // And the device takes UPDATEs again.
            let (ok, out) = add(&ns, 9);
            assert!(
                ok && served(&ns, 9),
                "write {at} {mode}: {out}\n{}",
                g.output()
            );
        }
    }
}
