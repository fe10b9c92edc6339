//! The sans-I/O client against an in-process rustls server, bytes moved in
//! memory: handshakes (TLS 1.3 / 1.2, X25519 / P-256), certificate
//! failures, garbage, close_notify, and HTTP exchanges over it.

use std::collections::VecDeque;
use std::io::{ErrorKind, Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use gitns_https::{
    Anchors, ExchangeError, HttpError, HttpRequest, HttpsExchange, Limits, Method, TlsClient,
    TlsError, TlsState,
};
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{NamedGroup, ProtocolVersion, ServerConfig, ServerConnection};

/// 2025-06-15: inside every certificate's validity below.
const NOW: u64 = 1_750_000_000;
/// 2031-01-01: after the leaf's notAfter (2030-01-01).
const LATER: u64 = 1_925_000_000;
/// 2023-06-01: before every notBefore (2024-01-01).
const EARLIER: u64 = 1_685_600_000;

struct Pki {
    ca: CertificateDer<'static>,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A CA and a leaf for `names` (DNS names or IP literals), issued by it.
fn pki(names: &[&str]) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    // Distinct names: a second test CA must be an unknown issuer, not a
    // same-named anchor whose signature fails.
    static SERIAL: AtomicUsize = AtomicUsize::new(0);
    let n = SERIAL.fetch_add(1, Ordering::Relaxed);
    ca.distinguished_name
        .push(DnType::CommonName, format!("gitns test CA {n}"));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = rcgen::date_time_ymd(2024, 1, 1);
    ca.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut leaf = CertificateParams::new(names).unwrap();
    leaf.not_before = rcgen::date_time_ymd(2024, 1, 1);
    leaf.not_after = rcgen::date_time_ymd(2030, 1, 1);
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca: ca_cert.der().clone(),
        chain: vec![leaf_cert.der().clone(), ca_cert.der().clone()],
        key: PrivatePkcs8KeyDer::from(leaf_key.serialize_der()).into(),
    }
}

fn anchors(p: &Pki) -> Anchors {
    let mut a = Anchors::lets_encrypt();
    a.add_der(p.ca.as_ref()).unwrap();
    a
}

#[allow(deprecated)] // rustls's ring provider: fine for a test server
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}

fn server_with(
    p: &Pki,
    versions: &[&'static rustls::SupportedProtocolVersion],
    groups: Option<Vec<&'static dyn rustls::crypto::SupportedKxGroup>>,
) -> Server {
    let mut provider = ring_provider();
    if let Some(g) = groups {
        provider.kx_groups = g;
    }
    let config = ServerConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(p.chain.clone(), p.key.clone_key())
        .unwrap();
    let mut conn = ServerConnection::new(Arc::new(config)).unwrap();
    conn.set_buffer_limit(None);
    Server {
        conn,
        inbox: Vec::new(),
        responses: VecDeque::new(),
        requests: Vec::new(),
        error: None,
    }
}

fn server(p: &Pki) -> Server {
    server_with(p, rustls::DEFAULT_VERSIONS, None)
}

/// The rustls server plus a tiny HTTP responder: each complete request
/// gets the next canned response.
struct Server {
    conn: ServerConnection,
    inbox: Vec<u8>,
    responses: VecDeque<Vec<u8>>,
    requests: Vec<String>,
    error: Option<rustls::Error>,
}

impl Server {
    fn take_in(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            self.conn.read_tls(&mut data).unwrap();
            if let Err(e) = self.conn.process_new_packets() {
                self.error.get_or_insert(e);
                return;
            }
        }
        self.serve();
    }

    fn take_out(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        while self.conn.wants_write() {
            self.conn.write_tls(&mut out).unwrap();
        }
        out
    }

    fn serve(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.conn.reader().read(&mut buf) {
                Ok(0) => break,
                Ok(n) => self.inbox.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        while let Some(n) = request_len(&self.inbox) {
            let req: Vec<u8> = self.inbox.drain(..n).collect();
            self.requests
                .push(String::from_utf8_lossy(&req).into_owned());
            if let Some(resp) = self.responses.pop_front() {
                self.conn.writer().write_all(&resp).unwrap();
            }
        }
    }
}

/// Length of the first complete request in `b` (head + Content-Length).
fn request_len(b: &[u8]) -> Option<usize> {
    let end = b.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&b[..end]).to_ascii_lowercase();
    let len = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .map_or(0, |v| v.trim().parse::<usize>().unwrap());
    (b.len() >= end + len).then_some(end + len)
}

