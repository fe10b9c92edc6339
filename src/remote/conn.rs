//! The byte pump between one smoltcp TCP socket and the sans-I/O git
//! connection ([`Conn`]: the SSH session, its reuse between commands),
//! and the sockets' closing.

use alloc::string::String;
use alloc::vec::Vec;
use gitns_git::conn::Conn;
use gitns_git::session::SessionError;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Receive window: a clone of a large zone streams in at this many bytes
/// per round trip.
const RX_BYTES: usize = 256 * 1024;
const TX_BYTES: usize = 64 * 1024;

/// The TCP connection under the git client's connection number
/// `generation` ([`gitns_git::client::Client::generation`]).
pub struct Link {
    handle: SocketHandle,
    pub target: IpEndpoint,
    pub generation: u64,
}

/// What a socket's bytes go to and come from: the SSH connection, or a
/// read-only fetch (src/remote/public.rs), with the time of this turn.
pub trait Pumped {
    fn was_connected(&self) -> bool;
    fn transport_up(&mut self);
    fn input(&mut self, data: &[u8]);
    fn pending_output(&mut self) -> &[u8];
    fn consume_output(&mut self, n: usize);
    fn transport_closed(&mut self);
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

/// How a connection attempt or session ended badly, for the log.
pub fn describe(e: &SessionError, target: IpEndpoint, established: bool) -> String {
    match e {
        SessionError::Closed if !established => alloc::format!("cannot connect to {target}"),
        e => alloc::format!("{target}: {e}"),
    }
}

impl Link {
    /// Connect to `target` from `local_port` for connection `generation`.
    pub fn open(
        net: &mut Net,
        target: IpEndpoint,
        local_port: u16,
        generation: u64,
    ) -> Result<Link, String> {
        let handle = net.connect_tcp(target, local_port, RX_BYTES, TX_BYTES)?;
        Ok(Link {
            handle,
            target,
            generation,
        })
    }

    /// Move bytes both ways between the socket and `conn`; whether any
    /// moved.
    pub fn pump(&mut self, net: &mut Net, now: u64, conn: &mut Conn) -> bool {
        self.pump_with(net, &mut SshPump { conn, now })
    }

    /// Move bytes both ways between the socket and `p`; whether any moved.
    pub fn pump_with(&mut self, net: &mut Net, p: &mut dyn Pumped) -> bool {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut busy = false;
        if !p.was_connected() && sock.state() == tcp::State::Established {
            log::debug!("git: connected to {}", self.target);
            p.transport_up();
        }
        while sock.can_recv() {
            let n = sock
                .recv(|d| {
                    p.input(d);
                    (d.len(), d.len())
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            busy = true;
        }
        let out = p.pending_output();
        if sock.can_send() && !out.is_empty() {
            let n = sock.send_slice(out).unwrap_or(0);
            p.consume_output(n);
            busy |= n > 0;
        }
        if !sock.is_open() || sock.state() == tcp::State::CloseWait {
            p.transport_closed();
        }
        busy
    }

    /// Close the connection; the socket is reaped by [`reap`] once done.
    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        net.sockets.get_mut::<tcp::Socket>(self.handle).close();
        closing.push(self.handle);
        if closing.len() > 8 {
            let h = closing.remove(0);
            net.sockets.get_mut::<tcp::Socket>(h).abort();
            net.sockets.remove(h);
        }
    }
}

/// Remove closed sockets from the set.
pub fn reap(net: &mut Net, closing: &mut Vec<SocketHandle>) {
    closing.retain(|&h| {
        let s = net.sockets.get_mut::<tcp::Socket>(h);
        let done = matches!(s.state(), tcp::State::Closed | tcp::State::TimeWait);
        if done {
            net.sockets.remove(h);
        }
        !done
    });
}
