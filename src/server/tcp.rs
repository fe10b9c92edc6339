//! DNS over TCP (RFC 7766): a pool of connections on port 53, 2-byte
//! length framing, pipelined queries, zone transfers streamed as the
//! connection drains.
//!
//! smoltcp has no accept backlog: a listening socket becomes the
//! connection. So a few sockets listen at all times and each one taken is
//! replaced at once ([`TcpServer::on_frame`], between two received
//! frames); connections are sockets made and removed on demand, with small
//! buffers while idle (our own input and output buffers grow while a
//! message needs them and are freed after). [`super::tcp_pool`] decides who
//! may stay when the pool is full. See docs/design.md (2026-12-07).

use super::tcp_pool::{self, Admit, Limits, Seat};
use super::{Handled, Handler, Stats, Transport};
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec;
use alloc::vec::Vec;
use gitns_dns::transfer::Transfer;
use gitns_net::frame::{tcp_ends, FrameHook};
use gitns_net::smoltcp::iface::{SocketHandle, SocketSet};
use gitns_net::smoltcp::socket::{tcp, Socket as AnySocket};
use gitns_net::smoltcp::time::Duration;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Tuning of the TCP service.
#[derive(Clone, Copy, Debug)]
pub struct TcpConfig {
    pub port: u16,
    pub limits: Limits,
    /// Close a connection this long after its last complete query when it
    /// owes nothing (RFC 7766 6.2.3; advertised as edns-tcp-keepalive).
    pub idle_ns: u64,
    /// Abort a connection whose output has not moved for this long (a
    /// client that does not read: zero window).
    pub stall_ns: u64,
    /// Stop reading queries while this many response bytes wait to be sent;
    /// a zone transfer adds its next message only below this.
    pub max_pending: usize,
}

impl Default for TcpConfig {
    fn default() -> Self {
        TcpConfig {
            port: 53,
            limits: Limits {
                clients: 1024,
                per_source: 32,
                transfer_reserve: 8,
            },
            idle_ns: 10_000_000_000,
            stall_ns: 10_000_000_000,
            max_pending: 64 * 1024,
        }
    }
}

/// Receive buffer of every socket: the window a client may fill before we
/// read; we drain it into our own buffer each turn.
const RX_BUF: usize = 2 * 1024;
/// Send buffer of an ordinary socket: bytes in flight; the rest of an
/// answer waits in our own buffer.
const TX_BUF: usize = 4 * 1024;
/// Send buffer the first sockets of the pool grow to once the server is
/// idle: it bounds a zone transfer's bytes in flight (1M-name AXFR: 0.44 s
/// with 32 KiB, 0.37 s with 256 KiB). They are kept for good (listening
/// again after each connection) and sit first in the socket set, where
/// smoltcp looks for a listener first, so they take most transfers.
/// Zeroing (first touch of) guest memory is slow under PVM (~1.6 ms each),
/// so they are made on idle turns, not at boot.
const BIG_SEND_BUF: usize = 256 * 1024;
const BIG_SOCKETS: usize = 2;
/// Ordinary sockets listening at any time: the SYNs of one received frame
/// batch beyond these are reset (each taken one is replaced between two
/// frames, so only SYNs in one frame... i.e. none in practice).
const LISTENERS: usize = 4;
/// Input a connection may hold without counting against the budget.
const SMALL_IN: usize = 4 * 1024;
/// Partial messages held by all connections together; past it a
/// connection's bytes stay in its socket (its window closes).
const IN_BUDGET: usize = 8 << 20;
/// Unsent answers of all connections together; past it no connection
/// reads another query until some output drains.
const OUT_BUDGET: usize = 16 << 20;
/// A connection we closed that has not finished closing after this long
/// is aborted (a peer ignoring our FIN, or not reading).
const CLOSE_GRACE_NS: u64 = 5_000_000_000;
/// Our buffers are freed when empty and larger than this.
const KEEP_BUF: usize = 4 * 1024;
/// An established connection with nothing to do for this long is parked
/// outside the socket set (its ACKs long sent): smoltcp walks every socket
/// of the set on each poll (egress, next deadline) and on each received
/// segment until one matches, so 1,000 idle sockets in the set would cost
/// every query. A segment from its peer brings it back first
/// ([`TcpServer::before`]).
const PARK_NS: u64 = 1_000_000_000;

