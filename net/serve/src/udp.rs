//! DNS over UDP: one socket on port 53 with room for bursts.

use super::{Handled, Handler, Stats, Transport};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;

/// Datagrams the socket buffers in each direction. Every first touch of a
/// guest page costs a fault on PVM hosts, so buffers are sized, not generous.
const SLOTS: usize = 256;
/// Largest DNS message over UDP we accept or send (EDNS payload cap).
pub const MAX_UDP: usize = 4096;

/// The UDP listener.
pub struct UdpServer {
    handle: SocketHandle,
    buf: [u8; MAX_UDP],
}

impl UdpServer {
    /// Bind UDP `port` on every address of the interface.
    pub fn bind(net: &mut Net, port: u16) -> Result<UdpServer, udp::BindError> {
        Ok(UdpServer {
            handle: net.bind_udp(port, SLOTS, 128 * 1024)?,
            buf: [0; MAX_UDP],
        })
    }

    /// Send a response that was held back (a deferred UPDATE's).
    pub fn send_to(&self, net: &mut Net, to: IpEndpoint, msg: &[u8]) -> bool {
        net.send_udp(self.handle, msg, to).is_ok()
    }

    /// Answer every queued datagram; returns how many were handled.
    pub fn serve(
        &mut self,
        net: &mut Net,
        handler: &mut dyn Handler,
        now_ns: u64,
        stats: &mut Stats,
    ) -> usize {
        let mut n = 0;
        loop {
            let sock = net.sockets.get_mut::<udp::Socket>(self.handle);
            if !sock.can_send() {
                break;
            }
            let Ok((len, meta)) = sock.recv_slice(&mut self.buf) else {
                break;
            };
            n += 1;
            stats.udp_in += 1;
            let mut sent = false;
            // Zone transfers are TCP only: nothing comes back to stream.
            let handled = handler.handle(
                &self.buf[..len],
                meta.endpoint,
                Transport::Udp,
                now_ns,
                &mut |resp| {
                    // Through the neighbour table: an answer to an on-link
                    // address nobody answers ARP for must not block the rest.
                    if !sent && net.send_udp(self.handle, resp, meta).is_ok() {
                        sent = true;
                    }
                },
            );
            if sent {
                stats.udp_out += 1;
            } else if !matches!(handled, Handled::Later) {
                stats.udp_dropped += 1;
            }
        }
        n
    }
}
