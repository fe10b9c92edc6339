//! DNS over TCP (RFC 7766): a pool of sockets listening on port 53 (smoltcp
//! has no accept backlog, so each socket serves one client at a time and
//! listens again when done), 2-byte length framing, pipelined queries,
//! idle timeout.

use super::{Handler, Stats, Store, Transport};
use alloc::vec;
use alloc::vec::Vec;
use gitns_dns::transfer::Transfer;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::time::Duration;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Tuning of the TCP listener.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    pub port: u16,
    /// Concurrent connections.
    pub sockets: usize,
    /// Close a connection idle this long (RFC 7766 section 6.2.3).
    pub idle_ns: u64,
    /// Stop reading queries while this many response bytes wait to be sent;
    /// a zone transfer adds its next message only below this.
    pub max_pending: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            port: 53,
            sockets: 8,
            idle_ns: 10_000_000_000,
            max_pending: 64 * 1024,
        }
    }
}

struct Conn {
    handle: SocketHandle,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    sent: usize,
    last_ns: u64,
    active: bool,
    /// A zone transfer going out; queries behind it wait (RFC 7766 6.2.1.1
    /// lets us answer in order).
    transfer: Option<Transfer>,
    scratch: Vec<u8>,
}

/// The TCP listener pool.
pub struct TcpServer {
    cfg: TcpConfig,
    conns: Vec<Conn>,
    /// Sockets that have their big send buffer.
    grown: usize,
}

/// Send buffer of every socket at boot: zeroing (first touch of) guest
/// memory is slow under PVM, 8 x 256 KiB cost 13 ms of launch -> first ping.
const SEND_BUF: usize = 32 * 1024;
/// Send buffer the first sockets of the pool grow to once the server is
/// idle: TCP keeps unacknowledged data in it, so it bounds a zone
/// transfer's bytes in flight (1M-name AXFR: 0.44 s with 32 KiB, 0.37 s
/// with 256 KiB). smoltcp hands a new connection to the first listening
/// socket of the set, so these take most transfers.
const BIG_SEND_BUF: usize = 256 * 1024;
const BIG_SOCKETS: usize = 2;

fn new_socket(send_buf: usize) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; 4 * 1024]),
        tcp::SocketBuffer::new(vec![0; send_buf]),
    );
    s.set_timeout(Some(Duration::from_secs(30)));
    s.set_nagle_enabled(false);
    s
}

impl TcpServer {
    /// Create the pool and start listening.
    pub fn bind(net: &mut Net, cfg: TcpConfig) -> Result<TcpServer, tcp::ListenError> {
        let mut conns = Vec::with_capacity(cfg.sockets);
        for _ in 0..cfg.sockets {
            let mut s = new_socket(SEND_BUF);
            s.listen(cfg.port)?;
            let handle = net.sockets.add(s);
            conns.push(Conn {
                handle,
                inbuf: Vec::new(),
                outbuf: Vec::new(),
                sent: 0,
                last_ns: 0,
                active: false,
                transfer: None,
                scratch: Vec::new(),
            });
        }
        Ok(TcpServer {
            cfg,
            conns,
            grown: 0,
        })
    }

    /// Give the first sockets their big send buffers, one per call, while
    /// they only listen; call when idle. False once there is nothing left.
    pub fn grow(&mut self, net: &mut Net) -> bool {
        let Some(c) = self
            .conns
            .get_mut(self.grown)
            .filter(|_| self.grown < BIG_SOCKETS)
        else {
            return false;
        };
        let sock = net.sockets.get::<tcp::Socket>(c.handle);
        if c.active || sock.state() != tcp::State::Listen {
            return true; // busy now: later
        }
        let mut s = new_socket(BIG_SEND_BUF);
        if s.listen(self.cfg.port).is_err() {
            self.grown = BIG_SOCKETS;
            return false;
        }
        // The freed slot is the first free one, so the new socket takes
        // the same place in the set (and in smoltcp's accept order).
        net.sockets.remove(c.handle);
        c.handle = net.sockets.add(s);
        self.grown += 1;
        true
    }

    /// Serve every connection once; returns true when anything was done.
    pub fn serve(
        &mut self,
        net: &mut Net,
        handler: &mut dyn Handler,
        store: &mut dyn Store,
        now_ns: u64,
        stats: &mut Stats,
    ) -> bool {
        let mut busy = false;
        for c in &mut self.conns {
            let sock = net.sockets.get_mut::<tcp::Socket>(c.handle);
            busy |= serve_one(&self.cfg, c, sock, handler, store, now_ns, stats);
        }
        busy
    }

