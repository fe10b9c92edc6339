//! A look at a received frame before smoltcp takes it: which TCP
//! connection it belongs to, so a server can put a socket it parked
//! outside the socket set back in first.

use smoltcp::wire::{
    EthernetFrame, EthernetProtocol, IpAddress, IpEndpoint, IpProtocol, Ipv4Packet, Ipv6Packet,
    TcpPacket,
};

/// The remote end and the local port of a TCP segment in an Ethernet
/// frame (IPv4, or IPv6 without extension headers); None for anything
/// else or a frame too short to tell.
pub fn tcp_ends(frame: &[u8]) -> Option<(IpEndpoint, u16)> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    let (src, payload) = match eth.ethertype() {
        EthernetProtocol::Ipv4 => {
            let ip = Ipv4Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp || ip.frag_offset() != 0 {
                return None;
            }
            (IpAddress::Ipv4(ip.src_addr()), ip.payload())
        }
        EthernetProtocol::Ipv6 => {
            let ip = Ipv6Packet::new_checked(eth.payload()).ok()?;
            if ip.next_header() != IpProtocol::Tcp {
                return None;
            }
            (IpAddress::Ipv6(ip.src_addr()), ip.payload())
        }
        _ => return None,
    };
    let tcp = TcpPacket::new_checked(payload).ok()?;
    Some((IpEndpoint::new(src, tcp.src_port()), tcp.dst_port()))
}

/// Called by [`crate::Net::poll_with`] around every received frame.
pub trait FrameHook {
    /// Before smoltcp sees `frame`.
    fn before(&mut self, _frame: &[u8], _sockets: &mut smoltcp::iface::SocketSet<'static>) {}
    /// After a frame that may have changed a socket.
    fn after(&mut self, _sockets: &mut smoltcp::iface::SocketSet<'static>) {}
}

/// No hook.
pub struct NoHook;

impl FrameHook for NoHook {}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ethernet + IPv4 + a 20-byte TCP header from 10.0.0.1:40000 to :53.
    fn segment() -> [u8; 54] {
        let mut f = [0u8; 54];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&40u16.to_be_bytes());
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&[10, 0, 0, 1]);
        ip[16..20].copy_from_slice(&[10, 0, 0, 2]);
        let tcp = &mut f[34..54];
        tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
        tcp[2..4].copy_from_slice(&53u16.to_be_bytes());
        tcp[12] = 5 << 4;
        f
    }

    #[test]
    fn finds_the_ends_of_a_segment() {
        let f = segment();
        let (remote, port) = tcp_ends(&f).unwrap();
        assert_eq!(
            remote,
            IpEndpoint::new(
                IpAddress::Ipv4(smoltcp::wire::Ipv4Address::new(10, 0, 0, 1)),
                40000
            )
        );
        assert_eq!(port, 53);
    }

    #[test]
    fn other_frames_and_short_ones_are_none() {
        let mut f = segment();
        for n in 0..54 {
            assert_eq!(tcp_ends(&f[..n]), None, "{n} bytes");
        }
        f[23] = 17; // UDP
        assert_eq!(tcp_ends(&f), None);
        let mut f = segment();
        f[12] = 0x86; // not IP
        assert_eq!(tcp_ends(&f), None);
    }
}
