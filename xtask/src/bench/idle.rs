//! Idle DNS-over-TCP connections held open while a benchmark runs
//! (`bench dns`'s TCP row with 1000 connections open): opened from many
//! source addresses of the client namespace, each asking one query every
//! few seconds so that no server's idle timeout (gitns and Knot: 10 s)
//! closes it.

use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds between two queries on an idle connection.
const KEEP_SECS: u64 = 3;

/// The held connections; [`Idle::close`] ends them.
pub struct Idle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<Result<usize, String>, String>>>,
}

/// Raise this process's open-file limit (children inherit it: dnsperf,
/// and Knot, which sizes its TCP client limit from it).
pub fn raise_nofile(n: u64) {
    let lim = libc::rlimit {
        rlim_cur: n,
        rlim_max: n,
    };
    // SAFETY: setrlimit only reads the struct we pass.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
}

fn connect(src: Ipv4Addr, server: Ipv4Addr) -> Result<TcpStream, String> {
    let s =
        Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP)).map_err(|e| e.to_string())?;
    s.bind(&SockAddr::from(SocketAddrV4::new(src, 0)))
        .map_err(|e| format!("bind {src}: {e}"))?;
    let to = SockAddr::from(SocketAddrV4::new(server, 53));
    s.connect_timeout(&to, Duration::from_secs(2))
        .map_err(|e| format!("connect from {src}: {e}"))?;
    let s: TcpStream = s.into();
    s.set_read_timeout(Some(Duration::from_secs(2)))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

/// One query (`qname` A) and its answer on `s`.
fn ask(s: &mut TcpStream, id: u16, qname: &str) -> std::io::Result<()> {
    let mut m = id.to_be_bytes().to_vec();
    m.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
    for l in qname.split('.') {
        m.push(l.len() as u8);
        m.extend_from_slice(l.as_bytes());
    }
    m.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut f = (m.len() as u16).to_be_bytes().to_vec();
    f.extend_from_slice(&m);
    s.write_all(&f)?;
    let mut len = [0u8; 2];
    s.read_exact(&mut len)?;
    let mut resp = vec![0u8; u16::from_be_bytes(len) as usize];
    s.read_exact(&mut resp)
}

impl Idle {
    /// Open `n` connections to `server`:53 inside namespace `ns`, spread
    /// over `sources`; returns once all are open and answered once.
    pub fn open(
        ns: &str,
        server: Ipv4Addr,
        sources: Vec<Ipv4Addr>,
        n: usize,
        qname: &str,
    ) -> Result<Idle, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let (tx, rx) = mpsc::channel::<Result<(), String>>();
        let (ns, flag, qname) = (ns.to_string(), stop.clone(), qname.to_string());
        let thread = std::thread::spawn(move || {
            crate::netns::run_in_named(&ns, move || hold(server, &sources, n, &qname, &flag, tx))
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(60))
            .map_err(|_| "idle connections: not open within 60 s".to_string())
            .and_then(|r| r);
        let idle = Idle {
            stop,
            thread: Some(thread),
        };
        ready.map(|()| idle)
    }

    /// Close them; returns how many still answered at the last round.
    pub fn close(mut self) -> Result<usize, String> {
        self.stop.store(true, Ordering::Relaxed);
        let t = self.thread.take().ok_or("closed twice")?;
        t.join().map_err(|_| "idle thread panicked".to_string())??
    }
}

impl Drop for Idle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The holding thread: open, report, then keep every connection alive.
fn hold(
    server: Ipv4Addr,
    sources: &[Ipv4Addr],
    n: usize,
    qname: &str,
    stop: &AtomicBool,
    ready: mpsc::Sender<Result<(), String>>,
) -> Result<usize, String> {
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        match connect(sources[i % sources.len()], server) {
            Ok(c) => conns.push(c),
            Err(e) => {
                let _ = ready.send(Err(format!("idle connection {i}: {e}")));
                return Err(e);
            }
        }
    }
    let mut alive = n;
    let mut next = Instant::now();
    let mut round = 0u16;
    let mut first = true;
    while !stop.load(Ordering::Relaxed) {
        if Instant::now() >= next {
            alive = conns
                .iter_mut()
                .map(|c| ask(c, round, qname).is_ok())
                .filter(|ok| *ok)
                .count();
            round = round.wrapping_add(1);
            next = Instant::now() + Duration::from_secs(KEEP_SECS);
            if first {
                // A server that closes some (Knot 3.2 held 479 of 1000 once)
                // is measured all the same; the row says how many it held.
                first = false;
                let _ = ready.send(Ok(()));
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(alive)
}
