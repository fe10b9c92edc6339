//! Pebble (Let's Encrypt's test CA, Debian's /usr/bin/pebble) inside a
//! test's network namespace, for the ACME end-to-end tests and `certify`.
//!
//! Pebble listens on `IP:14000` (ACME) and `IP:15000` (management) inside
//! the namespace, with a TLS listener certificate made here by rcgen: a
//! throw-away CA and a leaf whose only name is the IP address. DNS-01 is
//! validated against the DNS server given (the appliance), so Pebble never
//! consults an outside resolver. `PEBBLE_VA_NOSLEEP=1` removes the random
//! validation delays; nonce rejection and authorization reuse are off
//! unless the caller's environment overrides them (INTEROP.md "Pebble").

use crate::netns::{run_in_named, Netns};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The ACME port (Pebble's default).
pub const ACME_PORT: u16 = 14000;
/// The management port (roots, intermediates).
pub const MANAGEMENT_PORT: u16 = 15000;
/// Bound on Pebble's start (both ports accepting connections).
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on one management request (openssl s_client).
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's TLS material: a CA and a leaf for one IP address.
pub struct ListenerTls {
    /// The CA certificate (DER): what an ACME client must trust.
    pub ca_der: Vec<u8>,
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl ListenerTls {
    /// A fresh CA and a leaf with `ip` as its IP address SAN.
    pub fn new(ip: &str) -> Result<ListenerTls, String> {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let e = |e: rcgen::Error| format!("listener certificate: {e}");
        let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name
            .push(DnType::CommonName, "gitns pebble listener CA");
        let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().map_err(e)?).map_err(e)?;
        // rcgen turns a name that parses as an address into an IP SAN.
        let mut leaf = CertificateParams::new(vec![ip.to_string()]).map_err(e)?;
        leaf.distinguished_name.push(DnType::CommonName, ip);
        let leaf_key = KeyPair::generate().map_err(e)?;
        let leaf_cert = leaf.signed_by(&leaf_key, &ca).map_err(e)?;
        Ok(ListenerTls {
            ca_der: ca.der().to_vec(),
            ca_pem: ca.pem(),
            cert_pem: leaf_cert.pem(),
            key_pem: leaf_key.serialize_pem(),
        })
    }
}

/// A running Pebble in a namespace; only this child is killed on drop and
/// its directory removed.
pub struct Pebble {
    child: Option<Child>,
    ns: String,
    /// The listening address (inside the namespace).
    pub ip: String,
    pub dir: PathBuf,
    tls: ListenerTls,
    dns_server: String,
    env: Vec<(String, String)>,
}

impl Pebble {
    /// Start Pebble in `ns` on `ip`, validating DNS-01 against `dns_server`
    /// (`IP:PORT`); waits until both ports accept connections.
    pub fn start(ns: &Netns, ip: &str, dns_server: &str) -> Result<Pebble, String> {
        Pebble::start_with_env(ns, ip, dns_server, &[])
    }

    /// [`Pebble::start`] with extra environment for Pebble (e.g.
    /// `PEBBLE_WFE_NONCEREJECT=5` to exercise badNonce).
    pub fn start_with_env(
        ns: &Netns,
        ip: &str,
        dns_server: &str,
        env: &[(&str, &str)],
    ) -> Result<Pebble, String> {
        Pebble::start_with(ns, ip, dns_server, env, None)
    }

    /// [`Pebble::start_with_env`] issuing certificates valid for
    /// `validity_secs` (Pebble's `certificateValidityPeriod`; its default
    /// is five years) when given.
    pub fn start_with(
        ns: &Netns,
        ip: &str,
        dns_server: &str,
        env: &[(&str, &str)],
        validity_secs: Option<u64>,
    ) -> Result<Pebble, String> {
        let dir = std::env::temp_dir().join(format!("{}-pebble", ns.name));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let tls = ListenerTls::new(ip)?;
        let write = |name: &str, text: &str| {
            let p = dir.join(name);
            std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
            Ok::<PathBuf, String>(p)
        };
        let cert = write("listener.pem", &tls.cert_pem)?;
        let key = write("listener.key", &tls.key_pem)?;
        write("listener-ca.pem", &tls.ca_pem)?;
        let config = config_json(ip, &cert, &key, validity_secs);
        write("pebble.json", &config)?;
        let mut p = Pebble {
            child: None,
            ns: ns.name.clone(),
            ip: ip.to_string(),
            dir,
            tls,
            dns_server: dns_server.to_string(),
            env: env
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        p.spawn()?;
        Ok(p)
    }

    /// Start the Pebble process (config written by `start_with_env`) and
    /// wait until it listens. Its log file is appended to.
    fn spawn(&mut self) -> Result<(), String> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("pebble.log"))
            .map_err(|e| e.to_string())?;
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, "pebble", "-config"])
            .arg(self.dir.join("pebble.json"))
            .arg("-dnsserver")
            .arg(&self.dns_server)
            .arg("-strict=false")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log);
        // `ip netns exec` execs pebble: the child's PID is Pebble's.
        self.child = Some(c.spawn().map_err(|e| format!("spawn pebble: {e}"))?);
        self.wait_listening()
    }

    /// Stop Pebble (the CA goes down; the namespace and files stay).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Only our own child, by its PID (SIGKILL; the wait is bounded).
            let _ = c.kill();
            let end = Instant::now() + Duration::from_secs(5);
            while Instant::now() < end {
                if !matches!(c.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Ask `dns_server` (`IP:PORT`) for DNS-01 from the next start on.
    pub fn set_dns_server(&mut self, dns_server: &str) {
        self.dns_server = dns_server.to_string();
    }

    /// Start it again after [`Pebble::stop`], same address and listener
    /// certificate (a new issuing root: Pebble makes one per start).
    pub fn restart(&mut self) -> Result<(), String> {
        self.stop();
        self.spawn()
    }

    fn wait_listening(&mut self) -> Result<(), String> {
        let end = Instant::now() + START_TIMEOUT;
        for port in [ACME_PORT, MANAGEMENT_PORT] {
            let addr: SocketAddr = format!("{}:{port}", self.ip)
                .parse()
                .map_err(|e| format!("{}: {e}", self.ip))?;
            loop {
                let up = run_in_named(&self.ns, move || {
                    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
                })?;
                if up {
                    break;
                }
                if let Some(st) = self
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    return Err(format!("pebble exited ({st}):\n{}", self.log()));
                }
                if Instant::now() > end {
                    return Err(format!(
                        "pebble not listening on {addr} within {START_TIMEOUT:?}:\n{}",
                        self.log()
                    ));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Ok(())
    }

    /// The ACME directory URL.
    pub fn directory(&self) -> String {
        format!("https://{}:{ACME_PORT}/dir", self.ip)
    }

    /// The listener's CA certificate (DER).
    pub fn ca_der(&self) -> &[u8] {
        &self.tls.ca_der
    }

    /// The listener's CA as the appliance's `--acme-ca=` value.
    pub fn ca_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.tls.ca_der)
    }

    /// A PEM file of the listener's CA (for curl/openssl clients).
    pub fn ca_pem_path(&self) -> PathBuf {
        self.dir.join("listener-ca.pem")
    }

    /// Pebble's output so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("pebble.log")).unwrap_or_default()
    }

    /// Pebble's issuing root (`/roots/0` of the management port), PEM.
    /// Pebble makes a new root at every start, so ask the running one.
    pub fn root_pem(&self) -> Result<String, String> {
        self.management_pem("/roots/0")
    }

    /// The issuing intermediate (`/intermediates/0`), PEM.
    pub fn intermediate_pem(&self) -> Result<String, String> {
        self.management_pem("/intermediates/0")
    }

    /// GET `path` from the management port over TLS (trusting only the
    /// listener CA, checking the IP address) with `openssl s_client` run
    /// inside the namespace; returns the PEM blocks of the body.
    fn management_pem(&self, path: &str) -> Result<String, String> {
        let connect = format!("{}:{MANAGEMENT_PORT}", self.ip);
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns, "openssl", "s_client", "-quiet"])
            .args(["-connect", &connect, "-verify_return_error"])
            .args(["-verify_ip", &self.ip, "-CAfile"])
            .arg(self.ca_pem_path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = run_bounded(
            c,
            format!("GET {path} HTTP/1.0\r\nHost: {connect}\r\n\r\n").as_bytes(),
            FETCH_TIMEOUT,
        )
        .map_err(|e| format!("GET https://{connect}{path}: {e}"))?;
        let text = String::from_utf8_lossy(&out);
        let status = text.lines().next().unwrap_or("");
        if !status.starts_with("HTTP/1.") || status.split_whitespace().nth(1) != Some("200") {
            return Err(format!("GET https://{connect}{path}: {status:?}\n{text}"));
        }
        let pem = pem_blocks(&text);
        if pem.is_empty() {
            return Err(format!("GET https://{connect}{path}: no PEM in\n{text}"));
        }
        Ok(pem)
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Pebble's configuration file. httpPort/tlsPort are where Pebble's VA
/// would connect for http-01 and tls-alpn-01; only dns-01 is used here.
fn config_json(ip: &str, cert: &Path, key: &Path, validity_secs: Option<u64>) -> String {
    let validity = validity_secs
        .map(|v| format!(", \"certificateValidityPeriod\": {v}"))
        .unwrap_or_default();
    let fields = [
        format!("\"listenAddress\": \"{ip}:{ACME_PORT}\""),
        format!("\"managementListenAddress\": \"{ip}:{MANAGEMENT_PORT}\""),
        format!("\"certificate\": \"{}\"", cert.display()),
        format!("\"privateKey\": \"{}\"", key.display()),
        String::from("\"httpPort\": 5002, \"tlsPort\": 5001, \"ocspResponderURL\": \"\""),
        format!("\"externalAccountBindingRequired\": false{validity}"),
    ];
    format!("{{\"pebble\": {{{}}}}}\n", fields.join(", "))
}

/// Run `c` with `input` on stdin; its stdout once it exits, or an error
/// (with stderr) when it fails or outlives `timeout` (then it is killed).
fn run_bounded(mut c: Command, input: &[u8], timeout: Duration) -> Result<Vec<u8>, String> {
    let mut child = c.spawn().map_err(|e| format!("{c:?}: {e}"))?;
    // Keep stdin open: s_client -quiet would not close on EOF anyway, and
    // the server ends the HTTP/1.0 exchange.
    let mut stdin = child.stdin.take();
    if let Some(s) = stdin.as_mut() {
        let _ = s.write_all(input);
        let _ = s.flush();
    }
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ] {
        readers.push(std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        }));
    }
    let end = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                drop(stdin);
                return Err(format!("no answer within {timeout:?}"));
            }
        }
    };
    drop(stdin);
    let mut outs = readers.into_iter().map(|t| t.join().unwrap_or_default());
    let (out, err) = (
        outs.next().unwrap_or_default(),
        outs.next().unwrap_or_default(),
    );
    if !status.success() && out.is_empty() {
        return Err(format!("{status}: {}", String::from_utf8_lossy(&err)));
    }
    Ok(out)
}

