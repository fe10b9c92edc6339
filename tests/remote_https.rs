//! Zones from a public repository (issue 28, seed 001's
//! `--remote=https://my-public-git-repository`): the image clones over
//! HTTPS from git's own `git http-backend` behind lighttpd in the test's
//! namespace (TLS from a CA the test makes, given with `--remote-ca=`, the
//! host name through `--resolver`, a Knot authoritative for the lab's
//! zone), and from `git daemon` over git://. A commit and a signed NOTIFY
//! are served; a signed UPDATE is REFUSED (read-only) with a log line; a
//! wrong CA is a clear log line; the server down at boot, then up.

mod common;
use base64::Engine;
use common::*;
use std::time::Duration;
use xtask::githttp::{Place, WebGit, PASSWORD, USER};
use xtask::sshd::GitServer;

const T: Duration = Duration::from_secs(30);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";

fn zone(serial: u32) -> String {
    format!(
        "$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.{serial}\n"
    )
}

fn keys() -> String {
    format!("personal._update.x25519.net. DNSKEY 0 3 163 {SECRET}\n")
}

fn serial(ns: &Netns) -> String {
    dig(ns, &["x25519.net", "SOA", "+short"])
}

/// The repository, its https:// and git:// servers in `ns` (10.0.0.1:443
/// and :9418), and Knot answering git.lab.test -> 10.0.0.1.
struct Lab {
    srv: GitServer,
    web: WebGit,
    _knot: Daemon,
}

fn lab(ns: &Netns, tag: &str) -> Lab {
    let srv = GitServer::repository(
        tag,
        &[("x25519.net", &zone(5)), ("x25519.net._keys", &keys())],
    );
    let place = Place {
        ns: Some(ns),
        bind: "0.0.0.0",
        https_port: 443,
        daemon_port: 9418,
    };
    let web = WebGit::start(
        place,
        &srv.dir.join("web"),
        &srv.dir,
        &["git.lab.test", "10.0.0.1"],
    );
    let knot = knot_authority(
        ns,
        "lab.test",
        "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 10.0.0.1\ngit A 10.0.0.1\n",
    );
    Lab {
        srv,
        web,
        _knot: knot,
    }
}

fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}

fn skip_all(test: &str) -> bool {
    !kvm_or_skip(test)
        || !netns_or_skip(test)
        || !needs(
            test,
            xtask::githttp::available(),
            "lighttpd, lighttpd-mod-openssl, git",
        )
}

