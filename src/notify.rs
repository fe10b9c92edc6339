//! The UDP socket outgoing NOTIFYs leave from, and the glue between it and
//! the sans-I/O [`Notifier`].

use gitns_dns::notify_out::{Notifier, Target};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Net;

/// A bound UDP socket for NOTIFY traffic.
pub struct NotifySocket {
    handle: SocketHandle,
    buf: [u8; 1024],
    /// NOTIFYs sent (retransmissions included) and answered.
    pub sent: u64,
    pub answered: u64,
}

impl NotifySocket {
    pub fn bind(net: &mut Net, port: u16) -> Result<NotifySocket, udp::BindError> {
        Ok(NotifySocket {
            handle: net.bind_udp(port, 32, 16 * 1024)?,
            buf: [0; 1024],
            sent: 0,
            answered: 0,
        })
    }

    /// Send what is due and take in answers; returns true when it did anything.
    pub fn run(&mut self, net: &mut Net, n: &mut Notifier, now: u64, wall_secs: u64) -> bool {
        let sock = net.sockets.get_mut::<udp::Socket>(self.handle);
        let mut busy = false;
        for (t, msg) in n.due(now, wall_secs) {
            let ep = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from_octets(t.addr)), t.port);
            match sock.send_slice(&msg, ep) {
                Ok(()) => {
                    self.sent += 1;
                    log::debug!("NOTIFY sent to {ep}")
                }
                Err(e) => log::warn!("NOTIFY to {ep}: {e}"),
            }
            busy = true;
        }
        while let Ok((len, meta)) = sock.recv_slice(&mut self.buf) {
            busy = true;
            if let IpAddress::Ipv4(a) = meta.endpoint.addr {
                let from = Target {
                    addr: a.octets(),
                    port: meta.endpoint.port,
                };
                if n.on_response(from, &self.buf[..len]) {
                    self.answered += 1;
                    log::info!("NOTIFY answered by {}", meta.endpoint);
                }
            }
        }
        busy
    }
}
