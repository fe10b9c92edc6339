//! UDP sends that a dead on-link neighbour cannot block: a datagram whose
//! next hop has not answered ARP lately waits in the [`Neighbours`] table,
//! not at the head of the smoltcp socket (which would hold every datagram
//! behind it until the neighbour appears).

use crate::arp;
use crate::held::Held;
use crate::iface::Net;
use crate::platform::Platform;
use alloc::vec::Vec;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp::{self, UdpMetadata};
use smoltcp::wire::{HardwareAddress, IpAddress, Ipv4Address};

impl Net {
    /// Send `payload` from the UDP socket `handle` to `meta`'s endpoint:
    /// at once when the next hop is known (one table lookup), else held
    /// (at most [`crate::neigh::QUEUE`] per neighbour, given up after
    /// [`crate::neigh::GIVE_UP_NS`]) while the next poll asks ARP.
    pub fn send_udp(
        &mut self,
        handle: SocketHandle,
        payload: &[u8],
        meta: impl Into<UdpMetadata>,
    ) -> Result<(), udp::SendError> {
        let meta = meta.into();
        let now = self.now_ns;
        let hop = self.next_hop(meta.endpoint.addr);
        let sock = self.sockets.get_mut::<udp::Socket>(handle);
        let Some(hop) = hop else {
            return sock.send_slice(payload, meta);
        };
        if self.neighbours.is_reachable(hop, now) {
            return sock.send_slice(payload, meta);
        }
        if !sock.can_send() {
            return Err(udp::SendError::BufferFull);
        }
        let held = Held {
            handle,
            payload: payload.to_vec(),
            meta,
        };
        match self.neighbours.route(hop, now, held) {
            Some(h) => sock.send_slice(&h.payload, h.meta),
            None => Ok(()),
        }
    }

    /// The on-link IPv4 neighbour a datagram to `dst` goes through (itself
    /// or the gateway); None where smoltcp's own path is kept: IPv6,
    /// broadcast and multicast, our own address, no route.
    fn next_hop(&self, dst: IpAddress) -> Option<Ipv4Address> {
        let IpAddress::Ipv4(dst) = dst else {
            return None;
        };
        let ours = self.config.ipv4;
        let special = dst.is_broadcast()
            || dst.is_multicast()
            || dst.is_unspecified()
            || dst.is_loopback()
            || Some(dst) == ours.broadcast()
            || dst == ours.address();
        if special {
            None
        } else if ours.contains_addr(&dst) {
            Some(dst)
        } else {
            self.config.ipv4_gateway
        }
    }

    /// An ARP packet aimed at us came from this neighbour: what waited
    /// for it goes into its sockets (smoltcp has just filled its cache
    /// from the same packet).
    pub(crate) fn neighbour_answered(&mut self, addr: Ipv4Address) {
        for h in self.neighbours.confirmed(addr, self.now_ns) {
            let sock = self.sockets.get_mut::<udp::Socket>(h.handle);
            if sock.send_slice(&h.payload, h.meta).is_err() {
                self.neighbours.dropped += 1;
            }
        }
    }

    /// Ask ARP for the neighbours due and give up on the silent ones.
    pub(crate) fn poll_neighbours<P: Platform>(&mut self, platform: &mut P) {
        let HardwareAddress::Ethernet(mac) = self.iface.hardware_addr();
        let ip = self.config.ipv4.address();
        let mut asks = Vec::new();
        let dropped = self.neighbours.poll(self.now_ns, |a| asks.push(a));
        if dropped > 0 {
            log::debug!("net: {dropped} datagram(s) dropped, neighbour not answering ARP");
        }
        let mut frame = [0u8; arp::REQUEST_LEN];
        for target in asks {
            let len = arp::request(&mut frame, mac, ip, target);
            match platform.net_send(&frame[..len]) {
                Ok(()) => self.frames_out += 1,
                Err(e) => log::warn!("net: ARP request for {target} not sent: {e:?}"),
            }
        }
    }
}
