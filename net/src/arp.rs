//! The ARP frames the neighbour table needs (RFC 826): which neighbour an
//! ARP packet aimed at us comes from, and a request for a neighbour.

use smoltcp::wire::{
    ArpOperation, ArpPacket, ArpRepr, EthernetAddress, EthernetFrame, EthernetProtocol,
    EthernetRepr, Ipv4Address, Ipv4Cidr,
};

/// Bytes of an Ethernet frame carrying an IPv4 ARP packet.
pub const REQUEST_LEN: usize = 14 + 28;

/// The sender of an ARP request or reply for `ours` from a unicast
/// address inside `ours`' network: the packets smoltcp fills its neighbour
/// cache from (iface/interface/ipv4.rs), so the two agree on who is known.
pub fn answered_by(frame: &[u8], ours: Ipv4Cidr) -> Option<Ipv4Address> {
    let eth = EthernetFrame::new_checked(frame).ok()?;
    if eth.ethertype() != EthernetProtocol::Arp {
        return None;
    }
    let arp = ArpPacket::new_checked(eth.payload()).ok()?;
    let ArpRepr::EthernetIpv4 {
        operation,
        source_hardware_addr,
        source_protocol_addr,
        target_protocol_addr,
        ..
    } = ArpRepr::parse(&arp).ok()?
    else {
        return None;
    };
    let known_op = matches!(operation, ArpOperation::Request | ArpOperation::Reply);
    let unicast = source_hardware_addr.is_unicast()
        && !source_protocol_addr.is_broadcast()
        && !source_protocol_addr.is_multicast()
        && !source_protocol_addr.is_unspecified();
    let on_link = ours.contains_addr(&source_protocol_addr);
    (known_op && unicast && on_link && target_protocol_addr == ours.address())
        .then_some(source_protocol_addr)
}

/// Write into `buf` (at least [`REQUEST_LEN`] bytes) a broadcast ARP
/// request from `mac`/`ip` for `target`; returns the frame's length.
pub fn request(
    buf: &mut [u8],
    mac: EthernetAddress,
    ip: Ipv4Address,
    target: Ipv4Address,
) -> usize {
    let eth = EthernetRepr {
        src_addr: mac,
        dst_addr: EthernetAddress::BROADCAST,
        ethertype: EthernetProtocol::Arp,
    };
    let arp = ArpRepr::EthernetIpv4 {
        operation: ArpOperation::Request,
        source_hardware_addr: mac,
        source_protocol_addr: ip,
        target_hardware_addr: EthernetAddress([0; 6]),
        target_protocol_addr: target,
    };
    let mut frame = EthernetFrame::new_unchecked(&mut buf[..REQUEST_LEN]);
    eth.emit(&mut frame);
    arp.emit(&mut ArpPacket::new_unchecked(frame.payload_mut()));
    REQUEST_LEN
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
    const OURS: Ipv4Cidr = Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24);

    /// A request from `from`/`mac` for `target`, as a peer would send it.
    fn from(from: Ipv4Address, mac: EthernetAddress, target: Ipv4Address) -> [u8; REQUEST_LEN] {
        let mut b = [0; REQUEST_LEN];
        request(&mut b, mac, from, target);
        b
    }

    #[test]
    fn a_request_aimed_at_us_names_its_sender() {
        let peer = Ipv4Address::new(10, 0, 0, 1);
        assert_eq!(
            answered_by(&from(peer, MAC, OURS.address()), OURS),
            Some(peer)
        );
    }

    #[test]
    fn other_arp_and_frames_name_nobody() {
        let peer = Ipv4Address::new(10, 0, 0, 1);
        let elsewhere = Ipv4Address::new(10, 9, 0, 1);
        let other = Ipv4Address::new(10, 0, 0, 3);
        assert_eq!(answered_by(&from(peer, MAC, other), OURS), None);
        assert_eq!(
            answered_by(&from(elsewhere, MAC, OURS.address()), OURS),
            None
        );
        let multicast = EthernetAddress([1, 0, 0, 0, 0, 1]);
        assert_eq!(
            answered_by(&from(peer, multicast, OURS.address()), OURS),
            None
        );
        assert_eq!(answered_by(&[0u8; 20], OURS), None);
        let mut ip = from(peer, MAC, OURS.address());
        ip[12..14].copy_from_slice(&[8, 0]);
        assert_eq!(answered_by(&ip, OURS), None);
    }

    #[test]
    fn a_request_is_a_broadcast_arp_for_the_target() {
        let f = from(OURS.address(), MAC, Ipv4Address::new(10, 0, 0, 77));
        assert_eq!(&f[..6], &[0xff; 6]);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[14 + 6..14 + 8], &[0, 1], "operation request");
        assert_eq!(&f[14 + 24..], &[10, 0, 0, 77]);
    }
}
