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

mod config;
mod conn;
mod listen;
mod turn;

pub use config::TcpConfig;

use crate::tcp_pool::{self, Admit, Seat};
use crate::{Handler, Stats};
use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use config::{BIG_SOCKETS, LISTENERS, TX_BUF};
use conn::{flush, frame, parkable, seat, unpark, Budget, Conn, Listener};
use gitns_net::frame::{tcp_ends, FrameHook};
use gitns_net::smoltcp::iface::SocketSet;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;
use turn::Turn;

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

    /// Connections open (accepted and not yet closed).
    pub fn open(&self) -> usize {
        self.conns.len()
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
