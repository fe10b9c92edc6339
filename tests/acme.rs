//! ACME end to end, the seeds' flow without the extra unikernel: a CSR as
//! `_letsencrypt._tcp.HOST TLSA 3 255 0` in a zone from git makes the
//! appliance order a certificate from Pebble (in the test's namespace at
//! 10.0.0.1, validating DNS-01 against the appliance at 10.0.0.2), and write
//! it back as `3 0 0` (leaf) and `0 0 0` (chain) TLSA records, committed and
//! pushed to the remote. Checked with dig, openssl and gix only.
//!
//! Needs /dev/kvm, root (namespaces), sshd + git, pebble + openssl (the
//! test command installs them); skips loudly otherwise, fails instead under
//! GITNS_REQUIRE_KVM=1. Run alone with `cargo xtask test --test acme`.

#[path = "acme_capture/mod.rs"]
mod capture;
mod common;
use capture::Capture;
use common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use xtask::pebble::Pebble;
use xtask::sshd::{key, GitServer};

/// Bound on boot and clone.
const T: Duration = Duration::from_secs(30);
/// Bound on a whole order, CSR seen to certificate in DNS.
const ISSUE: Duration = Duration::from_secs(60);
/// How long a refused CSR is watched (the appliance scans its zones for
/// CSRs about 10 s after boot, then on changes).
const REFUSE: Duration = Duration::from_secs(20);
const SECRET: &str = "PAPPkecDvEBnhqTzG5Xsbrbi7W0QY7TpVaEMxndMv2M=";
const SEED: [u8; 32] = [0x5b; 32];
const OWNER: &str = "_letsencrypt._tcp.www.example.org.";

fn zone(extra: &str) -> String {
    format!(
        "$TTL 3600\n@ SOA ns1 hostmaster 1 7200 3600 1209600 300\n@ NS ns1\nns1 A 10.0.0.2\nwww A 192.0.2.80\n{extra}"
    )
}

fn keys() -> String {
    format!("personal._update.example.org. DNSKEY 0 3 163 {SECRET}\n")
}

/// A P-256 key and a DER CSR for `names` (CN the first).
fn csr(names: &[&str]) -> (rcgen::KeyPair, Vec<u8>) {
    use rcgen::{CertificateParams, DnType, KeyPair, PKCS_ECDSA_P256_SHA256};
    let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut p =
        CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap();
    p.distinguished_name.push(DnType::CommonName, names[0]);
    let der = p.serialize_request(&key).unwrap().der().to_vec();
    (key, der)
}

fn csr_record(der: &[u8]) -> String {
    format!("{OWNER} 3600 IN TLSA 3 255 0 {}\n", hex(der))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s = s.as_bytes();
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.chunks(2)
        .map(|c| u8::from_str_radix(std::str::from_utf8(c).ok()?, 16).ok())
        .collect()
}

fn pem(der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let body: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        body.join("\n")
    )
}

/// The TLSA records at OWNER as dig sees them over TCP:
/// (usage, selector, matching, data).
fn tlsa(ns: &Netns) -> Vec<(u8, u8, u8, Vec<u8>)> {
    dig(ns, &["+tcp", "+short", OWNER, "TLSA"])
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 4 {
                return None;
            }
            Some((
                w[0].parse().ok()?,
                w[1].parse().ok()?,
                w[2].parse().ok()?,
                unhex(&w[3..].concat())?,
            ))
        })
        .collect()
}

fn of_kind(rrs: &[(u8, u8, u8, Vec<u8>)], kind: (u8, u8, u8)) -> Vec<Vec<u8>> {
    rrs.iter()
        .filter(|r| (r.0, r.1, r.2) == kind)
        .map(|r| r.3.clone())
        .collect()
}

fn tail(text: &str, lines: usize) -> String {
    let v: Vec<&str> = text.lines().collect();
    v[v.len().saturating_sub(lines)..].join("\n")
}

/// How a test's rig differs from the plain one.
struct Setup<'a> {
    /// Where Pebble asks for DNS-01 records (the appliance by default).
    pebble_dns: &'a str,
    pebble_env: &'a [(&'a str, &'a str)],
    /// Pebble is stopped before the appliance boots (the CA is down).
    ca_down: bool,
    /// Pebble's certificate lifetime (its default is five years).
    validity_secs: Option<u64>,
    /// More image arguments.
    args: &'a [&'a str],
    /// The appliance talks to Pebble through the capturing TLS front.
    capture: bool,
}

const PLAIN: Setup<'static> = Setup {
    pebble_dns: "10.0.0.2:53",
    pebble_env: &[],
    ca_down: false,
    validity_secs: None,
    args: &[],
    capture: false,
};

/// Everything of one test; dropped guest first, namespace last.
struct Rig {
    guest: Option<Guest>,
    pebble: Pebble,
    srv: GitServer,
    /// The TLS front in front of Pebble, when the setup asks for it.
    capture: Option<Capture>,
    /// Pebble's issuing root (fetched from its management port at start).
    root: String,
    ns: Netns,
}

impl Rig {
    /// Namespace, sshd + repository of `files`, Pebble at 10.0.0.1 asking
    /// 10.0.0.2:53 for DNS-01, and the image booted with the ACME options;
    /// returns once the zones are cloned.
    fn start(tag: &str, files: &[(&str, &str)]) -> Rig {
        Rig::start_with(tag, files, &PLAIN)
    }

