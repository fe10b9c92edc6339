//! The client against a real ACME server: Pebble (Let's Encrypt's test CA),
//! run on 127.0.0.1 with free ports and a TLS listener certificate made
//! here. `PEBBLE_VA_ALWAYS_VALID=1` makes every challenge pass, so TXT
//! records are "published" by just answering TxtReady. Pebble's default
//! 5% nonce rejection exercises the badNonce path for real.
//!
//! Skips (prints "SKIP: pebble not installed") without pebble on PATH,
//! unless GITNS_REQUIRE_KVM=1, which makes a missing pebble a failure.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use gitns_acme::{
    cert, AccountKey, Client, HttpRequest, HttpResponse, Input, Limits, Method, Output,
};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

const NAMES: [&str; 3] = ["gitns.test", "www.gitns.test", "*.gitns.test"];
/// Bound on one whole order against Pebble.
const ORDER_TIMEOUT: Duration = Duration::from_secs(90);

#[test]
fn pebble_issues_certificates() {
    let Some(pebble) = find_on_path("pebble") else {
        if std::env::var("GITNS_REQUIRE_KVM").as_deref() == Ok("1") {
            panic!("pebble not installed and GITNS_REQUIRE_KVM=1");
        }
        eprintln!("SKIP: pebble not installed");
        return;
    };
    let dir = TempDir::new();
    let tls = TlsFiles::write(dir.path());
    let server = Pebble::start(&pebble, dir.path(), &tls);
    let http = Transport::new(&tls.ca_der);

    let key = AccountKey::from_seed(b"pebble integration test account seed").unwrap();
    let limits = Limits {
        poll_interval: 1,
        backoff_base: 1,
        ..Limits::default()
    };
    let directory = format!("https://127.0.0.1:{}/dir", server.port);
    let mut client =
        Client::new(&directory, key, Some("hostmaster@gitns.test")).with_limits(limits);

    let names: Vec<String> = NAMES.iter().map(|s| s.to_string()).collect();
    let csr_key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.clone()).unwrap();
    params.distinguished_name.push(DnType::CommonName, NAMES[0]);
    let csr = params.serialize_request(&csr_key).unwrap().der().to_vec();

    // Two orders: the second reuses the account (and maybe authorizations).
    for round in 0..2 {
        let (chain, not_after) = run_order(&mut client, &http, &csr, &server);
        let leaf = cert::parse(&chain[0]).unwrap();
        let mut got = leaf.dns_names.clone();
        let mut want = names.clone();
        got.sort();
        want.sort();
        assert_eq!(got, want, "round {round}");
        assert!(chain.len() >= 2, "chain of {} certificates", chain.len());
        assert_eq!(leaf.not_after, not_after);
        assert!(not_after > unix_now() + 86_400, "not_after {not_after}");
        assert!(!cert::needs_renewal(
            not_after,
            unix_now(),
            cert::DEFAULT_RENEWAL_MARGIN
        ));
    }
    assert!(client.account_url().is_some());
}

