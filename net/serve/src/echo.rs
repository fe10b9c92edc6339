//! UDP echo service: network bring-up check (issue 3), replaced by DNS.

use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::Net;

/// One bound UDP socket that sends every datagram back to its sender.
pub struct Echo {
    handle: SocketHandle,
    buf: [u8; 2048],
}

impl Echo {
    /// Bind the echo socket on `port`.
    pub fn bind(net: &mut Net, port: u16) -> Result<Echo, udp::BindError> {
        let handle = net.bind_udp(port, 64, 64 * 1024)?;
        Ok(Echo {
            handle,
            buf: [0; 2048],
        })
    }

    /// Echo every queued datagram; returns how many were echoed.
    pub fn serve(&mut self, net: &mut Net) -> usize {
        let sock = net.sockets.get_mut::<udp::Socket>(self.handle);
        let mut n = 0;
        while sock.can_send() {
            let Ok((len, meta)) = sock.recv_slice(&mut self.buf) else {
                break;
            };
            if sock.send_slice(&self.buf[..len], meta.endpoint).is_err() {
                break;
            }
            n += 1;
        }
        n
    }
}
