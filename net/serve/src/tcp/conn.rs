//! One TCP connection's state, and the small steps on it: frame a
//! message, send what the socket takes, free grown buffers, park.

use super::config::{KEEP_BUF, PARK_NS};
use crate::tcp_pool::Seat;
use alloc::boxed::Box;
use alloc::vec::Vec;
use gitns_dns::transfer::Transfer;
use gitns_net::smoltcp::iface::{SocketHandle, SocketSet};
use gitns_net::smoltcp::socket::{tcp, Socket as AnySocket};
use gitns_net::smoltcp::wire::IpEndpoint;

/// A socket listening for the next client.
#[derive(Clone, Copy, Debug)]
pub(super) struct Listener {
    pub(super) handle: SocketHandle,
    pub(super) big: bool,
}

pub(super) struct Conn {
    pub(super) handle: SocketHandle,
    pub(super) big: bool,
    pub(super) peer: IpEndpoint,
    pub(super) inbuf: Vec<u8>,
    pub(super) outbuf: Vec<u8>,
    pub(super) sent: usize,
    /// Last complete query (or accept, or the end of the last answer).
    pub(super) last_query_ns: u64,
    /// Last time output moved: taken by the socket or acknowledged.
    pub(super) progress_ns: u64,
    /// Bytes the socket took from us, and of those acknowledged at the
    /// last look.
    pub(super) taken: u64,
    pub(super) acked: u64,
    /// A zone transfer going out; queries behind it wait (RFC 7766 6.2.1.1
    /// lets us answer in order).
    pub(super) transfer: Option<Transfer>,
    pub(super) scratch: Vec<u8>,
    /// Admitted from the transfer reserve: closed after its first answer
    /// unless that started a transfer.
    pub(super) probation: bool,
    /// Read nothing more; close once everything is sent.
    pub(super) finish: bool,
    /// Answers that come later through [`super::TcpServer::send_to`]: it is
    /// not closed for being done before they went out.
    pub(super) later: u32,
    /// When we closed (or aborted) it.
    pub(super) closing_ns: Option<u64>,
    /// Owes nothing (the pool may close it for room).
    pub(super) idle: bool,
    /// Last time it read, sent or came back from the park.
    pub(super) touched_ns: u64,
    /// Its socket while parked (`handle` is then stale).
    pub(super) parked: Option<Box<AnySocket<'static>>>,
}

impl Conn {
    pub(super) fn new(l: Listener, peer: IpEndpoint, now: u64) -> Conn {
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

    pub(super) fn pending(&self) -> usize {
        self.outbuf.len() - self.sent
    }
}

/// Bytes held by all connections together.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Budget {
    pub(super) held_in: usize,
    pub(super) held_out: usize,
}

/// An ordinary connection, established, owing and holding nothing, quiet
/// for PARK_NS: nothing of it is left for smoltcp to send or time.
pub(super) fn parkable(c: &Conn, sock: &tcp::Socket, now: u64) -> bool {
    !c.big
        && c.idle
        && c.closing_ns.is_none()
        && now.saturating_sub(c.touched_ns) >= PARK_NS
        && sock.state() == tcp::State::Established
        && sock.send_queue() == 0
        && sock.recv_queue() == 0
}

/// Put a parked connection's socket back into the set.
pub(super) fn unpark(c: &mut Conn, sockets: &mut SocketSet<'static>, now: u64) {
    if let Some(s) = c.parked.take() {
        c.handle = sockets.add(*s);
        c.touched_ns = now;
    }
}

pub(super) fn seat(c: &Conn) -> Seat {
    Seat {
        source: c.peer.addr,
        last_query_ns: c.last_query_ns,
        idle: c.idle,
    }
}

/// Established or half-closed by the client: ours to close.
pub(super) fn state_open(sock: &tcp::Socket) -> bool {
    matches!(
        sock.state(),
        tcp::State::Established | tcp::State::CloseWait
    )
}

/// Free buffers a message grew once they are empty.
pub(super) fn shrink(c: &mut Conn) {
    if c.inbuf.is_empty() && c.inbuf.capacity() > KEEP_BUF {
        c.inbuf = Vec::new();
    }
    if c.outbuf.is_empty() && c.outbuf.capacity() > KEEP_BUF {
        c.outbuf = Vec::new();
    }
}

pub(super) fn frame(out: &mut Vec<u8>, msg: &[u8]) {
    out.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    out.extend_from_slice(msg);
}

/// Send as much of the pending output as the socket takes.
pub(super) fn flush(c: &mut Conn, sock: &mut tcp::Socket) -> bool {
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
