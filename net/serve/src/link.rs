//! One outgoing TCP connection of a zone source (the git remote's SSH
//! session, a read-only fetch, a secondary's SOA query or transfer): the
//! byte pump between a smoltcp socket and the sans-I/O stream above it
//! ([`Pumped`]), and the closing of its sockets.

use alloc::string::String;
use alloc::vec::Vec;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Receive window: a clone of a large zone streams in at this many bytes
/// per round trip.
const RX_BYTES: usize = 256 * 1024;
const TX_BYTES: usize = 64 * 1024;

/// Sockets closing at once before the oldest is aborted.
const MAX_CLOSING: usize = 8;

/// The TCP connection under a sans-I/O connection number `generation`
/// (e.g. [`gitns_git::client::Client::generation`]).
pub struct Link {
    handle: SocketHandle,
    pub target: IpEndpoint,
    pub generation: u64,
}

/// What a socket's bytes go to and come from (the time of the turn is the
/// implementor's: see [`crate::link_pumps`]).
pub trait Pumped {
    fn was_connected(&self) -> bool;
    fn transport_up(&mut self);
    fn input(&mut self, data: &[u8]);
    /// Bytes it takes in now at most; the rest stays in the socket, whose
    /// window then holds the peer back (a zone transfer parses what it
    /// took before the loop can advertise the freed window).
    fn room(&self) -> usize {
        usize::MAX
    }
    fn pending_output(&mut self) -> &[u8];
    fn consume_output(&mut self, n: usize);
    fn transport_closed(&mut self);
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

    /// Move bytes both ways between the socket and `p`; whether any moved.
    pub fn pump_with(&mut self, net: &mut Net, p: &mut dyn Pumped) -> bool {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut busy = false;
        if !p.was_connected() && sock.state() == tcp::State::Established {
            log::debug!("connected to {}", self.target);
            p.transport_up();
        }
        while sock.can_recv() && p.room() > 0 {
            let n = sock
                .recv(|d| {
                    let d = &d[..d.len().min(p.room())];
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

    /// Close the connection; the socket is reaped by [`reap`] once done
    /// (the oldest of more than [`MAX_CLOSING`] is aborted).
    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        net.sockets.get_mut::<tcp::Socket>(self.handle).close();
        closing.push(self.handle);
        if closing.len() > MAX_CLOSING {
            let h = closing.remove(0);
            net.sockets.get_mut::<tcp::Socket>(h).abort();
            net.sockets.remove(h);
        }
    }
}

/// A zone source's connection socket (the one for connection
/// `generation` of its sans-I/O client) and its sockets still closing.
#[derive(Default)]
pub struct Links {
    link: Option<Link>,
    closing: Vec<SocketHandle>,
}

impl Links {
    /// The open socket, when it carries connection `generation`.
    pub fn of(&mut self, generation: u64) -> Option<&mut Link> {
        self.link.as_mut().filter(|l| l.generation == generation)
    }

    /// The open socket's peer.
    pub fn target(&self) -> Option<IpEndpoint> {
        self.link.as_ref().map(|l| l.target)
    }

    /// Close the open socket unless it carries connection `live` (None:
    /// none is live), and reap the sockets done closing.
    pub fn keep_only(&mut self, net: &mut Net, live: Option<u64>) {
        if let Some(l) = self.link.take_if(|l| Some(l.generation) != live) {
            l.close(net, &mut self.closing);
        }
        self.reap(net);
    }

    /// Remove the sockets done closing.
    pub fn reap(&mut self, net: &mut Net) {
        reap(net, &mut self.closing);
    }

    /// Connect to `target` from `local_port` for connection `generation`,
    /// in place of the socket open before.
    pub fn open(
        &mut self,
        net: &mut Net,
        target: IpEndpoint,
        local_port: u16,
        generation: u64,
    ) -> Result<(), String> {
        self.keep_only(net, None);
        self.link = Some(Link::open(net, target, local_port, generation)?);
        Ok(())
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
