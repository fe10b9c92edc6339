//! The tuning of the TCP service and the sizes it works with.

use crate::tcp_pool::Limits;

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
pub(super) const RX_BUF: usize = 2 * 1024;
/// Send buffer of an ordinary socket: bytes in flight; the rest of an
/// answer waits in our own buffer.
pub(super) const TX_BUF: usize = 4 * 1024;
/// Send buffer the first sockets of the pool grow to once the server is
/// idle: it bounds a zone transfer's bytes in flight (1M-name AXFR: 0.44 s
/// with 32 KiB, 0.37 s with 256 KiB). They are kept for good (listening
/// again after each connection) and sit first in the socket set, where
/// smoltcp looks for a listener first, so they take most transfers.
/// Zeroing (first touch of) guest memory is slow under PVM (~1.6 ms each),
/// so they are made on idle turns, not at boot.
pub(super) const BIG_SEND_BUF: usize = 256 * 1024;
pub(super) const BIG_SOCKETS: usize = 2;
/// Ordinary sockets listening at any time: the SYNs of one received frame
/// batch beyond these are reset (each taken one is replaced between two
/// frames, so only SYNs in one frame... i.e. none in practice).
pub(super) const LISTENERS: usize = 4;
/// Input a connection may hold without counting against the budget.
pub(super) const SMALL_IN: usize = 4 * 1024;
/// Partial messages held by all connections together; past it a
/// connection's bytes stay in its socket (its window closes).
pub(super) const IN_BUDGET: usize = 8 << 20;
/// Unsent answers of all connections together; past it no connection
/// reads another query until some output drains.
pub(super) const OUT_BUDGET: usize = 16 << 20;
/// A connection we closed that has not finished closing after this long
/// is aborted (a peer ignoring our FIN, or not reading).
pub(super) const CLOSE_GRACE_NS: u64 = 5_000_000_000;
/// Our buffers are freed when empty and larger than this.
pub(super) const KEEP_BUF: usize = 4 * 1024;
/// An established connection with nothing to do for this long is parked
/// outside the socket set (its ACKs long sent): smoltcp walks every socket
/// of the set on each poll (egress, next deadline) and on each received
/// segment until one matches, so 1,000 idle sockets in the set would cost
/// every query. A segment from its peer brings it back first
/// ([`super::TcpServer::before`]).
pub(super) const PARK_NS: u64 = 1_000_000_000;
