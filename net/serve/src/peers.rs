//! A UDP socket that sends a sans-I/O core's due queries to peers and hands
//! their answers back: one loop for the outgoing NOTIFYs
//! ([`gitns_dns::notify_out::Notifier`]) and the ACME TXT probes
//! ([`gitns_dns::probe::TxtProbe`]), which both speak `(Target, message)`.

use alloc::vec::Vec;
use gitns_dns::notify_out::Target;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Net;

/// Largest answer taken in (NOTIFY answers and TXT probes are small; a
/// longer datagram is cut and fails to parse).
const MAX_ANSWER: usize = 1500;

/// What one pass moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Moved {
    /// Queries handed to the socket.
    pub sent: u64,
    /// Answers the core took as a match.
    pub answered: u64,
    /// Anything sent or received.
    pub busy: bool,
}

/// A bound UDP socket talking to peers.
pub struct UdpPeers {
    handle: SocketHandle,
    buf: Vec<u8>,
    /// How log lines name the traffic ("NOTIFY", "acme: TXT probe").
    what: &'static str,
}

impl UdpPeers {
    /// Bind `port` with room for `packets` datagrams each way.
    pub fn bind(
        net: &mut Net,
        port: u16,
        packets: usize,
        what: &'static str,
    ) -> Result<UdpPeers, udp::BindError> {
        Ok(UdpPeers {
            handle: net.bind_udp(port, packets, 16 * 1024)?,
            buf: alloc::vec![0; MAX_ANSWER],
            what,
        })
    }

    /// Send `due` and give every datagram that arrived to `answer` (from
    /// whom, the bytes); it returns whether the datagram matched a query.
    pub fn exchange(
        &mut self,
        net: &mut Net,
        due: Vec<(Target, Vec<u8>)>,
        mut answer: impl FnMut(IpEndpoint, Target, &[u8]) -> bool,
    ) -> Moved {
        let mut moved = Moved::default();
        for (t, msg) in due {
            let ep = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from_octets(t.addr)), t.port);
            // A peer that is down (no ARP answer) holds back none of the others.
            match net.send_udp(self.handle, &msg, ep) {
                Ok(()) => {
                    moved.sent += 1;
                    log::debug!("{} sent to {ep}", self.what);
                }
                Err(e) => log::warn!("{} to {ep}: {e}", self.what),
            }
            moved.busy = true;
        }
        let sock = net.sockets.get_mut::<udp::Socket>(self.handle);
        while let Ok((len, meta)) = sock.recv_slice(&mut self.buf) {
            moved.busy = true;
            if let IpAddress::Ipv4(a) = meta.endpoint.addr {
                let from = Target {
                    addr: a.octets(),
                    port: meta.endpoint.port,
                };
                if answer(meta.endpoint, from, &self.buf[..len]) {
                    moved.answered += 1;
                }
            }
        }
        moved
    }
}