    /// Queue a response that was held back (a deferred UPDATE's) on the
    /// connection from `peer`; false when that connection is gone.
    pub fn send_to(&mut self, net: &mut Net, peer: IpEndpoint, msg: &[u8]) -> bool {
        for c in self.conns.iter_mut().filter(|c| c.active) {
            let sock = net.sockets.get_mut::<tcp::Socket>(c.handle);
            if sock.remote_endpoint() == Some(peer) {
                frame(&mut c.outbuf, msg);
                flush(c, sock);
                return true;
            }
        }
        false
    }

    /// Earliest idle deadline of an open connection.
    pub fn next_deadline(&self) -> Option<u64> {
        self.conns
            .iter()
            .filter(|c| c.active)
            .map(|c| c.last_ns + self.cfg.idle_ns)
            .min()
    }
}

fn serve_one(
    cfg: &TcpConfig,
    c: &mut Conn,
    sock: &mut tcp::Socket,
    handler: &mut dyn Handler,
    store: &mut dyn Store,
    now: u64,
    stats: &mut Stats,
) -> bool {
    if !sock.is_open() {
        // Closed (or never connected): reset and listen again.
        c.inbuf.clear();
        c.outbuf.clear();
        c.sent = 0;
        c.active = false;
        c.transfer = None;
        c.scratch = Vec::new();
        let _ = sock.listen(cfg.port);
        return false;
    }
    if !sock.is_active() {
        return false; // listening
    }
    if !c.active {
        c.active = true;
        c.last_ns = now;
        stats.tcp_conns += 1;
    }
    let mut busy = read_frames(cfg, c, sock, handler, store, now, stats);
    busy |= flush(c, sock);
    busy |= stream(cfg, c, sock, stats);
    if busy {
        c.last_ns = now;
    }
    let drained = c.sent == c.outbuf.len() && c.transfer.is_none();
    if drained && !sock.may_recv() && sock.state() == tcp::State::CloseWait {
        sock.close();
    } else if drained && now.saturating_sub(c.last_ns) >= cfg.idle_ns {
        stats.tcp_timeouts += 1;
        sock.close();
    }
    busy
}

/// Take bytes from the socket and answer every complete message.
fn read_frames(
    cfg: &TcpConfig,
    c: &mut Conn,
    sock: &mut tcp::Socket,
    handler: &mut dyn Handler,
    store: &mut dyn Store,
    now: u64,
    stats: &mut Stats,
) -> bool {
    let mut busy = false;
    while sock.can_recv() && c.outbuf.len() - c.sent < cfg.max_pending {
        let inbuf = &mut c.inbuf;
        let got = sock
            .recv(|data| {
                inbuf.extend_from_slice(data);
                (data.len(), data.len())
            })
            .unwrap_or(0);
        if got == 0 {
            break;
        }
        busy = true;
    }
    let Some(peer) = sock.remote_endpoint() else {
        return busy;
    };
    let mut start = 0;
    while c.inbuf.len() - start >= 2 && c.transfer.is_none() {
        let len = u16::from_be_bytes([c.inbuf[start], c.inbuf[start + 1]]) as usize;
        if c.inbuf.len() - start - 2 < len {
            break;
        }
        stats.tcp_in += 1;
        let msg = &c.inbuf[start + 2..start + 2 + len];
        let out = &mut c.outbuf;
        c.transfer = handler.handle(store, msg, peer, Transport::Tcp, now, &mut |resp| {
            stats.tcp_out += 1;
            frame(out, resp);
        });
        start += 2 + len;
    }
    c.inbuf.drain(..start);
    busy
}

fn frame(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
}

/// Add a zone transfer's next messages while little output waits, and
/// send them; once it ends, the queries behind it are read again.
fn stream(cfg: &TcpConfig, c: &mut Conn, sock: &mut tcp::Socket, stats: &mut Stats) -> bool {
    let Some(mut t) = c.transfer.take() else {
        return false;
    };
    let mut busy = false;
    while c.outbuf.len() - c.sent < cfg.max_pending && sock.can_send() {
        let Some(m) = t.next(&mut c.scratch) else {
            c.scratch = Vec::new();
            return true;
        };
        stats.tcp_out += 1;
        frame(&mut c.outbuf, m);
        busy |= flush(c, sock);
    }
    c.transfer = Some(t);
    busy
}

/// Send as much of the pending output as the socket takes.
fn flush(c: &mut Conn, sock: &mut tcp::Socket) -> bool {
    if c.sent == c.outbuf.len() {
        return false;
    }
    let n = sock.send_slice(&c.outbuf[c.sent..]).unwrap_or(0);
    c.sent += n;
    if c.sent == c.outbuf.len() {
        c.outbuf.clear();
        c.sent = 0;
    }
    n > 0
}
