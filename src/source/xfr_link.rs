//! One TCP connection of the secondary to its primary: the request goes
//! out with its two-byte length once the connection is up, and the answer
//! comes back as whole messages (RFC 1035 4.2.2, RFC 7766 8).

use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::tcp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Receive window: a large zone streams in at this many bytes a round
/// trip.
const RX_BYTES: usize = 256 * 1024;
const TX_BYTES: usize = 4 * 1024;

/// What one pump brought.
pub enum Pumped {
    /// Nothing new.
    Idle,
    /// Bytes moved; these whole messages arrived (maybe none yet).
    Messages(Vec<Vec<u8>>),
    /// The connection is gone (closed, reset, never established), after
    /// these messages.
    Closed(Vec<Vec<u8>>),
}

/// A connection for `zone`'s SOA query or transfer.
pub struct XfrLink {
    pub zone: Name,
    handle: SocketHandle,
    /// The request, framed; sent once established.
    request: Vec<u8>,
    sent: usize,
    /// Bytes received not yet making a whole message.
    rx: Vec<u8>,
}

impl XfrLink {
    /// Connect to `to` from `local_port` to send `msg`.
    pub fn open(
        net: &mut Net,
        zone: Name,
        to: IpEndpoint,
        local_port: u16,
        msg: &[u8],
    ) -> Result<XfrLink, alloc::string::String> {
        let handle = net.connect_tcp(to, local_port, RX_BYTES, TX_BYTES)?;
        let mut request = (msg.len() as u16).to_be_bytes().to_vec();
        request.extend_from_slice(msg);
        Ok(XfrLink {
            zone,
            handle,
            request,
            sent: 0,
            rx: Vec::new(),
        })
    }

    /// Send what is due, take in what arrived.
    pub fn pump(&mut self, net: &mut Net) -> Pumped {
        let sock = net.sockets.get_mut::<tcp::Socket>(self.handle);
        let mut moved = false;
        if sock.can_send() && self.sent < self.request.len() {
            let n = sock.send_slice(&self.request[self.sent..]).unwrap_or(0);
            self.sent += n;
            moved |= n > 0;
        }
        while sock.can_recv() {
            let rx = &mut self.rx;
            let n = sock
                .recv(|d| {
                    rx.extend_from_slice(d);
                    (d.len(), d.len())
                })
                .unwrap_or(0);
            if n == 0 {
                break;
            }
            moved = true;
        }
        let msgs = self.whole_messages();
        let gone = !sock.is_open() || sock.state() == tcp::State::CloseWait;
        match (gone, moved) {
            (true, _) => Pumped::Closed(msgs),
            (false, true) => Pumped::Messages(msgs),
            (false, false) => Pumped::Idle,
        }
    }

    /// The whole messages at the front of what was received.
    fn whole_messages(&mut self) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut at = 0;
        while let Some(len) = self.rx.get(at..at + 2) {
            let len = u16::from_be_bytes([len[0], len[1]]) as usize;
            let Some(m) = self.rx.get(at + 2..at + 2 + len) else {
                break;
            };
            out.push(m.to_vec());
            at += 2 + len;
        }
        self.rx.drain(..at);
        out
    }

    /// Close the connection (the socket is removed once closed).
    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        net.sockets.get_mut::<tcp::Socket>(self.handle).close();
        closing.push(self.handle);
    }
}

/// Remove the closed sockets among `closing` (aborting the oldest beyond
/// 8), as the git remote does with its own.
pub fn reap(net: &mut Net, closing: &mut Vec<SocketHandle>) {
    while closing.len() > 8 {
        let h = closing.remove(0);
        net.sockets.get_mut::<tcp::Socket>(h).abort();
        net.sockets.remove(h);
    }
    crate::remote::conn::reap(net, closing);
}
