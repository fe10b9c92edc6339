//! gitns-serve: the DNS transport of the appliance over smoltcp sockets
//! (from gitns-net). The server: UDP and TCP port 53, handing each message
//! to a [`Handler`] (the appliance's DNS service) and sending back what it
//! produces, with the TCP connection pool and its admission rules. The
//! client side: one UDP socket loop ([`peers::UdpPeers`]) for the queries
//! sans-I/O cores send to peers (outgoing NOTIFYs, ACME TXT probes), the
//! socket of the stub resolver ([`resolve::Resolver`]), one HTTPS request
//! per TCP connection ([`https_conn::HttpsConn`], ACME), the TCP connections
//! of the zone sources ([`link::Link`]: git, read-only fetches, transfers
//! in); the `log` backend writing to the platform's console ([`logger`]).
//! And the UDP echo of the bring-up check. The DNS service above the server
//! ([`service::Dns`]): the zones answered, protection, the UPDATE queue,
//! held NOTIFYs, outgoing NOTIFYs. Knows no concrete platform and no zone
//! source: the appliance (src/app.rs) binds them and calls them each turn.
#![no_std]
#![forbid(unsafe_code)]
extern crate alloc;

pub mod chores;
pub mod echo;
pub mod git_stats;
pub mod https_conn;
pub mod link;
pub mod link_pumps;
pub mod logger;
pub mod metrics;
pub mod notify;
pub mod peers;
pub mod resolve;
pub mod service;
pub mod sockets;
pub mod tcp;
pub mod tcp_pool;
pub mod udp;

use gitns_dns::transfer::Transfer;
use gitns_net::smoltcp::wire::IpEndpoint;

/// How a message arrived: the DNS core's own type, so nothing converts.
pub use gitns_dns::ctx::Transport;

/// What became of a message.
pub enum Handled {
    /// Answered through `reply` (or dropped: zero calls).
    Done,
    /// A zone transfer (TCP): its messages go out as the connection
    /// drains, after whatever `reply` got.
    Transfer(alloc::boxed::Box<Transfer>),
    /// Its answer comes later through the server's `send_to` (an UPDATE
    /// being made durable, a NOTIFY waiting for a fetch): a TCP connection
    /// stays open for it.
    Later,
}

/// Something that answers DNS messages.
pub trait Handler {
    /// Handle one message from `peer` at monotonic time `now_ns`; call
    /// `reply` once per response message (UDP: at most once).
    fn handle(
        &mut self,
        msg: &[u8],
        peer: IpEndpoint,
        transport: Transport,
        now_ns: u64,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled;
}

/// Counters of the transport layer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub udp_in: u64,
    pub udp_out: u64,
    pub udp_dropped: u64,
    pub tcp_conns: u64,
    pub tcp_in: u64,
    pub tcp_out: u64,
    pub tcp_timeouts: u64,
    /// Idle connections closed to make room for a new one.
    pub tcp_evicted: u64,
    /// New connections refused: every connection they could replace busy.
    pub tcp_refused: u64,
    /// Connections aborted because their client did not read (zero window).
    pub tcp_stalled: u64,
}

impl Stats {
    /// This layer's families in the appliance's metrics text.
    pub fn metrics(&self, t: &mut gitns_net::metrics::Text) {
        let help = "DNS TCP connections accepted.";
        t.single(
            "gitns_tcp_connections_total",
            "counter",
            help,
            self.tcp_conns,
        );
    }
}