/// A socket listening for the next client.
#[derive(Clone, Copy, Debug)]
struct Listener {
    handle: SocketHandle,
    big: bool,
}

struct Conn {
    handle: SocketHandle,
    big: bool,
    peer: IpEndpoint,
    inbuf: Vec<u8>,
    outbuf: Vec<u8>,
    sent: usize,
    /// Last complete query (or accept, or the end of the last answer).
    last_query_ns: u64,
    /// Last time output moved: taken by the socket or acknowledged.
    progress_ns: u64,
    /// Bytes the socket took from us, and of those acknowledged at the
    /// last look.
    taken: u64,
    acked: u64,
    /// A zone transfer going out; queries behind it wait (RFC 7766 6.2.1.1
    /// lets us answer in order).
    transfer: Option<Transfer>,
    scratch: Vec<u8>,
    /// Admitted from the transfer reserve: closed after its first answer
    /// unless that started a transfer.
    probation: bool,
    /// Read nothing more; close once everything is sent.
    finish: bool,
    /// Answers that come later through [`TcpServer::send_to`]: it is
    /// not closed for being done before they went out.
    later: u32,
    /// When we closed (or aborted) it.
    closing_ns: Option<u64>,
    /// Owes nothing (the pool may close it for room).
    idle: bool,
    /// Last time it read, sent or came back from the park.
    touched_ns: u64,
    /// Its socket while parked (`handle` is then stale).
    parked: Option<Box<AnySocket<'static>>>,
}

impl Conn {
    fn new(l: Listener, peer: IpEndpoint, now: u64) -> Conn {
        Conn {
            handle: l.handle,
            big: l.big,
            peer,
            inbuf: Vec::new(),
            outbuf: Vec::new(),
            sent: 0,
            last_query_ns: now,
            progress_ns: now,
            taken: 0,
            acked: 0,
            transfer: None,
            scratch: Vec::new(),
            probation: false,
            finish: false,
            later: 0,
            closing_ns: None,
            idle: true,
            touched_ns: now,
            parked: None,
        }
    }

    fn pending(&self) -> usize {
        self.outbuf.len() - self.sent
    }
}

/// Bytes held by all connections together.
#[derive(Clone, Copy, Debug, Default)]
struct Budget {
    held_in: usize,
    held_out: usize,
}

/// The TCP service: listeners and connections.
pub struct TcpServer {
    cfg: TcpConfig,
    ready: Vec<Listener>,
    /// Listeners that got a client since the last [`TcpServer::serve`].
    taken: Vec<Listener>,
    conns: Vec<Conn>,
    /// Big sockets still to make.
    to_grow: usize,
    budget: Budget,
    /// Earliest deadline of a connection, as of the last serve.
    deadline: Option<u64>,
    /// Peers of the parked connections.
    parked: BTreeSet<IpEndpoint>,
    /// Monotonic ns of the last serve.
    now: u64,
}

fn new_socket(cfg: &TcpConfig, send_buf: usize) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; RX_BUF]),
        tcp::SocketBuffer::new(vec![0; send_buf]),
    );
    // smoltcp's own timeout aborts a connection without a segment from the
    // peer for this long: above ours, which decide.
    let ours = cfg.idle_ns.max(cfg.stall_ns) / 1_000_000 + 5_000;
    s.set_timeout(Some(Duration::from_millis(ours.max(30_000))));
    s.set_nagle_enabled(false);
    s
}

impl TcpServer {
    /// Start listening.
    pub fn bind(net: &mut Net, cfg: TcpConfig) -> Result<TcpServer, tcp::ListenError> {
        let mut t = TcpServer {
            cfg,
            ready: Vec::new(),
            taken: Vec::new(),
            conns: Vec::new(),
            to_grow: BIG_SOCKETS,
            budget: Budget::default(),
            deadline: None,
            parked: BTreeSet::new(),
            now: 0,
        };
        for _ in 0..LISTENERS {
            t.add_listener(&mut net.sockets, TX_BUF)?;
        }
        Ok(t)
    }

