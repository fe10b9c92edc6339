//! ACME certificates with a read-only remote (issue 28): the zones come
//! from `git http-backend` behind lighttpd over HTTPS, a CSR in them makes
//! the appliance order a certificate from Pebble (both in the test's
//! namespace at 10.0.0.1); the certificate cannot be pushed there, so with
//! a storage device it is kept in the storage cache over the remote's files:
//! served, still served after a reboot (before and after the first fetch),
//! and after a new commit of the zone. Without a device the write-back is
//! refused with a log line saying why. The counters are read off the
//! tender's `--metrics`.
//!
//! Needs /dev/kvm, root (namespaces), lighttpd + git, pebble + openssl;
//! skips loudly otherwise, fails instead under GITNS_REQUIRE_KVM=1.

mod common;
use base64::Engine;
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};
use xtask::githttp::{Place, WebGit};
use xtask::pebble::Pebble;
use xtask::sshd::GitServer;

const T: Duration = Duration::from_secs(30);
/// Bound on a whole order, CSR seen to certificate in DNS.
const ISSUE: Duration = Duration::from_secs(90);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const OWNER: &str = "_letsencrypt._tcp.www.example.org.";

fn zone(serial: u32, csr: &[u8]) -> String {
    format!(
        "$TTL 3600\n@ SOA ns1 hostmaster {serial} 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.{serial}\n{OWNER} 3600 IN TLSA 3 255 0 {}\n",
        hex(csr)
    )
}

fn keys() -> String {
    format!("personal._update.example.org. DNSKEY 0 3 163 {SECRET}\n")
}

