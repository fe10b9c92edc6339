//! A TLS front of Pebble's ACME port that keeps the head of each request
//! it relays: what the appliance really sends, read off the wire after
//! TLS. The appliance is pointed at it with `--acme-server` (and trusts its
//! CA with a second `--acme-ca`); each request is passed to Pebble with
//! `Connection: close` and Pebble's answer relayed back, so the order goes
//! on as without it. Pebble's directory names Pebble's own URLs, so in
//! practice the first request (the directory) is the one captured.

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use xtask::netns::Netns;
use xtask::pebble::ListenerTls;

/// Where the front listens (inside the test's namespace).
pub const PORT: u16 = 14443;
/// Bound on any read or write of a relayed connection.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Largest request head kept.
const MAX_HEAD: usize = 64 * 1024;

/// The front's TLS material and the request heads seen so far.
pub struct Capture {
    pub tls: ListenerTls,
    heads: Arc<Mutex<Vec<String>>>,
}

impl Capture {
    /// Listen on `ip:PORT` in `ns`, relaying to Pebble at `ip:14000`
    /// (whose listener CA is `pebble_ca`). The accept loop runs on a
    /// thread that entered the namespace; it ends with the test process.
    pub fn start(ns: &Netns, ip: &str, pebble_ca: &[u8]) -> Capture {
        let tls = ListenerTls::new(ip).expect("front certificate");
        let server = server_config(&tls);
        let client = client_config(pebble_ca);
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (ip, seen) = (ip.to_string(), heads.clone());
        ns.run_in(move || {
            let listener = TcpListener::bind((ip.as_str(), PORT)).expect("front bind");
            std::thread::spawn(move || {
                for conn in listener.incoming().flatten() {
                    let (server, client, ip, seen) =
                        (server.clone(), client.clone(), ip.clone(), seen.clone());
                    // Threads made here inherit the namespace.
                    std::thread::spawn(move || {
                        if let Err(e) = relay(conn, server, client, &ip, &seen) {
                            eprintln!("capture front: {e}");
                        }
                    });
                }
            });
        })
        .expect("front in the namespace");
        Capture { tls, heads }
    }

    /// The URL to give the appliance as `--acme-server`.
    pub fn directory(&self, ip: &str) -> String {
        format!("https://{ip}:{PORT}/dir")
    }

    /// The front's CA as an `--acme-ca=` value.
    pub fn ca_base64(&self) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(&self.tls.ca_der)
    }

    /// Every request head captured so far.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().unwrap().clone()
    }
}

#[allow(deprecated)] // rustls's ring provider: fine for a test front
fn server_config(tls: &ListenerTls) -> Arc<rustls::ServerConfig> {
    let chain = vec![CertificateDer::from_pem_slice(tls.cert_pem.as_bytes()).expect("leaf pem")];
    let key = PrivateKeyDer::from_pem_slice(tls.key_pem.as_bytes()).expect("key pem");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .expect("front server config");
    Arc::new(cfg)
}

#[allow(deprecated)] // rustls's ring provider: fine for a test front
fn client_config(ca: &[u8]) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(ca.to_vec()))
        .expect("pebble listener CA");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let cfg = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    Arc::new(cfg)
}

/// One request: read it, keep its head, pass it to Pebble with
/// `Connection: close`, relay Pebble's answer until Pebble closes.
fn relay(
    conn: TcpStream,
    server: Arc<rustls::ServerConfig>,
    client: Arc<rustls::ClientConfig>,
    ip: &str,
    seen: &Mutex<Vec<String>>,
) -> Result<(), String> {
    conn.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    conn.set_write_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let tls = rustls::ServerConnection::new(server).map_err(|e| e.to_string())?;
    let mut front = rustls::StreamOwned::new(tls, conn);
    let request = read_request(&mut front)?;
    let split = find(&request, b"\r\n\r\n").ok_or("no request head")? + 4;
    let head = String::from_utf8_lossy(&request[..split]).into_owned();
    seen.lock().unwrap().push(head.clone());
    let forwarded = close_after(&head).into_bytes();

    let up =
        TcpStream::connect((ip, xtask::pebble::ACME_PORT)).map_err(|e| format!("pebble: {e}"))?;
    up.set_read_timeout(Some(IO_TIMEOUT))
        .map_err(|e| e.to_string())?;
    let name = ServerName::try_from(ip.to_string()).map_err(|e| e.to_string())?;
    let tls = rustls::ClientConnection::new(client, name).map_err(|e| e.to_string())?;
    let mut back = rustls::StreamOwned::new(tls, up);
    back.write_all(&forwarded)
        .map_err(|e| format!("to pebble: {e}"))?;
    back.write_all(&request[split..])
        .map_err(|e| format!("to pebble: {e}"))?;
    let mut answer = Vec::new();
    match back.read_to_end(&mut answer) {
        Ok(_) => {}
        // Go closes without close_notify sometimes; what came is the answer.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => return Err(format!("from pebble: {e}")),
    }
    front
        .write_all(&answer)
        .map_err(|e| format!("to the appliance: {e}"))?;
    front.conn.send_close_notify();
    let _ = front.flush();
    Ok(())
}

/// The head and the body (Content-Length) of one request.
fn read_request(s: &mut impl Read) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = find(&buf, b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            if buf.len() >= end + 4 + len {
                return Ok(buf);
            }
        }
        if buf.len() > MAX_HEAD {
            return Err("request too large".into());
        }
        let n = s
            .read(&mut chunk)
            .map_err(|e| format!("from the appliance: {e}"))?;
        if n == 0 {
            return Err("the appliance closed before a whole request".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// `head` with its Connection field saying close (Pebble then ends the
/// connection after the answer, which ends the relay).
fn close_after(head: &str) -> String {
    let mut out = String::new();
    for line in head.split_inclusive("\r\n") {
        if line.to_ascii_lowercase().starts_with("connection:") {
            out.push_str("Connection: close\r\n");
        } else {
            out.push_str(line);
        }
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