    fn add_listener(
        &mut self,
        sockets: &mut SocketSet<'static>,
        send_buf: usize,
    ) -> Result<(), tcp::ListenError> {
        let mut s = new_socket(&self.cfg, send_buf);
        s.listen(self.cfg.port)?;
        self.ready.push(Listener {
            handle: sockets.add(s),
            big: send_buf == BIG_SEND_BUF,
        });
        Ok(())
    }

    /// Connections open (accepted and not yet closed).
    pub fn open(&self) -> usize {
        self.conns.len()
    }

    /// Call after each received frame: a listener that got a client is
    /// set aside for [`TcpServer::serve`] and replaced at once.
    pub fn on_frame(&mut self, sockets: &mut SocketSet<'static>) {
        let mut i = 0;
        while i < self.ready.len() {
            let l = self.ready[i];
            if sockets.get::<tcp::Socket>(l.handle).state() == tcp::State::Listen {
                i += 1;
                continue;
            }
            self.ready.swap_remove(i);
            self.taken.push(l);
            if !l.big {
                // The port was valid at bind: listen cannot fail.
                let _ = self.add_listener(sockets, TX_BUF);
            }
        }
    }

    /// Put the connection of `peer` back into the set if it is parked.
    fn unpark(&mut self, sockets: &mut SocketSet<'static>, peer: IpEndpoint, now: u64) {
        if !self.parked.remove(&peer) {
            return;
        }
        if let Some(c) = self
            .conns
            .iter_mut()
            .find(|c| c.peer == peer && c.parked.is_some())
        {
            unpark(c, sockets, now);
        }
    }

    /// Give the first listeners their big send buffers, one per call,
    /// while they only listen; call when idle. False once there is
    /// nothing left.
    pub fn grow(&mut self, net: &mut Net) -> bool {
        if self.to_grow == 0 {
            return false;
        }
        self.on_frame(&mut net.sockets);
        // The lowest slot of the set is the listener smoltcp tries first.
        let Some(i) = (0..self.ready.len())
            .filter(|&i| !self.ready[i].big)
            .min_by_key(|&i| self.ready[i].handle)
        else {
            return true; // none listening now: later
        };
        let old = self.ready.swap_remove(i);
        net.sockets.remove(old.handle);
        // The freed slot is the first free one, so the new socket takes
        // the same place in the set (and in smoltcp's accept order).
        if self.add_listener(&mut net.sockets, BIG_SEND_BUF).is_err() {
            self.to_grow = 0;
            return false;
        }
        self.to_grow -= 1;
        self.to_grow > 0
    }

    /// Accept new clients, serve every connection once; true when
    /// anything was done.
    pub fn serve(
        &mut self,
        net: &mut Net,
        handler: &mut dyn Handler,
        now: u64,
        stats: &mut Stats,
    ) -> bool {
        self.on_frame(&mut net.sockets);
        let mut busy = self.accept(&mut net.sockets, now, stats);
        let mut turn = Turn {
            cfg: &self.cfg,
            budget: &mut self.budget,
            handler,
            now,
            stats,
        };
        let mut deadline = u64::MAX;
        let mut ended = Vec::new();
        let mut i = 0;
        while i < self.conns.len() {
            let c = &mut self.conns[i];
            if c.parked.is_some() {
                let due = c.last_query_ns + self.cfg.idle_ns;
                if now < due {
                    deadline = deadline.min(due);
                    i += 1;
                    continue;
                }
                self.parked.remove(&c.peer);
                unpark(c, &mut net.sockets, now);
            }
            let sock = net.sockets.get_mut::<tcp::Socket>(c.handle);
            match turn.serve(c, sock) {
                Some((b, d)) => {
                    busy |= b;
                    deadline = deadline.min(d);
                    if parkable(c, sock, now) {
                        c.parked = Some(Box::new(net.sockets.remove(c.handle)));
                        self.parked.insert(c.peer);
                    }
                    i += 1;
                }
                None => {
                    let c = self.conns.swap_remove(i);
                    turn.budget.held_in -= c.inbuf.len();
                    turn.budget.held_out -= c.pending();
                    ended.push((c.handle, c.big));
                }
            }
        }
        for (handle, big) in ended {
            self.release(&mut net.sockets, handle, big);
        }
        self.deadline = (deadline != u64::MAX).then_some(deadline);
        self.now = now;
        busy
    }