fn boot(ns: &Netns, args: &[String]) -> Guest {
    let mut a = vec![
        "--ipv4=10.0.0.2/24".to_string(),
        "--resolver=10.0.0.1".into(),
    ];
    a.extend(args.iter().cloned());
    Guest::boot(ns, &a.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The seed's form: clone over HTTPS by host name, a commit and a signed
/// NOTIFY served, a signed UPDATE refused as read-only.
#[test]
fn https_remote_by_name_notify_and_read_only_update() {
    let test = "https_remote_by_name_notify_and_read_only_update";
    if skip_all(test) {
        return;
    }
    let ns = netns("rhttps");
    let l = lab(&ns, "rhttps");
    let g = boot(
        &ns,
        &[
            "--remote=https://git.lab.test/git/zones.git".into(),
            format!("--remote-ca={}", b64(&l.web.ca_der)),
        ],
    );
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 5 "), "{}", g.output());
    assert!(g.output().contains("protocol v2"), "{}", g.output());

    l.srv.commit(&[("x25519.net", &zone(6))], "serial 6");
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let out = dig(
        &ns,
        &["x25519.net", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    eventually("serial 6 after NOTIFY", T, || serial(&ns).contains(" 6 "));

    let script =
        "server 10.0.0.2\nzone x25519.net\nupdate add new.x25519.net 300 A 192.0.2.77\nsend\n";
    let (ok, out) = nsupdate(&ns, &["-y", &key], script);
    assert!(!ok && out.contains("REFUSED"), "nsupdate: {out}");
    g.wait_for("read-only", T);
    assert_eq!(dig(&ns, &["new.x25519.net", "A", "+short"]).trim(), "");
}

/// A CA that did not sign the server's certificate: refused, and the log
/// says why and what to do; the public roots refuse it the same way.
/// Basic auth: with the right password the private path clones.
#[test]
fn https_wrong_ca_is_a_clear_log_line_and_basic_auth_clones() {
    let test = "https_wrong_ca_is_a_clear_log_line_and_basic_auth_clones";
    if skip_all(test) {
        return;
    }
    let ns = netns("rhttpsca");
    let l = lab(&ns, "rhttpsca");
    let url = "--remote=https://10.0.0.1/git/zones.git".to_string();
    let g = boot(
        &ns,
        &[
            url.clone(),
            format!("--remote-ca={}", b64(&l.web.other_ca_der)),
        ],
    );
    g.wait_for("does not chain to a trusted root", T);
    assert!(dig(&ns, &["x25519.net", "SOA"]).contains("status: REFUSED"));
    drop(g);
    let g = boot(&ns, &[url]);
    g.wait_for("does not chain to a trusted root", T);
    drop(g);
    let private = "--remote=https://10.0.0.1/private/zones.git".to_string();
    let ca = format!("--remote-ca={}", b64(&l.web.ca_der));
    let g = boot(&ns, &[private.clone(), ca.clone()]);
    g.wait_for("needs credentials", T);
    drop(g);
    let g = boot(
        &ns,
        &[
            private,
            ca,
            format!("--remote-user={USER}"),
            format!("--remote-token={PASSWORD}"),
        ],
    );
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 5 "), "{}", g.output());
}

/// The server down at boot, then up: retried with backoff while the
/// storage cache's zones are served, then the clone replaces them; after a
/// restart with the server down again, the cache serves the clone's zones
/// at once.
#[test]
fn https_server_down_at_boot_then_up_and_the_storage_cache() {
    let test = "https_server_down_at_boot_then_up_and_the_storage_cache";
    if skip_all(test) {
        return;
    }
    let ns = netns("rhttpsdown");
    let mut l = lab(&ns, "rhttpsdown");
    l.web.stop_web();
    // A cache from an earlier run (serial 4).
    let dev = zone_device(
        &ns,
        &[("x25519.net", &zone(4)), ("x25519.net._keys", &keys())],
    );
    let args = [
        "--ipv4=10.0.0.2/24".to_string(),
        "--resolver=10.0.0.1".into(),
        "--remote=https://git.lab.test/git/zones.git".into(),
        format!("--remote-ca={}", b64(&l.web.ca_der)),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for("cannot connect to 10.0.0.1:443", T);
    g.wait_for("retrying in", T);
    assert!(
        serial(&ns).contains(" 4 "),
        "the cache is served: {}",
        g.output()
    );
    l.web.start_web(Some(&ns));
    g.wait_for("git: main is at", T);
    eventually("serial 5 from the clone", T, || serial(&ns).contains(" 5 "));
    drop(g);
    l.web.stop_web();
    let g = Guest::boot_with_device(&ns, &dev, &args);
    g.wait_for(" ready", T);
    assert!(serial(&ns).contains(" 5 "), "{}", g.output());
    g.wait_for("cannot connect to 10.0.0.1:443", T);
}

/// git://: clone, a commit and NOTIFY served, the daemon down then up.
#[test]
fn git_daemon_remote_clone_notify_and_down_then_up() {
    let test = "git_daemon_remote_clone_notify_and_down_then_up";
    if skip_all(test) {
        return;
    }
    let ns = netns("rgitd");
    let mut l = lab(&ns, "rgitd");
    l.web.stop_daemon();
    let g = boot(&ns, &["--remote=git://git.lab.test/zones.git".into()]);
    g.wait_for("cannot connect to 10.0.0.1:9418", T);
    l.web.start_daemon(Some(&ns));
    g.wait_for("git: main is at", T);
    assert!(serial(&ns).contains(" 5 "), "{}", g.output());
    l.srv.commit(&[("x25519.net", &zone(7))], "serial 7");
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let out = dig(
        &ns,
        &["x25519.net", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    eventually("serial 7 after NOTIFY", T, || serial(&ns).contains(" 7 "));
}
