//! The sans-I/O streams a [`Link`] pumps: the git remote's SSH connection
//! ([`Conn`], its reuse between commands), a read-only fetch
//! ([`Transfer`]) and a secondary's DNS-over-TCP [`Stream`], each with the
//! time of the turn where it needs one.

use crate::link::{Link, Pumped};
use alloc::string::String;
use gitns_dns::secondary::stream::Stream;
use gitns_git::conn::Conn;
use gitns_git::session::SessionError;
use gitns_git::transfer::{Now, Transfer};
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

impl Link {
    /// Move bytes both ways between the socket and the SSH connection
    /// `conn` at monotonic time `now`; whether any moved.
    pub fn pump(&mut self, net: &mut Net, now: u64, conn: &mut Conn) -> bool {
        self.pump_with(net, &mut SshPump { conn, now })
    }

    /// Move bytes both ways between the socket and the read-only fetch `t`
    /// at time `now`; whether any moved.
    pub fn pump_fetch(&mut self, net: &mut Net, now: Now, t: &mut dyn Transfer) -> bool {
        self.pump_with(net, &mut FetchPump { t, now })
    }
}

/// How a connection attempt or SSH session ended badly, for the log.
pub fn describe(e: &SessionError, target: IpEndpoint, established: bool) -> String {
    match e {
        SessionError::Closed if !established => alloc::format!("cannot connect to {target}"),
        e => alloc::format!("{target}: {e}"),
    }
}

/// The SSH connection at time `now`.
struct SshPump<'a> {
    conn: &'a mut Conn,
    now: u64,
}

impl Pumped for SshPump<'_> {
    fn was_connected(&self) -> bool {
        self.conn.was_connected()
    }
    fn transport_up(&mut self) {
        self.conn.transport_up()
    }
    fn input(&mut self, data: &[u8]) {
        self.conn.input(self.now, data)
    }
    fn pending_output(&mut self) -> &[u8] {
        self.conn.pending_output()
    }
    fn consume_output(&mut self, n: usize) {
        self.conn.consume_output(n)
    }
    fn transport_closed(&mut self) {
        self.conn.transport_closed()
    }
}

/// A fetch at the time of this turn.
struct FetchPump<'a> {
    t: &'a mut dyn Transfer,
    now: Now,
}

impl Pumped for FetchPump<'_> {
    fn was_connected(&self) -> bool {
        self.t.was_connected()
    }
    fn transport_up(&mut self) {
        self.t.transport_up()
    }
    fn input(&mut self, data: &[u8]) {
        self.t.input(self.now, data)
    }
    fn pending_output(&mut self) -> &[u8] {
        self.t.pending_output()
    }
    fn consume_output(&mut self, n: usize) {
        self.t.consume_output(n)
    }
    fn transport_closed(&mut self) {
        self.t.transport_closed(self.now)
    }
}

/// A secondary's SOA query or transfer (framing: RFC 1035 4.2.2, RFC 7766
/// 8): connected once the socket is (its bytes wait until then).
impl Pumped for Stream {
    fn was_connected(&self) -> bool {
        true
    }
    fn transport_up(&mut self) {}
    fn input(&mut self, data: &[u8]) {
        self.received(data)
    }
    fn room(&self) -> usize {
        Stream::room(self)
    }
    fn pending_output(&mut self) -> &[u8] {
        self.unsent()
    }
    fn consume_output(&mut self, n: usize) {
        self.sent(n)
    }
    fn transport_closed(&mut self) {
        self.closed()
    }
}