/// Move bytes both ways until neither side has anything to say.
fn pump(client: &mut TlsClient, server: &mut Server, now: u64) -> Result<(), TlsError> {
    for _ in 0..64 {
        let out = client.take_output();
        if !out.is_empty() {
            server.take_in(&out);
        }
        let back = server.take_out();
        if !back.is_empty() {
            client.receive(now, &back)?;
        }
        if out.is_empty() && back.is_empty() {
            return Ok(());
        }
    }
    panic!("the two sides never went quiet");
}

fn pump_x(x: &mut HttpsExchange, server: &mut Server, now: u64) -> Result<(), ExchangeError> {
    for _ in 0..64 {
        let out = x.take_output();
        if !out.is_empty() {
            server.take_in(&out);
        }
        let back = server.take_out();
        if !back.is_empty() {
            x.receive(now, &back)?;
        }
        if out.is_empty() && back.is_empty() {
            return Ok(());
        }
    }
    panic!("the two sides never went quiet");
}

#[test]
fn tls13_handshake_with_x25519_and_data_both_ways() {
    let p = pki(&["gitns.test"]);
    let mut s = server(&p);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    c.write(b"ping").unwrap(); // queued before the handshake
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.state(), TlsState::Open);
    assert_eq!(s.conn.protocol_version(), Some(ProtocolVersion::TLSv1_3));
    let group = s.conn.negotiated_key_exchange_group().unwrap().name();
    assert_eq!(group, NamedGroup::X25519);
    assert_eq!(s.conn.server_name(), Some("gitns.test"));
    assert_eq!(s.inbox, b"ping");

    s.conn.writer().write_all(b"pong").unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.take_received(), b"pong");
}

#[test]
fn p256_through_hello_retry_request() {
    let p = pki(&["gitns.test"]);
    let groups = ring_provider()
        .kx_groups
        .into_iter()
        .filter(|g| g.name() == NamedGroup::secp256r1)
        .collect();
    let mut s = server_with(&p, rustls::DEFAULT_VERSIONS, Some(groups));
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.state(), TlsState::Open);
    let group = s.conn.negotiated_key_exchange_group().unwrap().name();
    assert_eq!(group, NamedGroup::secp256r1);
}

#[test]
fn tls12_handshake() {
    let p = pki(&["gitns.test"]);
    let mut s = server_with(&p, &[&rustls::version::TLS12], None);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    c.write(b"hello 1.2").unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.state(), TlsState::Open);
    assert_eq!(s.conn.protocol_version(), Some(ProtocolVersion::TLSv1_2));
    assert_eq!(s.inbox, b"hello 1.2");
}

#[test]
fn ip_address_server_names() {
    let p = pki(&["127.0.0.1", "::1"]);
    for name in ["127.0.0.1", "[::1]"] {
        let mut s = server(&p);
        let mut c = TlsClient::new(name, &anchors(&p), NOW).unwrap();
        pump(&mut c, &mut s, NOW).unwrap();
        assert_eq!(c.state(), TlsState::Open, "{name}");
    }
}

/// A handshake that must fail on the client with `want`; the server must
/// learn it through an alert.
fn client_fails(name: &str, p: &Pki, a: &Anchors, now: u64, want: TlsError) {
    let mut s = server(p);
    let mut c = TlsClient::new(name, a, now).unwrap();
    assert_eq!(pump(&mut c, &mut s, now), Err(want.clone()));
    assert_eq!(c.state(), TlsState::Failed(want.clone()));
    let alert = c.take_output();
    // A local failure (no clock) has no alert to send (RFC 8446 §6.2
    // alerts describe the peer's fault); every certificate failure does.
    if want != TlsError::NoTime {
        assert!(!alert.is_empty(), "an alert is pending");
        s.take_in(&alert);
        assert!(s.error.is_some(), "the server saw the alert");
    }
    assert_eq!(c.write(b"x"), Err(want));
}

#[test]
fn wrong_server_name_is_refused() {
    let p = pki(&["gitns.test"]);
    client_fails("other.test", &p, &anchors(&p), NOW, TlsError::WrongName);
}

#[test]
fn unknown_ca_is_refused() {
    let p = pki(&["gitns.test"]);
    let a = Anchors::lets_encrypt();
    client_fails("gitns.test", &p, &a, NOW, TlsError::UnknownIssuer);
    // Trusting another test CA does not help either.
    let other = pki(&["gitns.test"]);
    client_fails(
        "gitns.test",
        &p,
        &anchors(&other),
        NOW,
        TlsError::UnknownIssuer,
    );
}

