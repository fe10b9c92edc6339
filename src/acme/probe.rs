//! The UDP socket that asks each secondary for the challenge TXT records,
//! and the glue between it and the sans-I/O [`TxtProbe`].

use gitns_dns::notify_out::Target;
use gitns_dns::probe::TxtProbe;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Net;

/// A bound UDP socket for TXT probes.
pub struct ProbeSocket {
    handle: SocketHandle,
    buf: alloc::vec::Vec<u8>,
}

impl ProbeSocket {
    pub fn bind(net: &mut Net, port: u16) -> Result<ProbeSocket, udp::BindError> {
        Ok(ProbeSocket {
            handle: net.bind_udp(port, 16, 16 * 1024)?,
            buf: alloc::vec![0; 1500],
        })
    }

    /// Send the queries due and take in answers; true when it did anything.
    pub fn run(&mut self, net: &mut Net, probe: &mut TxtProbe, now: u64) -> bool {
        let sock = net.sockets.get_mut::<udp::Socket>(self.handle);
        let mut busy = false;
        for (t, msg) in probe.due(now) {
            let ep = IpEndpoint::new(IpAddress::Ipv4(Ipv4Address::from_octets(t.addr)), t.port);
            if let Err(e) = sock.send_slice(&msg, ep) {
                log::warn!("acme: TXT probe to {ep}: {e}");
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
                if probe.on_response(from, &self.buf[..len]) {
                    log::info!("acme: {} serves the challenge TXT", meta.endpoint);
                }
            }
        }
        busy
    }
}