    fn start_with(tag: &str, files: &[(&str, &str)], setup: &Setup) -> Rig {
        let ns = netns(tag);
        let srv = GitServer::start(&ns, tag, &key(SEED).1, files);
        let mut pebble = Pebble::start_with(
            &ns,
            "10.0.0.1",
            setup.pebble_dns,
            setup.pebble_env,
            setup.validity_secs,
        )
        .unwrap_or_else(|e| panic!("harness: pebble: {e}"));
        let root = pebble
            .root_pem()
            .unwrap_or_else(|e| panic!("harness: pebble root: {e}\n{}", pebble.log()));
        assert!(root.contains("BEGIN CERTIFICATE"), "{root}");
        if setup.ca_down {
            pebble.stop();
        }
        let capture = setup
            .capture
            .then(|| Capture::start(&ns, "10.0.0.1", pebble.ca_der()));
        let mut rig = Rig {
            guest: None,
            pebble,
            srv,
            capture,
            root,
            ns,
        };
        rig.boot(setup.args);
        rig
    }

    /// (Re)boot the image with the ACME options and `extra` arguments;
    /// returns once the zones are cloned.
    fn boot(&mut self, extra: &[&str]) {
        drop(self.guest.take());
        let mut args = vec![
            "--ipv4=10.0.0.2/24".to_string(),
            self.srv.remote(),
            format!("--ssh-key={}", key(SEED).0),
            format!("--ssh-authenticator={}", self.srv.fingerprint),
            format!("--acme-server={}", self.pebble.directory()),
            format!("--acme-ca={}", self.pebble.ca_base64()),
            "--account-key-seed=gitns-acme-test-account-seed".to_string(),
            "--email=ops@example.org".to_string(),
        ];
        if let Some(c) = &self.capture {
            // The later --acme-server wins; --acme-ca adds an anchor.
            args.push(format!("--acme-server={}", c.directory("10.0.0.1")));
            args.push(format!("--acme-ca={}", c.ca_base64()));
        }
        args.extend(extra.iter().map(|a| a.to_string()));
        let guest = Guest::boot(
            &self.ns,
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        guest.wait_for("git: main is at", T);
        self.guest = Some(guest);
    }

    fn guest(&self) -> &Guest {
        self.guest.as_ref().expect("booted")
    }

    /// Wait up to `within` for a line of the appliance's log holding every
    /// one of `words`; panics with the report otherwise.
    fn wait_log(&self, words: &[&str], within: Duration) {
        let end = Instant::now() + within;
        let seen = |out: &str| out.lines().any(|l| words.iter().all(|w| l.contains(w)));
        while !seen(&self.guest().output()) {
            assert!(
                Instant::now() < end,
                "no log line with {words:?} within {within:?}\n{}",
                self.report()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// What to look at when the appliance did not do its part.
    fn report(&self) -> String {
        format!(
            "--- appliance (last lines) ---\n{}\n--- pebble (last lines) ---\n{}\n--- TLSA at {OWNER} ---\n{}",
            tail(&self.guest().output(), 40),
            tail(&self.pebble.log(), 30),
            dig(&self.ns, &["+tcp", "+short", OWNER, "TLSA"])
        )
    }

    /// Wait up to `within` for a `3 0 0` record; the whole TLSA RRset then.
    fn wait_certificate(&self, within: Duration) -> Vec<(u8, u8, u8, Vec<u8>)> {
        self.wait_new_certificate(within, &[])
    }

    /// Wait up to `within` for a `3 0 0` record other than `old`.
    fn wait_new_certificate(&self, within: Duration, old: &[u8]) -> Vec<(u8, u8, u8, Vec<u8>)> {
        let end = Instant::now() + within;
        loop {
            let rrs = tlsa(&self.ns);
            if of_kind(&rrs, (3, 0, 0)).iter().any(|l| l != old) {
                return rrs;
            }
            if Instant::now() >= end {
                panic!(
                    "no TLSA 3 0 0 (certificate) at {OWNER} within {within:?}: the \
                     appliance's ACME client did not deliver (harness, Pebble, git and \
                     boot were up)\n{}",
                    self.report()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    fn dir(&self) -> PathBuf {
        let d = std::env::temp_dir().join(format!("{}-certs", self.ns.name));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        let _ =
            std::fs::remove_dir_all(std::env::temp_dir().join(format!("{}-certs", self.ns.name)));
    }
}

fn openssl(args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// `openssl verify` of `leaf` up to `root` through `chain`; panics with
/// openssl's words otherwise.
fn verify(dir: &Path, root: &str, chain: &str, leaf: &str) {
    let write = |n: &str, t: &str| {
        let p = dir.join(n);
        std::fs::write(&p, t).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (r, c, l) = (
        write("root.pem", root),
        write("untrusted.pem", chain),
        write("leaf.pem", leaf),
    );
    let (ok, out) = openssl(&["verify", "-CAfile", &r, "-untrusted", &c, &l]);
    assert!(ok && out.contains(": OK"), "openssl verify: {out}");
}

fn skip_all(test: &str) -> bool {
    !kvm_or_skip(test) || !netns_or_skip(test) || !sshd_or_skip(test) || !pebble_or_skip(test)
}

fn pebble_or_skip(test: &str) -> bool {
    let have = have_program("pebble") && have_program("openssl");
    needs(test, have, "pebble and openssl")
}

/// The harness alone (no VM): Pebble in a namespace on 10.0.0.1 answers its
/// directory and hands out its root over TLS trusting only the listener CA.
#[test]
fn pebble_runs_in_a_namespace() {
    let test = "pebble_runs_in_a_namespace";
    if !netns_or_skip(test) || !pebble_or_skip(test) {
        return;
    }
    let ns = netns("acmepebble");
    let pebble = Pebble::start(&ns, "10.0.0.1", "10.0.0.2:53").unwrap();
    assert_eq!(pebble.directory(), "https://10.0.0.1:14000/dir");
    let root = pebble.root_pem().unwrap();
    let inter = pebble.intermediate_pem().unwrap();
    let dir = std::env::temp_dir().join(format!("{}-roots", ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("root.pem"), &root).unwrap();
    std::fs::write(dir.join("inter.pem"), &inter).unwrap();
    let (ok, out) = openssl(&[
        "verify",
        "-CAfile",
        dir.join("root.pem").to_str().unwrap(),
        dir.join("inter.pem").to_str().unwrap(),
    ]);
    let _ = std::fs::remove_dir_all(&dir);
    assert!(ok, "intermediate under root: {out}");
    // The directory over TLS with the listener CA and the IP checked.
    let ca = pebble.ca_pem_path();
    let (ok, out) = {
        let o = ns
            .command("openssl")
            .args(["s_client", "-quiet", "-connect", "10.0.0.1:14000"])
            .args(["-verify_return_error", "-verify_ip", "10.0.0.1", "-CAfile"])
            .arg(&ca)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut o = o;
        use std::io::Write;
        o.stdin
            .take()
            .unwrap()
            .write_all(b"GET /dir HTTP/1.0\r\nHost: 10.0.0.1:14000\r\n\r\n")
            .unwrap();
        // s_client -quiet ends when Pebble closes the HTTP/1.0 exchange.
        let end = Instant::now() + Duration::from_secs(10);
        while o.try_wait().unwrap().is_none() {
            if Instant::now() > end {
                let _ = o.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let out = o.wait_with_output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    assert!(ok && out.contains("newOrder"), "{out}");
}

/// The seeds' flow: a CSR in the zone from git gets its certificate in DNS
/// and in the remote.
#[test]
fn a_csr_in_the_zone_gets_a_certificate() {
    let test = "a_csr_in_the_zone_gets_a_certificate";
    if skip_all(test) {
        return;
    }
    let (csr_key, der) = csr(&["www.example.org"]);
    let rig = Rig::start(
        "acmeissue",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
    );
    // The appliance serves the CSR (over TCP: it is big).
    let before = tlsa(&rig.ns);
    assert_eq!(
        of_kind(&before, (3, 255, 0)),
        vec![der.clone()],
        "{}",
        rig.report()
    );

    let rrs = rig.wait_certificate(ISSUE);
    let leaves = of_kind(&rrs, (3, 0, 0));
    assert_eq!(leaves.len(), 1, "one certificate: {}", rig.report());
    let chain = of_kind(&rrs, (0, 0, 0));
    assert!(!chain.is_empty(), "chain records (0 0 0): {}", rig.report());
    let dir = rig.dir();
    let leaf_pem = pem(&leaves[0]);
    let chain_pem: String = chain.iter().map(|c| pem(c)).collect();
    verify(&dir, &rig.root, &chain_pem, &leaf_pem);
    // The names and the key are the CSR's.
    std::fs::write(dir.join("leaf.pem"), &leaf_pem).unwrap();
    let leaf_path = dir.join("leaf.pem");
    let (ok, san) = openssl(&[
        "x509",
        "-in",
        leaf_path.to_str().unwrap(),
        "-noout",
        "-ext",
        "subjectAltName",
    ]);
    assert!(ok, "{san}");
    let dns: Vec<&str> = san
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter_map(|w| w.strip_prefix("DNS:"))
        .collect();
    assert_eq!(dns, ["www.example.org"], "{san}");
    let (ok, pubkey) = openssl(&[
        "x509",
        "-in",
        leaf_path.to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok, "{pubkey}");
    assert_eq!(pubkey.trim(), csr_key.public_key_pem().trim());
    // The CSR stays (renewal reuses it).
    assert_eq!(of_kind(&rrs, (3, 255, 0)), vec![der.clone()]);

    // Committed and pushed: the remote's head holds the certificate.
    let squash = |b: &[u8]| -> String {
        String::from_utf8_lossy(b)
            .to_ascii_lowercase()
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
            .collect()
    };
    let want = format!("tlsa300{}", hex(&leaves[0]));
    let end = Instant::now() + T;
    loop {
        let file = xtask::gitread::file_at(&rig.srv.repo, "main", "example.org")
            .unwrap()
            .unwrap_or_default();
        if squash(&file).contains(&want) {
            for c in &chain {
                assert!(
                    squash(&file).contains(&format!("tlsa000{}", hex(c))),
                    "chain certificate in the pushed zone:\n{}",
                    String::from_utf8_lossy(&file)
                );
            }
            break;
        }
        assert!(
            Instant::now() < end,
            "the remote's head has no TLSA 3 0 0 of the certificate:\n{}\n{}",
            String::from_utf8_lossy(&file),
            rig.report()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let info = xtask::gitread::commit_info(&rig.srv.repo, "main").unwrap();
    eprintln!("certificate commit: {info:?}");
    assert_eq!(rig.srv.bare(&["fsck", "--strict"]), "");
}

/// RFC 8555 6.1: an ACME client sends a User-Agent; one, naming it. Read
/// off the wire after TLS by a front relaying to Pebble (the https codec
/// used to add its own `User-Agent: gitns` beside the ACME client's), and
/// the order still ends in a certificate through the front.
#[test]
fn every_acme_request_carries_one_user_agent() {
    let test = "every_acme_request_carries_one_user_agent";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.example.org"]);
    let setup = Setup {
        capture: true,
        ..PLAIN
    };
    let rig = Rig::start_with(
        "acmeagent",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
        &setup,
    );
    let rrs = rig.wait_certificate(ISSUE);
    assert_eq!(of_kind(&rrs, (3, 0, 0)).len(), 1, "{}", rig.report());
    let heads = rig.capture.as_ref().expect("front").heads();
    assert!(
        !heads.is_empty(),
        "no request reached the front\n{}",
        rig.report()
    );
    for head in &heads {
        eprintln!("captured:\n{head}");
        let agents: Vec<&str> = head
            .lines()
            .filter(|l| l.to_ascii_lowercase().starts_with("user-agent:"))
            .collect();
        assert_eq!(agents.len(), 1, "one User-Agent field:\n{head}");
        assert!(
            agents[0].contains("gitns-acme/"),
            "the ACME client names itself (RFC 8555 6.1):\n{head}"
        );
    }
}

/// A CSR for a name outside the appliance's zones cannot be validated by
/// DNS-01 from here: refused, logged, no certificate.
#[test]
fn a_csr_for_a_foreign_name_is_refused() {
    let test = "a_csr_for_a_foreign_name_is_refused";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.elsewhere.test"]);
    let rig = Rig::start(
        "acmeforeign",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
    );
    assert_eq!(
        of_kind(&tlsa(&rig.ns), (3, 255, 0)),
        vec![der],
        "{}",
        rig.report()
    );
    let end = Instant::now() + REFUSE;
    let refused = |out: &str| {
        out.lines().any(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("acme:") && (l.contains("outside") || l.contains("refus"))
        })
    };
    while Instant::now() < end && !refused(&rig.guest().output()) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        refused(&rig.guest().output()),
        "no `acme: ... refused ... outside our zones` in the appliance's log within {REFUSE:?}\n{}",
        rig.report()
    );
    assert!(
        of_kind(&tlsa(&rig.ns), (3, 0, 0)).is_empty(),
        "{}",
        rig.report()
    );
    assert!(
        !rig.pebble.log().contains("elsewhere.test"),
        "no order was placed: {}",
        rig.pebble.log()
    );
}

/// `cargo xtask certify` (the host's ocertify) against the booted image: it
/// places the CSR with the zone's TSIG key and writes key, certificate and
/// chain once the appliance delivered. A second run (a new key) replaces
/// the first CSR only and gets a certificate for its own key.
#[test]
fn xtask_certify_end_to_end() {
    let test = "xtask_certify_end_to_end";
    if skip_all(test) {
        return;
    }
    let rig = Rig::start(
        "acmecertify",
        &[("example.org", &zone("")), ("example.org._keys", &keys())],
    );
    let dir = rig.dir();
    let first = certify_round(&rig, &dir.join("first"));
    let second = certify_round(&rig, &dir.join("second"));
    assert_ne!(first, second, "a new key for the second run");
    gitns_certify_reuses_a_valid_certificate(&rig, &dir);
}

/// The installed tool in ocertify's form, `gitns certify SERVER HOST
/// --key=...`, with `--key-seed`: the first run orders, a second run with
/// the same seed (a fresh directory: the key comes from the seed, not a
/// file) finds the served certificate valid for its key and orders nothing:
/// no UPDATE, no commit, the same certificate written.
fn gitns_certify_reuses_a_valid_certificate(rig: &Rig, dir: &Path) {
    let run = |out: &Path| {
        let mut c = rig.ns.command(tools_bin().to_str().unwrap());
        c.args(["certify", "10.0.0.2", "www.example.org"])
            .arg(format!(
                "--key=personal._update.example.org:SHA256:{SECRET}"
            ))
            .arg("--key-seed=the seed of the www certificate")
            .args(["--wait", "60", "--out"])
            .arg(out);
        let mut g = Guest::spawn(c);
        let status = g.wait_exit(ISSUE + Duration::from_secs(30));
        assert!(
            status.success(),
            "gitns certify ({status}):\n{}\n{}",
            g.output(),
            rig.report()
        );
        let leaf = std::fs::read_to_string(out.join("www.example.org.pem")).unwrap();
        (g.output(), leaf)
    };
    let (out, leaf) = run(&dir.join("seeded"));
    assert!(out.contains("certificate key from --key-seed"), "{out}");
    assert!(out.contains("CSR for www.example.org placed"), "{out}");
    let head = rig.srv.bare(&["rev-parse", "main"]);
    let (again, same) = run(&dir.join("seeded-again"));
    assert!(
        again.contains("already holds a valid certificate for this key; not ordering again")
            && !again.contains("placed"),
        "{again}"
    );
    assert_eq!(same, leaf, "the served certificate, reused");
    assert_eq!(
        rig.srv.bare(&["rev-parse", "main"]),
        head,
        "no UPDATE committed"
    );
    // The key written is the seed's, and the certificate's.
    let key = dir.join("seeded-again/www.example.org.key");
    let (ok, a) = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert!(ok, "{a}");
    let cert = dir.join("seeded/www.example.org.pem");
    let (ok, b) = openssl(&["x509", "-in", cert.to_str().unwrap(), "-noout", "-pubkey"]);
    assert!(ok, "{b}");
    assert_eq!(a, b);
}

/// One `certify` run into `out`; checks its files and returns the key's
/// public key (PEM).
fn certify_round(rig: &Rig, out: &Path) -> String {
    let mut c = rig.ns.command(xtask_bin().to_str().unwrap());
    c.args(["certify", "--server", "10.0.0.2"])
        .arg(format!(
            "--key=personal._update.example.org:SHA256:{SECRET}"
        ))
        .args(["--hostname", "www.example.org", "--wait", "60", "--out"])
        .arg(out);
    let mut certify = Guest::spawn(c);
    let status = certify.wait_exit(ISSUE + Duration::from_secs(30));
    // The UPDATE landed whatever the outcome: exactly one CSR (an earlier
    // one replaced) is served and pushed.
    let csrs = of_kind(&tlsa(&rig.ns), (3, 255, 0));
    assert_eq!(
        csrs.len(),
        1,
        "certify's CSR: {}\n{}",
        certify.output(),
        rig.report()
    );
    let pushed = xtask::gitread::file_at(&rig.srv.repo, "main", "example.org")
        .unwrap()
        .unwrap_or_default();
    assert!(
        String::from_utf8_lossy(&pushed)
            .to_ascii_lowercase()
            .contains(&hex(&csrs[0])[..64]),
        "CSR pushed:\n{}",
        String::from_utf8_lossy(&pushed)
    );
    assert!(
        status.success(),
        "certify failed ({status}):\n{}\n{}",
        certify.output(),
        rig.report()
    );
    let key = out.join("www.example.org.key");
    let leaf = out.join("www.example.org.pem");
    let chain = out.join("www.example.org.chain.pem");
    for p in [&key, &leaf, &chain] {
        assert!(p.exists(), "{} written: {}", p.display(), certify.output());
    }
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o077,
        0
    );
    let chain_text = std::fs::read_to_string(&chain).unwrap();
    let leaf_text = std::fs::read_to_string(&leaf).unwrap();
    assert!(
        chain_text.starts_with(&leaf_text),
        "chain starts with the leaf"
    );
    assert!(
        chain_text.matches("BEGIN CERTIFICATE").count() >= 2,
        "{chain_text}"
    );
    let vdir = out.join("verify");
    std::fs::create_dir_all(&vdir).unwrap();
    verify(&vdir, &rig.root, &chain_text, &leaf_text);
    // The key file is the certificate's key.
    let (ok, a) = openssl(&["x509", "-in", leaf.to_str().unwrap(), "-noout", "-pubkey"]);
    assert!(ok, "{a}");
    let (ok, b) = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert!(ok, "{b}");
    assert_eq!(a, b);
    a
}

/// The chain of a TLSA RRset verifies to `root`; returns the leaf (DER).
fn check_chain(rig: &Rig, rrs: &[(u8, u8, u8, Vec<u8>)], root: &str, sub: &str) -> Vec<u8> {
    let leaves = of_kind(rrs, (3, 0, 0));
    assert_eq!(leaves.len(), 1, "one certificate: {}", rig.report());
    let chain: String = of_kind(rrs, (0, 0, 0)).iter().map(|c| pem(c)).collect();
    assert!(!chain.is_empty(), "chain records (0 0 0): {}", rig.report());
    let dir = std::env::temp_dir().join(format!("{}-certs-{sub}", rig.ns.name));
    std::fs::create_dir_all(&dir).unwrap();
    verify(&dir, root, &chain, &pem(&leaves[0]));
    let _ = std::fs::remove_dir_all(&dir);
    leaves[0].clone()
}

/// The pushed zone file at the remote's head, lower case, without blanks
/// and parentheses (TLSA data may be split across lines).
fn pushed(rig: &Rig) -> String {
    let file = xtask::gitread::file_at(&rig.srv.repo, "main", "example.org")
        .unwrap()
        .unwrap_or_default();
    String::from_utf8_lossy(&file)
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '(' && *c != ')')
        .collect()
}

/// Wait until the remote's head holds `leaf` as TLSA 3 0 0.
fn wait_pushed(rig: &Rig, leaf: &[u8]) {
    let want = format!("tlsa300{}", hex(leaf));
    let end = Instant::now() + T;
    while !pushed(rig).contains(&want) {
        assert!(
            Instant::now() < end,
            "the remote's head has no TLSA 3 0 0 of the certificate\n{}",
            rig.report()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// How many lines of the appliance's log hold `needle`.
fn count(rig: &Rig, needle: &str) -> usize {
    rig.guest().output().matches(needle).count()
}

/// Renewal: a certificate with more than `--renew-days` left is kept; the
/// same certificate with fewer left (the appliance restarted with a longer
/// window, as time passing would do) is replaced by a new one from the same
/// CSR, served and pushed; the new one is not ordered again at once.
#[test]
fn a_certificate_that_expires_soon_is_renewed() {
    let test = "a_certificate_that_expires_soon_is_renewed";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.example.org"]);
    // Pebble issues 30-day certificates here.
    let setup = Setup {
        validity_secs: Some(30 * 86_400),
        args: &["--renew-days=14"],
        ..PLAIN
    };
    let mut rig = Rig::start_with(
        "acmerenew",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
        &setup,
    );
    let first = check_chain(&rig, &rig.wait_certificate(ISSUE), &rig.root, "first");
    wait_pushed(&rig, &first);
    // 30 days left, 14 asked: nothing more to do.
    rig.wait_log(&["acme: certificate for", "committed"], T);
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count(&rig, "acme: ordering a certificate"),
        1,
        "{}",
        rig.report()
    );

    // 30 days left, 45 asked: renewed at boot from the certificate in git.
    rig.boot(&["--renew-days=45"]);
    rig.wait_log(&["acme: ordering", "expires soon"], T);
    let rrs = rig.wait_new_certificate(ISSUE, &first);
    let second = check_chain(&rig, &rrs, &rig.root, "second");
    assert_ne!(first, second);
    assert_eq!(of_kind(&rrs, (3, 255, 0)), vec![der], "the CSR stays");
    wait_pushed(&rig, &second);
    assert!(
        !pushed(&rig).contains(&hex(&first)),
        "the old certificate is gone from the remote"
    );
    // The new one has 30 days left too, fewer than 45: held, not a loop.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count(&rig, "acme: ordering a certificate"),
        1,
        "{}",
        rig.report()
    );
}

/// The CA is down when the appliance wants a certificate: its requests are
/// retried with backoff, DNS and UPDATE keep working, and the certificate
/// comes once the CA is back.
#[test]
fn the_ca_down_is_retried_and_nothing_else_is_disturbed() {
    let test = "the_ca_down_is_retried_and_nothing_else_is_disturbed";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.example.org"]);
    let setup = Setup {
        ca_down: true,
        ..PLAIN
    };
    let mut rig = Rig::start_with(
        "acmecadown",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
        &setup,
    );
    let refused = "acme: 10.0.0.1:14000: cannot connect";
    let end = Instant::now() + T;
    while count(&rig, refused) < 2 {
        assert!(Instant::now() < end, "two failed tries: {}", rig.report());
        std::thread::sleep(Duration::from_millis(100));
    }
    // Still serving and taking UPDATEs (committed and pushed) meanwhile.
    assert_eq!(
        dig(&rig.ns, &["+short", "www.example.org", "A"]).trim(),
        "192.0.2.80"
    );
    let (ok, out) = nsupdate(
        &rig.ns,
        &[
            "-y",
            &format!("hmac-sha256:personal._update.example.org:{SECRET}"),
        ],
        "server 10.0.0.2\nzone example.org\nupdate add mail.example.org. 300 A 192.0.2.25\nsend\n",
    );
    assert!(ok, "nsupdate during the CA outage: {out}\n{}", rig.report());
    assert_eq!(
        dig(&rig.ns, &["+short", "mail.example.org", "A"]).trim(),
        "192.0.2.25"
    );
    assert!(of_kind(&tlsa(&rig.ns), (3, 0, 0)).is_empty());
    let tries = count(&rig, refused);
    assert!(
        tries < 5,
        "backoff, not a storm: {tries} tries\n{}",
        rig.report()
    );

    rig.pebble
        .restart()
        .unwrap_or_else(|e| panic!("harness: pebble restart: {e}"));
    let root = rig.pebble.root_pem().unwrap();
    let leaf = check_chain(&rig, &rig.wait_certificate(ISSUE), &root, "after");
    wait_pushed(&rig, &leaf);
    assert!(pushed(&rig).contains("192.0.2.25"), "the UPDATE is kept");
}

/// Pebble rejecting most nonces (RFC 8555 6.5 badNonce): the appliance
/// retries each with the fresh nonce and still gets its certificate.
#[test]
fn a_bad_nonce_storm_still_ends_in_a_certificate() {
    let test = "a_bad_nonce_storm_still_ends_in_a_certificate";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.example.org"]);
    let setup = Setup {
        pebble_env: &[("PEBBLE_WFE_NONCEREJECT", "60")],
        ..PLAIN
    };
    let rig = Rig::start_with(
        "acmenonce",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
        &setup,
    );
    let leaf = check_chain(&rig, &rig.wait_certificate(ISSUE), &rig.root, "nonce");
    wait_pushed(&rig, &leaf);
    let rejected = rig.pebble.log().matches("badNonce").count()
        + rig.guest().output().matches("badNonce").count();
    eprintln!("badNonce answers seen: {rejected}");
}

/// A challenge the CA cannot validate (Pebble asks a server that never has
/// the TXT): the order fails with the CA's words in the log, the zone keeps
/// serving and the challenge TXT is withdrawn.
#[test]
fn an_invalid_challenge_is_a_clear_error() {
    let test = "an_invalid_challenge_is_a_clear_error";
    if skip_all(test) {
        return;
    }
    let (_key, der) = csr(&["www.example.org"]);
    // Port 5353 of the host side: nothing answers there.
    let setup = Setup {
        pebble_dns: "10.0.0.1:5353",
        ..PLAIN
    };
    let mut rig = Rig::start_with(
        "acmeinvalid",
        &[
            ("example.org", &zone(&csr_record(&der))),
            ("example.org._keys", &keys()),
        ],
        &setup,
    );
    rig.wait_log(&["acme: the order for", "failed"], ISSUE);
    let line = rig
        .guest()
        .output()
        .lines()
        .find(|l| l.contains("acme: the order for"))
        .unwrap_or_default()
        .to_string();
    assert!(
        line.contains("_letsencrypt._tcp.www.example.org") && line.contains("next try in"),
        "{line}"
    );
    assert!(
        of_kind(&tlsa(&rig.ns), (3, 0, 0)).is_empty(),
        "{}",
        rig.report()
    );
    assert_eq!(
        dig(&rig.ns, &["+short", "www.example.org", "A"]).trim(),
        "192.0.2.80"
    );
    // The challenge TXT is withdrawn after the failure.
    assert_eq!(
        dig(
            &rig.ns,
            &["+short", "_acme-challenge.www.example.org", "TXT"]
        )
        .trim(),
        ""
    );
    // The TXT came and went in memory: the served serial is above the
    // remote's 1. The operator's next commit (serial 2) is served above it
    // all the same, so secondaries take it.
    let serial = |ns: &Netns| -> u32 {
        let soa = dig(ns, &["+short", "example.org", "SOA"]);
        soa.split_whitespace()
            .nth(2)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("SOA: {soa}"))
    };
    let served = serial(&rig.ns);
    assert!(served > 1, "{served}");
    let next =
        zone(&csr_record(&der)).replace("hostmaster 1 ", "hostmaster 2 ") + "mail A 192.0.2.25\n";
    rig.srv.commit(&[("example.org", &next)], "mail");
    let key = format!("hmac-sha256:personal._update.example.org:{SECRET}");
    dig(
        &rig.ns,
        &["example.org", "SOA", "+opcode=notify", "+norec", "-y", &key],
    );
    let end = Instant::now() + T;
    while dig(&rig.ns, &["+short", "mail.example.org", "A"]).trim() != "192.0.2.25" {
        assert!(
            Instant::now() < end,
            "the new commit served: {}",
            rig.report()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(serial(&rig.ns), served + 1, "{}", rig.report());
    rig.wait_log(&["serial 2 is not above the", "served; serving it as"], T);

    // Recovery: the CA validates against the appliance again (a restarted
    // Pebble that forgot our account) and the operator replaces the CSR
    // by UPDATE: the new one is ordered at once and certified.
    rig.pebble.set_dns_server("10.0.0.2:53");
    rig.pebble
        .restart()
        .unwrap_or_else(|e| panic!("harness: pebble restart: {e}"));
    let root = rig.pebble.root_pem().unwrap();
    let (_key, der2) = csr(&["www.example.org"]);
    let (ok, out) = nsupdate(
        &rig.ns,
        &["-v", "-y", &key],
        &format!(
            "server 10.0.0.2\nzone example.org\nupdate delete {OWNER} TLSA 3 255 0 {}\nupdate add {OWNER} 3600 TLSA 3 255 0 {}\nsend\n",
            hex(&der),
            hex(&der2)
        ),
    );
    assert!(ok, "nsupdate of the new CSR: {out}\n{}", rig.report());
    let leaf = check_chain(&rig, &rig.wait_certificate(ISSUE), &root, "recovered");
    wait_pushed(&rig, &leaf);
}

/// Knot as a secondary that ignores our NOTIFY (no ACL for it) and only
/// polls every 2 s (SOA refresh), with Pebble validating against Knot: the
/// appliance must ask Knot itself until it serves the challenge TXT before
/// telling the CA to validate (a NOTIFY answer proves nothing here).
#[test]
fn validation_waits_until_every_secondary_serves_the_txt() {
    let test = "validation_waits_until_every_secondary_serves_the_txt";
    if skip_all(test) || !knot_or_skip(test) {
        return;
    }
    const XFR: &str = "10.0.0.2.10.0.0.1._transfer.example.org.";
    const XFR_SECRET: &str = "dGhlIHNlY29uZGFyeSdzIHRyYW5zZmVyIGtleQ==";
    let text = "$TTL 3600\n@ SOA ns1 hostmaster 1 2 2 1209600 300\n@ NS ns1\n@ NS ns2\nns1 A 10.0.0.2\nns2 A 10.0.0.1\nwww A 192.0.2.80\n";
    let keys = format!("{}{XFR} DNSKEY 0 3 163 {XFR_SECRET}\n", keys());
    let setup = Setup {
        pebble_dns: "10.0.0.1:53",
        ..PLAIN
    };
    let rig = Rig::start_with(
        "acmesecondary",
        &[("example.org", text), ("example.org._keys", &keys)],
        &setup,
    );
    let _knot = knot_polling_secondary(&rig.ns, XFR, XFR_SECRET);
    let end = Instant::now() + T;
    while !dig(&rig.ns, &["@10.0.0.1", "+short", "example.org", "SOA"]).contains("hostmaster") {
        assert!(Instant::now() < end, "Knot took the zone: {}", rig.report());
        std::thread::sleep(Duration::from_millis(200));
    }
    // The CSR by signed UPDATE (over TCP: it is big).
    let (_key, der) = csr(&["www.example.org"]);
    let (ok, out) = nsupdate(
        &rig.ns,
        &[
            "-v",
            "-y",
            &format!("hmac-sha256:personal._update.example.org:{SECRET}"),
        ],
        &format!(
            "server 10.0.0.2\nzone example.org\nupdate add {OWNER} 3600 TLSA 3 255 0 {}\nsend\n",
            hex(&der)
        ),
    );
    assert!(ok, "nsupdate of the CSR: {out}\n{}", rig.report());
    let leaf = check_chain(&rig, &rig.wait_certificate(ISSUE), &rig.root, "secondary");
    wait_pushed(&rig, &leaf);
    rig.wait_log(&["acme: waiting for 1 secondary"], T);
    rig.wait_log(&["acme: 10.0.0.1:53 serves the challenge TXT"], T);
    assert_eq!(count(&rig, "does not serve the TXT"), 0, "{}", rig.report());
}

fn knot_or_skip(test: &str) -> bool {
    needs(test, have_program("knotd"), "knotd (package knot)")
}

/// Knot on 10.0.0.1@53 as a secondary of the appliance for example.org,
/// transferring with `key`, refusing NOTIFY (no ACL): it learns of changes
/// only by its SOA refresh timer.
fn knot_polling_secondary(ns: &Netns, key: &str, secret: &str) -> Daemon {
    let dir = peer_dir(&format!("{}-knotpoll", ns.name));
    let conf = format!(
        "server:\n  listen: 10.0.0.1@53\n  rundir: {d}\n  user: root\nkey:\n  - id: {key}\n    algorithm: hmac-sha256\n    secret: {secret}\nremote:\n  - id: primary\n    address: 10.0.0.2@53\n    key: {key}\ntemplate:\n  - id: default\n    storage: {d}\n    journal-content: none\nzone:\n  - domain: example.org\n    master: primary\n",
        d = dir.display()
    );
    spawn_knot(ns, dir, &conf)
}

/// `cargo xtask certify --direct`: instant-acme on the host orders from
/// Pebble, answering DNS-01 through signed UPDATEs of the appliance; Pebble
/// validates against the appliance. A second ACME implementation: the
/// chain verifies, the key is the file's, the TXT is gone afterwards, and
/// the appliance itself ordered nothing.
#[test]
fn xtask_certify_direct_with_instant_acme() {
    let test = "xtask_certify_direct_with_instant_acme";
    if skip_all(test) {
        return;
    }
    let rig = Rig::start(
        "acmedirect",
        &[("example.org", &zone("")), ("example.org._keys", &keys())],
    );
    let out = rig.dir().join("direct");
    let mut c = rig.ns.command(xtask_bin().to_str().unwrap());
    c.args(["certify", "--direct", "--server", "10.0.0.2"])
        .arg(format!(
            "--key=personal._update.example.org:SHA256:{SECRET}"
        ))
        .args(["--hostname", "www.example.org", "--wait", "60"])
        .args(["--acme-server", &rig.pebble.directory(), "--acme-ca"])
        .arg(rig.pebble.ca_pem_path())
        .args(["--email", "ops@example.org", "--out"])
        .arg(&out);
    let mut certify = Guest::spawn(c);
    let status = certify.wait_exit(ISSUE + Duration::from_secs(30));
    assert!(
        status.success(),
        "certify --direct failed ({status}):\n{}\n{}",
        certify.output(),
        rig.report()
    );
    let key = out.join("www.example.org.key");
    let leaf = std::fs::read_to_string(out.join("www.example.org.pem")).unwrap();
    let chain = std::fs::read_to_string(out.join("www.example.org.chain.pem")).unwrap();
    assert!(chain.starts_with(&leaf), "chain starts with the leaf");
    let vdir = out.join("verify");
    std::fs::create_dir_all(&vdir).unwrap();
    verify(&vdir, &rig.root, &chain, &leaf);
    let (ok, a) = openssl(&[
        "x509",
        "-in",
        out.join("www.example.org.pem").to_str().unwrap(),
        "-noout",
        "-pubkey",
    ]);
    assert!(ok, "{a}");
    let (ok, b) = openssl(&["pkey", "-in", key.to_str().unwrap(), "-pubout"]);
    assert!(ok, "{b}");
    assert_eq!(a, b);
    assert!(
        certify
            .output()
            .contains("serves TXT _acme-challenge.www.example.org."),
        "{}",
        certify.output()
    );
    assert_eq!(
        dig(
            &rig.ns,
            &["+short", "_acme-challenge.www.example.org", "TXT"]
        )
        .trim(),
        "",
        "the challenge TXT is deleted"
    );
    assert!(
        !pushed(&rig).contains("_acme-challenge"),
        "{}",
        pushed(&rig)
    );
    assert_eq!(count(&rig, "acme: ordering a certificate"), 0);
}