/// A DER CSR for www.example.org (P-256).
fn csr() -> Vec<u8> {
    use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p = CertificateParams::new(vec!["www.example.org".to_string()]).unwrap();
    p.distinguished_name
        .push(DnType::CommonName, "www.example.org");
    p.serialize_request(&key).unwrap().der().to_vec()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The `3 0 0` (certificate) TLSA data at OWNER, as dig shows it over
/// TCP (hex, lower case).
fn leaves(ns: &Netns) -> Vec<String> {
    dig(ns, &["+tcp", "+short", OWNER, "TLSA"])
        .lines()
        .filter_map(|l| l.strip_prefix("3 0 0 "))
        .map(|h| {
            h.split_whitespace()
                .collect::<String>()
                .to_ascii_lowercase()
        })
        .collect()
}

fn serial(ns: &Netns) -> String {
    dig(ns, &["example.org", "SOA", "+short"])
}

/// Wait until the metrics page has a line `line` (the guest reports about
/// once a second).
fn wait_metric(ns: &Netns, line: &str) {
    let end = Instant::now() + T;
    loop {
        let m = metrics_get(ns, "/metrics");
        if m.lines().any(|l| l == line) {
            return;
        }
        assert!(Instant::now() < end, "no `{line}` on /metrics:\n{m}");
        std::thread::sleep(Duration::from_millis(300));
    }
}

struct Lab {
    ns: Netns,
    srv: GitServer,
    _web: WebGit,
    pebble: Pebble,
    args: Vec<String>,
}

impl Lab {
    /// The repository over HTTPS and Pebble at 10.0.0.1, and the image's
    /// arguments for both.
    fn start(tag: &str, csr: &[u8]) -> Lab {
        let ns = netns(tag);
        let srv = GitServer::repository(
            tag,
            &[
                ("example.org", &zone(5, csr)),
                ("example.org._keys", &keys()),
            ],
        );
        let place = Place {
            ns: Some(&ns),
            bind: "0.0.0.0",
            https_port: 443,
            daemon_port: 9418,
        };
        let web = WebGit::start(place, &srv.dir.join("web"), &srv.dir, &["10.0.0.1"]);
        let pebble = Pebble::start(&ns, "10.0.0.1", "10.0.0.2:53")
            .unwrap_or_else(|e| panic!("harness: pebble: {e}"));
        let b64 = base64::engine::general_purpose::STANDARD.encode(&web.ca_der);
        let args = vec![
            "--ipv4=10.0.0.2/24".to_string(),
            "--remote=https://10.0.0.1/git/zones.git".to_string(),
            format!("--remote-ca={b64}"),
            format!("--acme-server={}", pebble.directory()),
            format!("--acme-ca={}", pebble.ca_base64()),
            "--account-key-seed=gitns-acme-test-account-seed".to_string(),
            "--email=ops@example.org".to_string(),
        ];
        Lab {
            ns,
            srv,
            _web: web,
            pebble,
            args,
        }
    }

    /// Boot under the tender with `--metrics`, on `dev` (the storage image)
    /// or without a device (the plain image).
    fn boot(&self, dev: Option<&Path>) -> Guest {
        let mut c = self.ns.command(tender().to_str().unwrap());
        c.arg("--metrics=127.0.0.1:9100")
            .arg(format!("--net:service={}", self.ns.tap));
        match dev {
            Some(d) => c
                .arg(format!("--block:storage={}", d.display()))
                .arg(image_storage()),
            None => c.arg(image()),
        };
        c.args(&self.args);
        Guest::spawn(c)
    }

    /// Wait up to ISSUE for a certificate at OWNER; its hex.
    fn wait_leaf(&self, g: &Guest) -> String {
        let end = Instant::now() + ISSUE;
        loop {
            if let Some(l) = leaves(&self.ns).pop() {
                return l;
            }
            assert!(
                Instant::now() < end,
                "no certificate within {ISSUE:?}\n{}\n--- pebble ---\n{}",
                g.output(),
                self.pebble.log()
            );
            std::thread::sleep(Duration::from_millis(500));
        }
    }
}

fn skip_all(test: &str) -> bool {
    !kvm_or_skip(test)
        || !netns_or_skip(test)
        || !needs(
            test,
            xtask::githttp::available(),
            "lighttpd, lighttpd-mod-openssl, git",
        )
        || !needs(
            test,
            have_program("pebble") && have_program("openssl"),
            "pebble and openssl",
        )
}

/// Issued and kept in the storage cache (a /metrics line), served: the
/// certificate (hex) and the SOA served.
fn issued_and_kept(lab: &Lab, dev: &Path) -> (String, String) {
    let g = lab.boot(Some(dev));
    g.wait_for("git: main is at", T);
    let leaf = lab.wait_leaf(&g);
    g.wait_for("kept in the storage cache over the read-only remote", T);
    wait_metric(
        &lab.ns,
        "gitns_read_only_updates_total{result=\"kept_locally\"} 1",
    );
    // 5 from the remote, + 1 for each change served since (the challenge
    // TXT published and removed, the certificate).
    let served = serial(&lab.ns);
    assert!(!served.contains(" 5 "), "{served}");
    (leaf, served)
}

/// Rebooted with the web server up: the cache serves the certificate at
/// the serial served before, the fetch (up to date) keeps it, and a new
/// commit is served with the certificate over it; the remote never gets
/// it and nothing is ordered again.
fn after_a_reboot_and_a_commit(lab: &Lab, dev: &Path, csr: &[u8], leaf: &str, served: &str) {
    let g = lab.boot(Some(dev));
    g.wait_for(" ready", T);
    assert_eq!(leaves(&lab.ns), vec![leaf.to_string()], "{}", g.output());
    assert_eq!(
        serial(&lab.ns),
        served,
        "the serial served before the reboot"
    );
    g.wait_for("git: main is at", T);
    assert_eq!(leaves(&lab.ns), vec![leaf.to_string()], "{}", g.output());

    lab.srv
        .commit(&[("example.org", &zone(9, csr))], "serial 9");
    let key = format!("hmac-sha256:personal._update:{SECRET}");
    let out = dig(
        &lab.ns,
        &["example.org", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    assert!(out.contains("status: NOERROR"), "{out}");
    eventually("the commit served", T, || {
        dig(&lab.ns, &["www.example.org", "A", "+short"]).trim() == "192.0.2.9"
    });
    assert_eq!(leaves(&lab.ns), vec![leaf.to_string()], "{}", g.output());
    let now = serial(&lab.ns);
    assert!(
        !now.contains(" 9 ") && now != served,
        "9 + the certificate: {now}"
    );
    let file = xtask::gitread::file_at(&lab.srv.repo, "main", "example.org")
        .unwrap()
        .unwrap_or_default();
    let file = String::from_utf8_lossy(&file).to_ascii_lowercase();
    assert!(
        !file.contains(&leaf[..40]),
        "the read-only remote got the certificate"
    );
    let issued = g.output().matches("acme: certificate for").count();
    assert_eq!(issued, 0, "no second order: {}", g.output());
}

/// Without a device: the write-back is refused with a log line saying why
/// (a /metrics line), and not ordered again at once (that would loop on
/// the CA) but after the order backoff.
fn refused_without_a_device(lab: &Lab) {
    let g = lab.boot(None);
    g.wait_for("git: main is at", T);
    g.wait_for(
        "with --storage it would be kept in the storage cache",
        ISSUE,
    );
    wait_metric(
        &lab.ns,
        "gitns_read_only_updates_total{result=\"refused\"} 1",
    );
    assert!(leaves(&lab.ns).is_empty(), "{}", g.output());
    g.wait_for("was refused (RCODE 5); ordering again in", T);
    std::thread::sleep(Duration::from_secs(5));
    let orders = g
        .output()
        .matches("acme: ordering a certificate for")
        .count();
    assert_eq!(orders, 1, "{}", g.output());
}

/// With `--storage`: the certificate is issued, kept in the storage cache,
/// served, served at once after a reboot and after the fetch that follows
/// it, and after a new commit of the zone; the remote never sees it.
/// Without a device: refused, with the log line.
#[test]
fn https_remote_certificates_kept_in_the_storage_cache() {
    let test = "https_remote_certificates_kept_in_the_storage_cache";
    if skip_all(test) {
        return;
    }
    let csr = csr();
    let lab = Lab::start("rhttpsacme", &csr);
    // A cache from an earlier run (serial 4, no certificate).
    let dev = zone_device(
        &lab.ns,
        &[
            ("example.org", &zone(4, &csr)),
            ("example.org._keys", &keys()),
        ],
    );
    let (leaf, served) = issued_and_kept(&lab, &dev);
    after_a_reboot_and_a_commit(&lab, &dev, &csr, &leaf, &served);
    refused_without_a_device(&lab);
}