/// Drive one order to its end, performing every output for real.
fn run_order(
    client: &mut Client,
    http: &Transport,
    csr: &[u8],
    server: &Pebble,
) -> (Vec<Vec<u8>>, u64) {
    let started = Instant::now();
    let (mut requests, mut bad_nonces, mut waits) = (0, 0, 0);
    client.start_order(unix_now(), csr).unwrap();
    loop {
        assert!(
            started.elapsed() < ORDER_TIMEOUT,
            "order timed out\n{}",
            server.log()
        );
        let mut input = None;
        while let Some(out) = client.poll_output() {
            match out {
                Output::Request(req) => {
                    let answer = http.send(&req);
                    requests += 1;
                    if matches!(&answer, Input::Response(r) if r.status >= 400 && String::from_utf8_lossy(&r.body).contains("badNonce"))
                    {
                        bad_nonces += 1;
                    }
                    input = Some(answer);
                }
                Output::PublishTxt { .. } => input = Some(Input::TxtReady),
                Output::RemoveTxt { .. } => {}
                Output::WaitUntil(t) => {
                    let wait = t.saturating_sub(unix_now());
                    assert!(wait <= 10, "asked to wait {wait} s");
                    std::thread::sleep(Duration::from_secs(wait));
                    waits += 1;
                    input = Some(Input::Timer);
                }
                Output::Certificate {
                    chain_der,
                    not_after,
                    ..
                } => {
                    eprintln!("pebble order: {requests} requests, {bad_nonces} badNonce, {waits} waits, {:?}", started.elapsed());
                    return (chain_der, not_after);
                }
                Output::Failed { error, .. } => panic!("order failed: {error}\n{}", server.log()),
            }
        }
        let input = input.expect("client stalled without asking for anything");
        client.handle(unix_now(), input);
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A blocking HTTPS transport over ureq, trusting only the test CA.
struct Transport {
    agent: ureq::Agent,
}

impl Transport {
    fn new(ca_der: &[u8]) -> Self {
        let roots = vec![ureq::tls::Certificate::from_der(ca_der).to_owned()];
        let tls = ureq::tls::TlsConfig::builder()
            .root_certs(ureq::tls::RootCerts::Specific(Arc::new(roots)))
            .build();
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(15)))
            .tls_config(tls)
            .build();
        Transport {
            agent: config.into(),
        }
    }

    fn send(&self, req: &HttpRequest) -> Input {
        let result = match req.method {
            Method::Get => self.with_headers(self.agent.get(&req.url), req).call(),
            Method::Head => self.with_headers(self.agent.head(&req.url), req).call(),
            Method::Post => self
                .with_headers(self.agent.post(&req.url), req)
                .send(&req.body[..]),
        };
        match result {
            Ok(mut resp) => {
                let headers = resp
                    .headers()
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_str().to_string(),
                            String::from_utf8_lossy(v.as_bytes()).into_owned(),
                        )
                    })
                    .collect();
                let body = if req.method == Method::Head {
                    Vec::new()
                } else {
                    match resp.body_mut().with_config().limit(1 << 20).read_to_vec() {
                        Ok(b) => b,
                        Err(e) => return Input::TransportError(e.to_string()),
                    }
                };
                Input::Response(HttpResponse {
                    status: resp.status().as_u16(),
                    headers,
                    body,
                })
            }
            Err(e) => Input::TransportError(e.to_string()),
        }
    }

    fn with_headers<B>(
        &self,
        mut builder: ureq::RequestBuilder<B>,
        req: &HttpRequest,
    ) -> ureq::RequestBuilder<B> {
        for (k, v) in &req.headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        builder
    }
}

/// The TLS material of Pebble's listener: a CA and a leaf for 127.0.0.1.
struct TlsFiles {
    ca_der: Vec<u8>,
    cert: PathBuf,
    key: PathBuf,
}

impl TlsFiles {
    fn write(dir: &Path) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "gitns pebble test CA");
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let leaf_params =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()]).unwrap();
        let leaf = leaf_params.signed_by(&leaf_key, &ca).unwrap();
        let cert = dir.join("cert.pem");
        let key = dir.join("key.pem");
        std::fs::write(&cert, leaf.pem()).unwrap();
        std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
        TlsFiles {
            ca_der: ca.der().to_vec(),
            cert,
            key,
        }
    }
}

/// A running Pebble, killed (only this child) when dropped.
struct Pebble {
    child: Child,
    port: u16,
    log_path: PathBuf,
}

impl Pebble {
    fn start(binary: &Path, dir: &Path, tls: &TlsFiles) -> Self {
        let port = free_port();
        let config = serde_json::json!({"pebble": {
            "listenAddress": format!("127.0.0.1:{port}"),
            "managementListenAddress": format!("127.0.0.1:{}", free_port()),
            "certificate": tls.cert,
            "privateKey": tls.key,
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": false,
        }});
        let config_path = dir.join("pebble.json");
        std::fs::write(&config_path, config.to_string()).unwrap();
        let log_path = dir.join("pebble.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(binary)
            .arg("-config")
            .arg(&config_path)
            .arg("-strict=false")
            // Never consulted with ALWAYS_VALID; keeps Pebble off outside resolvers.
            .arg("-dnsserver")
            .arg(format!("127.0.0.1:{}", free_port()))
            .env("PEBBLE_VA_ALWAYS_VALID", "1")
            .env("PEBBLE_VA_NOSLEEP", "1")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn pebble");
        let pebble = Pebble {
            child,
            port,
            log_path,
        };
        pebble.wait_listening();
        pebble
    }

    fn wait_listening(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "pebble did not listen\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log_path) {
            let _ = f.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A private directory under the system temp dir, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let path =
            std::env::temp_dir().join(format!("gitns-acme-pebble-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