#[test]
fn expired_and_not_yet_valid_leaves_are_refused() {
    let p = pki(&["gitns.test"]);
    client_fails("gitns.test", &p, &anchors(&p), LATER, TlsError::Expired);
    client_fails(
        "gitns.test",
        &p,
        &anchors(&p),
        EARLIER,
        TlsError::NotYetValid,
    );
}

#[test]
fn unknown_time_is_refused() {
    let p = pki(&["gitns.test"]);
    client_fails("gitns.test", &p, &anchors(&p), 0, TlsError::NoTime);
}

#[test]
fn garbage_from_a_server_is_an_error_not_a_panic() {
    let p = pki(&["gitns.test"]);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..300 {
        let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
        let len = (next() % 300) as usize;
        let mut junk: Vec<u8> = (0..len).map(|_| next() as u8).collect();
        if round % 3 == 0 && junk.len() > 5 {
            // A plausible record header with a random body.
            junk[..3].copy_from_slice(&[22, 3, 3]);
            junk[3..5].copy_from_slice(&((len - 5) as u16).to_be_bytes());
        }
        let _ = c.receive(NOW, &junk);
        assert!(matches!(
            c.state(),
            TlsState::Failed(_) | TlsState::Handshaking
        ));
    }
}

#[test]
fn corrupted_records_after_the_handshake_fail() {
    let p = pki(&["gitns.test"]);
    let mut s = server(&p);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    s.conn.writer().write_all(b"secret").unwrap();
    let mut rec = s.take_out();
    let last = rec.len() - 1;
    rec[last] ^= 1;
    assert_eq!(c.receive(NOW, &rec), Err(TlsError::Protocol));
    assert!(c.received().is_empty());
}

#[test]
fn close_notify_both_ways() {
    let p = pki(&["gitns.test"]);
    // Server closes first.
    let mut s = server(&p);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    s.conn.writer().write_all(b"bye").unwrap();
    s.conn.send_close_notify();
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.state(), TlsState::PeerClosed);
    assert_eq!(c.take_received(), b"bye");
    c.close();
    assert_eq!(c.state(), TlsState::Closed);
    pump(&mut c, &mut s, NOW).unwrap();
    assert!(s.conn.process_new_packets().unwrap().peer_has_closed());

    // Client closes first, with data still queued before the handshake.
    let mut s = server(&p);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    c.write(b"last words").unwrap();
    c.close();
    assert_eq!(c.write(b"more"), Err(TlsError::Closed));
    pump(&mut c, &mut s, NOW).unwrap();
    assert_eq!(c.state(), TlsState::Closed);
    assert_eq!(s.inbox, b"last words");
    assert!(s.conn.process_new_packets().unwrap().peer_has_closed());
    c.transport_closed();
    assert_eq!(c.state(), TlsState::Closed);
}

#[test]
fn eof_without_close_notify_is_truncation() {
    let p = pki(&["gitns.test"]);
    let mut s = server(&p);
    let mut c = TlsClient::new("gitns.test", &anchors(&p), NOW).unwrap();
    pump(&mut c, &mut s, NOW).unwrap();
    c.transport_closed();
    assert_eq!(c.state(), TlsState::Failed(TlsError::Truncated));
}

fn request(method: Method, url: &str, body: &[u8]) -> HttpRequest {
    HttpRequest {
        method,
        url: url.to_string(),
        headers: vec![("Content-Type".into(), "application/jose+json".into())],
        body: body.to_vec(),
    }
}

#[test]
fn https_exchange_content_length_then_chunked_on_one_connection() {
    let p = pki(&["acme.test"]);
    let mut s = server(&p);
    s.responses.push_back(
        b"HTTP/1.1 201 Created\r\nReplay-Nonce: n1\r\nLocation: https://acme.test/acct/1\r\n\
          Content-Length: 13\r\n\r\n{\"status\":1}\n"
            .to_vec(),
    );
    s.responses.push_back(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nLink: <a>;rel=\"up\"\r\n\
          Link: <b>;rel=\"alternate\"\r\n\r\n4\r\n----\r\n1a\r\nBEGIN CERTIFICATE---------\r\n0\r\n\r\n"
            .to_vec(),
    );
    let a = anchors(&p);
    let req = request(Method::Post, "https://acme.test/new-acct", b"{\"jws\":1}");
    let mut x = HttpsExchange::start(&req, &a, NOW).unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    let r = x.take_response().unwrap();
    assert_eq!(r.status, 201);
    assert_eq!(r.header("replay-nonce"), Some("n1"));
    assert_eq!(r.body, b"{\"status\":1}\n");
    let sent = &s.requests[0];
    assert!(
        sent.starts_with("POST /new-acct HTTP/1.1\r\nHost: acme.test\r\n"),
        "{sent}"
    );
    assert!(sent.contains("Content-Length: 9\r\n") && sent.ends_with("{\"jws\":1}"));

    assert!(x.can_reuse());
    x.send(&request(Method::Post, "https://acme.test/cert/1", b"{}"))
        .unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    let r = x.take_response().unwrap();
    assert_eq!(r.body, b"----BEGIN CERTIFICATE---------");
    assert_eq!(r.headers_named("link").count(), 2);
    assert_eq!(s.requests.len(), 2);

    let other = request(Method::Get, "https://elsewhere.test/", b"");
    assert_eq!(x.send(&other), Err(ExchangeError::NotReusable));
    x.close();
    pump_x(&mut x, &mut s, NOW).unwrap();
    assert!(s.conn.process_new_packets().unwrap().peer_has_closed());
}