/// The `-----BEGIN ...-----` .. `-----END ...-----` blocks of `text`.
pub fn pem_blocks(text: &str) -> String {
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.starts_with("-----BEGIN ") {
            inside = true;
        }
        if inside {
            out.push_str(line);
            out.push('\n');
        }
        if line.starts_with("-----END ") {
            inside = false;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listener_leaf_names_the_ip() {
        let tls = ListenerTls::new("10.0.0.1").unwrap();
        assert!(tls.ca_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(tls.key_pem.contains("PRIVATE KEY"));
        // The IP SAN (tag [7], 4 bytes) is in the leaf.
        let leaf = crate::pebble::tests::pem_der(&tls.cert_pem);
        assert!(leaf.windows(6).any(|w| w == [0x87, 4, 10, 0, 0, 1]));
    }

    #[test]
    fn config_is_pebbles_json() {
        let c = config_json("10.0.0.1", Path::new("/c.pem"), Path::new("/k"), Some(60));
        assert_eq!(
            c,
            "{\"pebble\": {\"listenAddress\": \"10.0.0.1:14000\", \"managementListenAddress\": \"10.0.0.1:15000\", \"certificate\": \"/c.pem\", \"privateKey\": \"/k\", \"httpPort\": 5002, \"tlsPort\": 5001, \"ocspResponderURL\": \"\", \"externalAccountBindingRequired\": false, \"certificateValidityPeriod\": 60}}\n"
        );
    }

    #[test]
    fn pem_blocks_skip_headers() {
        let t = "HTTP/1.0 200 OK\r\nContent-Type: x\r\n\r\n-----BEGIN CERTIFICATE-----\r\nAAAA\r\n-----END CERTIFICATE-----\r\n";
        assert_eq!(
            pem_blocks(t),
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
        );
    }

    pub(super) fn pem_der(pem: &str) -> Vec<u8> {
        use base64::Engine;
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap()
    }
}
