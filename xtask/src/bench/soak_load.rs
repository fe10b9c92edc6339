//! The load loops of `bench soak`, each on its own thread inside a
//! namespace, each bounded by the shared stop flag and a per-step timeout:
//! signed UPDATEs (one sender per VM, each waiting for its answer), signed
//! NOTIFYs, TCP connection churn, and forced AXFRs by the Knot secondaries
//! (`knotc zone-retransfer`). Outcomes are counted in [`Tally`]s that the
//! report reads once a minute.

use super::appliance::{answer_serial, soa_query};
use super::dns::ZONE;
use super::ops::SECRET;
use gitns_dns::name::Name;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Every UPDATE adds one name and deletes the one added WINDOW UPDATEs
/// before, so the zone (and the memory it takes) stays the same size.
pub(super) const WINDOW: u32 = 200;

/// Outcomes of one kind of request.
#[derive(Default)]
pub(super) struct Tally {
    pub(super) ok: AtomicU64,
    /// Answered with an error (an RCODE other than NOERROR, a refused TCP
    /// connection, a failed knotc).
    pub(super) err: AtomicU64,
    /// No answer within the step's timeout.
    pub(super) timeout: AtomicU64,
}

impl Tally {
    /// (ok, err, timeout) now.
    pub(super) fn get(&self) -> [u64; 3] {
        [
            self.ok.load(Relaxed),
            self.err.load(Relaxed),
            self.timeout.load(Relaxed),
        ]
    }
}

/// The UPDATEs of one sender: the numbers of those answered NOERROR, and
/// how many were sent.
#[derive(Default)]
pub(super) struct Updates {
    pub(super) tally: Tally,
    pub(super) acked: Mutex<Vec<u32>>,
    pub(super) sent: AtomicU64,
}

/// Everything the loops count; `stop` ends them.
#[derive(Default)]
pub(super) struct Load {
    pub(super) stop: AtomicBool,
    pub(super) storage: Updates,
    pub(super) git: Updates,
    pub(super) notify: Tally,
    pub(super) tcp: Tally,
    pub(super) retransfer: Tally,
}

/// One UPDATE sender: `prefix` names its records (`{prefix}{i}.ZONE A`),
/// `wait` bounds each answer, `pace` is the pause between UPDATEs.
pub(super) struct Sender {
    pub(super) server: &'static str,
    pub(super) prefix: &'static str,
    pub(super) wait: Duration,
    pub(super) pace: Duration,
}

/// The address record UPDATE `i` adds.
pub(super) fn address(i: u32) -> [u8; 4] {
    [192, 0, 2, (i % 250) as u8 + 1]
}

/// UPDATE `i`: add `{prefix}{i}`, delete `{prefix}{i - WINDOW}`.
fn update_ops(prefix: &str, i: u32) -> String {
    let [a, b, c, d] = address(i);
    let add = format!("add {prefix}{i}.{ZONE}. 300 A {a}.{b}.{c}.{d}");
    if i > WINDOW {
        format!("delete {prefix}{}.{ZONE}. A, {add}", i - WINDOW)
    } else {
        add
    }
}

fn key() -> Result<gitns_dns::keys::Key, String> {
    crate::dnstool::parse_key(&format!("personal._update.{ZONE}:SHA256:{SECRET}"))
}

fn zone() -> Result<Name, String> {
    Name::parse(ZONE, &Name::root()).map_err(|e| e.to_string())
}