    /// A socket whose connection ended: big ones listen again, the others
    /// go.
    fn release(&mut self, sockets: &mut SocketSet<'static>, handle: SocketHandle, big: bool) {
        if big {
            let s = sockets.get_mut::<tcp::Socket>(handle);
            if s.listen(self.cfg.port).is_ok() {
                self.ready.push(Listener { handle, big });
                return;
            }
        }
        sockets.remove(handle);
    }

    /// Admit (or refuse) the clients of the listeners taken.
    fn accept(&mut self, sockets: &mut SocketSet<'static>, now: u64, stats: &mut Stats) -> bool {
        let mut any = false;
        while let Some(l) = self.taken.pop() {
            let sock = sockets.get_mut::<tcp::Socket>(l.handle);
            let Some(peer) = sock.remote_endpoint() else {
                // The handshake was reset (back to listening) or is over.
                if sock.state() == tcp::State::Listen {
                    self.ready.push(l);
                } else {
                    self.release(sockets, l.handle, l.big);
                }
                continue;
            };
            any = true;
            stats.tcp_conns += 1;
            let mut conn = Conn::new(l, peer, now);
            let (seats, at): (Vec<Seat>, Vec<usize>) = self
                .conns
                .iter()
                .enumerate()
                .filter(|(_, c)| c.closing_ns.is_none())
                .map(|(i, c)| (seat(c), i))
                .unzip();
            match tcp_pool::admit(&self.cfg.limits, &seats, peer.addr) {
                Admit::Yes => {}
                Admit::Probation => conn.probation = true,
                Admit::Evict(s) => {
                    let victim = &mut self.conns[at[s]];
                    if victim.parked.is_some() {
                        self.parked.remove(&victim.peer);
                        unpark(victim, sockets, now);
                    }
                    sockets.get_mut::<tcp::Socket>(victim.handle).abort();
                    victim.closing_ns = Some(now);
                    stats.tcp_evicted += 1;
                }
                Admit::No => {
                    sockets.get_mut::<tcp::Socket>(l.handle).abort();
                    conn.closing_ns = Some(now);
                    stats.tcp_refused += 1;
                }
            }
            self.conns.push(conn);
        }
        any
    }

    /// Queue a response that was held back (a deferred UPDATE's) on the
    /// connection from `peer`; false when that connection is gone.
    pub fn send_to(&mut self, net: &mut Net, peer: IpEndpoint, msg: &[u8]) -> bool {
        let Some(c) = self
            .conns
            .iter_mut()
            .find(|c| c.peer == peer && c.closing_ns.is_none())
        else {
            return false;
        };
        if c.parked.is_some() {
            self.parked.remove(&peer);
            unpark(c, &mut net.sockets, self.now);
        }
        let sock = net.sockets.get_mut::<tcp::Socket>(c.handle);
        c.later = c.later.saturating_sub(1);
        let before = c.pending();
        frame(&mut c.outbuf, msg);
        flush(c, sock);
        self.budget.held_out = self.budget.held_out + c.pending() - before;
        true
    }

    /// Earliest timeout of an open connection.
    pub fn next_deadline(&self) -> Option<u64> {
        self.deadline
    }
}

impl FrameHook for TcpServer {
    /// A segment for a parked connection: back into the set first.
    fn before(&mut self, frame: &[u8], sockets: &mut SocketSet<'static>) {
        if self.parked.is_empty() {
            return;
        }
        if let Some((peer, _)) = tcp_ends(frame).filter(|(_, p)| *p == self.cfg.port) {
            self.unpark(sockets, peer, self.now);
        }
    }