#[test]
fn https_exchange_head_and_connection_close() {
    let p = pki(&["acme.test"]);
    let mut s = server(&p);
    s.responses.push_back(
        b"HTTP/1.1 200 OK\r\nReplay-Nonce: n2\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            .to_vec(),
    );
    let mut x = HttpsExchange::start(
        &request(Method::Head, "https://acme.test/new-nonce", b""),
        &anchors(&p),
        NOW,
    )
    .unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    let r = x.take_response().unwrap();
    assert_eq!(r.header("Replay-Nonce"), Some("n2"));
    assert!(!x.can_reuse());
    assert!(s.requests[0].starts_with("HEAD /new-nonce HTTP/1.1\r\n"));
}

#[test]
fn https_exchange_close_delimited_body_ends_with_close_notify() {
    let p = pki(&["acme.test"]);
    let mut s = server(&p);
    let mut x = HttpsExchange::start(
        &request(Method::Get, "https://acme.test/directory", b""),
        &anchors(&p),
        NOW,
    )
    .unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    s.conn
        .writer()
        .write_all(b"HTTP/1.1 200 OK\r\n\r\n{\"dir\":true}")
        .unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    assert!(x.take_response().is_none());
    s.conn.send_close_notify();
    pump_x(&mut x, &mut s, NOW).unwrap();
    assert_eq!(x.take_response().unwrap().body, b"{\"dir\":true}");
}

#[test]
fn https_exchange_truncated_and_oversized() {
    let p = pki(&["acme.test"]);
    let a = anchors(&p);
    // TCP ends mid-body without close_notify.
    let mut s = server(&p);
    s.responses
        .push_back(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345".to_vec());
    let mut x =
        HttpsExchange::start(&request(Method::Get, "https://acme.test/", b""), &a, NOW).unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    assert_eq!(
        x.transport_closed(),
        Err(ExchangeError::Tls(TlsError::Truncated))
    );
    assert!(x.take_response().is_none());

    // A body over the limit, spread over many TLS records.
    let mut s = server(&p);
    let mut big = b"HTTP/1.1 200 OK\r\nContent-Length: 300000\r\n\r\n".to_vec();
    big.resize(big.len() + 300_000, b'x');
    s.responses.push_back(big.clone());
    let limits = Limits {
        max_body_bytes: 100_000,
        ..Limits::default()
    };
    let req = request(Method::Get, "https://acme.test/", b"");
    let mut x = HttpsExchange::start_with_limits(&req, &a, NOW, limits).unwrap();
    let e = pump_x(&mut x, &mut s, NOW).unwrap_err();
    assert_eq!(e, ExchangeError::Http(HttpError::BodyTooLarge));

    // The same body within the default limit arrives whole.
    let mut s = server(&p);
    s.responses.push_back(big);
    let mut x = HttpsExchange::start(&req, &a, NOW).unwrap();
    pump_x(&mut x, &mut s, NOW).unwrap();
    assert_eq!(x.take_response().unwrap().body.len(), 300_000);
}

#[test]
fn https_exchange_server_speaking_plain_http() {
    let p = pki(&["acme.test"]);
    let mut x = HttpsExchange::start(
        &request(Method::Get, "https://acme.test/", b""),
        &anchors(&p),
        NOW,
    )
    .unwrap();
    let e = x
        .receive(
            NOW,
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        )
        .unwrap_err();
    assert_eq!(e, ExchangeError::Tls(TlsError::Protocol));
    assert!(x.is_done());
    assert_eq!(x.error(), Some(&ExchangeError::Tls(TlsError::Protocol)));
}