/// Send `msg` and wait up to `wait` for the answer with its ID: its RCODE,
/// None on timeout (late answers to earlier requests are skipped).
fn exchange(sock: &UdpSocket, server: &str, msg: &[u8], wait: Duration) -> Option<u8> {
    sock.send_to(msg, server).ok()?;
    let end = Instant::now() + wait;
    let mut buf = [0u8; 1500];
    while Instant::now() < end {
        let _ = sock.set_read_timeout(Some(
            end.saturating_duration_since(Instant::now())
                .max(Duration::from_millis(1)),
        ));
        match sock.recv(&mut buf) {
            Ok(n) if n >= 4 && buf[..2] == msg[..2] => return Some(buf[3] & 0x0f),
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

fn udp() -> Result<UdpSocket, String> {
    UdpSocket::bind("0.0.0.0:0").map_err(|e| e.to_string())
}

fn count(t: &Tally, rcode: Option<u8>) {
    match rcode {
        Some(0) => t.ok.fetch_add(1, Relaxed),
        Some(_) => t.err.fetch_add(1, Relaxed),
        None => t.timeout.fetch_add(1, Relaxed),
    };
}

/// Signed UPDATEs one at a time until `load.stop`.
pub(super) fn updates(s: &Sender, load: &Load, which: fn(&Load) -> &Updates) -> Result<(), String> {
    let (key, zone, sock) = (key()?, zone()?, udp()?);
    let u = which(load);
    let mut i = 0u32;
    while !load.stop.load(Relaxed) {
        i += 1;
        let msg = crate::dnstool::signed_update(i as u16, &zone, &update_ops(s.prefix, i), &key)?;
        u.sent.fetch_add(1, Relaxed);
        let rc = exchange(&sock, s.server, &msg, s.wait);
        count(&u.tally, rc);
        if rc == Some(0) {
            u.acked.lock().map_err(|_| "poisoned")?.push(i);
        }
        std::thread::sleep(s.pace);
    }
    Ok(())
}

/// A signed NOTIFY to `server` every `every` until `load.stop`.
pub(super) fn notifies(server: &'static str, every: Duration, load: &Load) -> Result<(), String> {
    let (key, zone, sock) = (key()?, zone()?, udp()?);
    let mut id = 0u16;
    while !load.stop.load(Relaxed) {
        id = id.wrapping_add(1);
        let msg = crate::dnstool::signed_notify(id, &zone, &key);
        count(
            &load.notify,
            exchange(&sock, server, &msg, Duration::from_secs(5)),
        );
        std::thread::sleep(every);
    }
    Ok(())
}

/// TCP connection churn: connect, one SOA query, read the answer, close;
/// one connection every `every` until `load.stop`.
pub(super) fn tcp_churn(server: &'static str, every: Duration, load: &Load) {
    let addr: std::net::SocketAddr = match server.parse() {
        Ok(a) => a,
        Err(_) => return,
    };
    let q = soa_query(ZONE);
    while !load.stop.load(Relaxed) {
        match tcp_once(addr, &q) {
            Ok(true) => load.tcp.ok.fetch_add(1, Relaxed),
            Ok(false) => load.tcp.err.fetch_add(1, Relaxed),
            Err(_) => load.tcp.timeout.fetch_add(1, Relaxed),
        };
        std::thread::sleep(every);
    }
}

/// One TCP query: Ok(answered with the SOA), Err on a failed or timed-out
/// connection.
fn tcp_once(addr: std::net::SocketAddr, q: &[u8]) -> std::io::Result<bool> {
    use std::io::{Read, Write};
    let wait = Duration::from_secs(3);
    let mut s = std::net::TcpStream::connect_timeout(&addr, wait)?;
    s.set_read_timeout(Some(wait))?;
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(q);
    s.write_all(&framed)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut m = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut m)?;
    Ok(answer_serial(&m).is_some())
}

/// Ask each Knot secondary in turn (by its config file) to transfer the
/// whole zone again, one every `every`, until `load.stop`.
pub(super) fn retransfers(confs: Vec<PathBuf>, every: Duration, load: Arc<Load>) {
    let mut n = 0usize;
    while !load.stop.load(Relaxed) && !confs.is_empty() {
        let ok = std::process::Command::new("knotc")
            .arg("-c")
            .arg(&confs[n % confs.len()])
            .args(["-t", "10", "zone-retransfer", ZONE])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        let t = &load.retransfer;
        if ok { &t.ok } else { &t.err }.fetch_add(1, Relaxed);
        n += 1;
        sleep_unless_stopped(every, &load);
    }
}

/// Sleep `d` in short steps, returning early once `load.stop` is set.
fn sleep_unless_stopped(d: Duration, load: &Load) {
    let end = Instant::now() + d;
    while Instant::now() < end && !load.stop.load(Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Run `f` on a thread inside namespace `ns` without waiting for it.
pub(super) fn spawn_in<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<Result<T, String>> {
    let ns = ns.to_string();
    std::thread::spawn(move || crate::netns::run_in_named(&ns, f))
}

/// The A record of an answer (the first in the answer section).
pub(super) fn answer_a(m: &[u8]) -> Option<[u8; 4]> {
    let mut r = gitns_dns::wire::Reader::message(m, 0);
    let h = gitns_dns::message::Header::parse(&mut r).ok()?;
    for _ in 0..h.qdcount {
        r.name().ok()?;
        r.u32().ok()?;
    }
    for _ in 0..h.ancount {
        r.name().ok()?;
        let (t, _class, _ttl, len) = (r.u16().ok()?, r.u16().ok()?, r.u32().ok()?, r.u16().ok()?);
        let rd = r.bytes(len as usize).ok()?;
        if t == 1 && rd.len() == 4 {
            return rd.try_into().ok();
        }
    }
    None
}

/// A query for `name` type A.
pub(super) fn a_query(id: u16, name: &str) -> Vec<u8> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in name.split('.').filter(|l| !l.is_empty()) {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    m
}

/// Ask `server` for `name` A (three tries of 2 s): the address, None
/// when the answer has none.
pub(super) fn lookup_a(sock: &UdpSocket, server: &str, id: u16, name: &str) -> Option<[u8; 4]> {
    let q = a_query(id, name);
    let mut buf = [0u8; 1500];
    for _ in 0..3 {
        let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
        if sock.send_to(&q, server).is_err() {
            continue;
        }
        while let Ok(n) = sock.recv(&mut buf) {
            if n >= 12 && buf[..2] == q[..2] {
                return answer_a(&buf[..n]);
            }
        }
    }
    None
}

/// The SOA serial `server` answers for the zone (10 tries of 1 s).
pub(super) fn serial(sock: &UdpSocket, server: &str) -> Option<u32> {
    let q = soa_query(ZONE);
    let mut buf = [0u8; 1500];
    for _ in 0..10 {
        let _ = sock.set_read_timeout(Some(Duration::from_secs(1)));
        if sock.send_to(&q, server).is_err() {
            continue;
        }
        while let Ok(n) = sock.recv(&mut buf) {
            if let Some(s) = answer_serial(&buf[..n]) {
                return Some(s);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_ops_keep_a_window() {
        assert_eq!(
            update_ops("s", 1),
            format!("add s1.{ZONE}. 300 A 192.0.2.2")
        );
        assert_eq!(
            update_ops("g", WINDOW + 5),
            format!(
                "delete g5.{ZONE}. A, add g{}.{ZONE}. 300 A 192.0.2.{}",
                WINDOW + 5,
                (WINDOW + 5) % 250 + 1
            )
        );
    }

    #[test]
    fn a_answer_is_read_back() {
        let mut m = a_query(7, "h1.bench.test");
        m[2] = 0x84;
        m[7] = 1;
        m.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 10, 0, 0, 1]);
        assert_eq!(answer_a(&m), Some([10, 0, 0, 1]));
        assert_eq!(answer_a(&a_query(7, "x")), None);
    }
}