    fn after(&mut self, sockets: &mut SocketSet<'static>) {
        self.on_frame(sockets);
    }
}

/// An ordinary connection, established, owing and holding nothing, quiet
/// for PARK_NS: nothing of it is left for smoltcp to send or time.
fn parkable(c: &Conn, sock: &tcp::Socket, now: u64) -> bool {
    !c.big
        && c.idle
        && c.closing_ns.is_none()
        && now.saturating_sub(c.touched_ns) >= PARK_NS
        && sock.state() == tcp::State::Established
        && sock.send_queue() == 0
        && sock.recv_queue() == 0
}

/// Put a parked connection's socket back into the set.
fn unpark(c: &mut Conn, sockets: &mut SocketSet<'static>, now: u64) {
    if let Some(s) = c.parked.take() {
        c.handle = sockets.add(*s);
        c.touched_ns = now;
    }
}

fn seat(c: &Conn) -> Seat {
    Seat {
        source: c.peer.addr,
        last_query_ns: c.last_query_ns,
        idle: c.idle,
    }
}

/// One pass over the connections.
struct Turn<'a> {
    cfg: &'a TcpConfig,
    budget: &'a mut Budget,
    handler: &'a mut dyn Handler,
    now: u64,
    stats: &'a mut Stats,
}

impl Turn<'_> {
    /// Serve one connection: (did anything, its next deadline), or None
    /// once its socket may go.
    fn serve(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> Option<(bool, u64)> {
        let state = sock.state();
        let gone = state == tcp::State::TimeWait
            || state == tcp::State::Listen
            || (state == tcp::State::Closed && sock.remote_endpoint().is_none());
        if gone {
            return None;
        }
        if let Some(at) = c.closing_ns {
            if self.now.saturating_sub(at) >= CLOSE_GRACE_NS {
                sock.abort();
            }
            return Some((false, at + CLOSE_GRACE_NS));
        }
        let (in0, out0) = (c.inbuf.len(), c.pending());
        let mut busy = self.read(c, sock);
        busy |= flush(c, sock);
        busy |= self.stream(c, sock);
        self.budget.held_in = self.budget.held_in + c.inbuf.len() - in0;
        self.budget.held_out = self.budget.held_out + c.pending() - out0;
        shrink(c);
        if busy {
            c.touched_ns = self.now;
        }
        Some((busy, self.timeouts(c, sock)))
    }

    /// Close what is done, idle or stalled; returns the next deadline.
    fn timeouts(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> u64 {
        let now = self.now;
        let queued = sock.send_queue();
        let acked = c.taken - queued as u64;
        if acked > c.acked {
            c.progress_ns = now; // the client acknowledged some
        }
        c.acked = acked;
        let owes = c.pending() > 0 || c.transfer.is_some();
        let waiting = owes || queued > 0;
        if !waiting {
            c.progress_ns = now;
        }
        c.idle = !owes && c.later == 0;
        let close = |c: &mut Conn, sock: &mut tcp::Socket| {
            sock.close();
            c.closing_ns = Some(now);
            now + CLOSE_GRACE_NS
        };
        if waiting && now.saturating_sub(c.progress_ns) >= self.cfg.stall_ns {
            // RFC 7766 6.2.3: a client that does not read its answers.
            self.stats.tcp_stalled += 1;
            sock.abort();
            c.closing_ns = Some(now);
            return now + CLOSE_GRACE_NS;
        }
        if owes {
            return c.progress_ns + self.cfg.stall_ns;
        }
        let done = c.finish || (!sock.may_recv() && state_open(sock));
        if done && c.later == 0 {
            return close(c, sock); // all answered, client done sending
        }
        if now.saturating_sub(c.last_query_ns) >= self.cfg.idle_ns {
            self.stats.tcp_timeouts += 1;
            return close(c, sock);
        }
        c.last_query_ns + self.cfg.idle_ns
    }

    /// Answer the complete messages in the connection's input, taking more
    /// bytes from the socket while output and budgets allow.
    fn read(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> bool {
        let mut busy = false;
        let mut start = 0;
        while !c.finish
            && c.transfer.is_none()
            && c.pending() < self.cfg.max_pending
            && self.budget.held_out < OUT_BUDGET
        {
            let have = c.inbuf.len() - start;
            let need = match c.inbuf[start..] {
                [a, b, ..] => 2 + u16::from_be_bytes([a, b]) as usize,
                _ => 2,
            };
            if have >= need {
                self.answer(c, start + 2, need - 2);
                start += need;
                busy = true;
                continue;
            }
            if !sock.can_recv() {
                break;
            }
            // Room for the rest of this message and some pipelined ones;
            // past SMALL_IN only within the budget.
            let room = need.max(SMALL_IN) - have;
            if have + room > SMALL_IN && self.budget.held_in + room > IN_BUDGET {
                break; // paused: the bytes stay in the socket
            }
            let inbuf = &mut c.inbuf;
            let got = sock
                .recv(|d| {
                    let n = d.len().min(room);
                    inbuf.extend_from_slice(&d[..n]);
                    (n, n)
                })
                .unwrap_or(0);
            if got == 0 {
                break;
            }
            busy = true;
        }
        c.inbuf.drain(..start);
        busy
    }

    /// Hand the message at `inbuf[at..at + len]` to the handler.
    fn answer(&mut self, c: &mut Conn, at: usize, len: usize) {
        self.stats.tcp_in += 1;
        c.last_query_ns = self.now;
        let msg = &c.inbuf[at..at + len];
        let out = &mut c.outbuf;
        let stats = &mut *self.stats;
        let handled = self
            .handler
            .handle(msg, c.peer, Transport::Tcp, self.now, &mut |resp| {
                stats.tcp_out += 1;
                frame(out, resp);
            });
        match handled {
            Handled::Done => {}
            Handled::Transfer(t) => c.transfer = Some(*t),
            Handled::Later => c.later += 1,
        }
        if c.probation {
            c.probation = false;
            c.finish = c.transfer.is_none();
        }
    }

    /// Add a zone transfer's next messages while little output waits, and
    /// send them; once it ends, the queries behind it are read again.
    fn stream(&mut self, c: &mut Conn, sock: &mut tcp::Socket) -> bool {
        let Some(mut t) = c.transfer.take() else {
            return false;
        };
        let mut busy = false;
        while c.pending() < self.cfg.max_pending
            && self.budget.held_out < OUT_BUDGET
            && sock.can_send()
        {
            let Some(m) = t.next(&mut c.scratch) else {
                c.scratch = Vec::new();
                c.last_query_ns = self.now;
                return true;
            };
            self.stats.tcp_out += 1;
            frame(&mut c.outbuf, m);
            busy |= flush(c, sock);
        }
        c.transfer = Some(t);
        busy
    }
}

/// Established or half-closed by the client: ours to close.
fn state_open(sock: &tcp::Socket) -> bool {
    matches!(
        sock.state(),
        tcp::State::Established | tcp::State::CloseWait
    )
}

/// Free buffers a message grew once they are empty.
fn shrink(c: &mut Conn) {
    if c.inbuf.is_empty() && c.inbuf.capacity() > KEEP_BUF {
        c.inbuf = Vec::new();
    }
    if c.outbuf.is_empty() && c.outbuf.capacity() > KEEP_BUF {
        c.outbuf = Vec::new();
    }
}

fn frame(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
}

/// Send as much of the pending output as the socket takes.
fn flush(c: &mut Conn, sock: &mut tcp::Socket) -> bool {
    if c.sent == c.outbuf.len() {
        return false;
    }
    let n = sock.send_slice(&c.outbuf[c.sent..]).unwrap_or(0);
    c.sent += n;
    c.taken += n as u64;
    if c.sent == c.outbuf.len() {
        c.outbuf.clear();
        c.sent = 0;
    }
    n > 0
}
