//! The interface's neighbour table and what waits in it: datagrams whose
//! next hop has not answered ARP lately (a leaf: the interface holds the
//! table, `udp_out` fills and drains it).

use crate::neigh::Neighbours;
use alloc::vec::Vec;
use smoltcp::iface::SocketHandle;
use smoltcp::socket::udp::UdpMetadata;

/// A datagram waiting for its neighbour.
pub struct Held {
    pub(crate) handle: SocketHandle,
    pub(crate) payload: Vec<u8>,
    pub(crate) meta: UdpMetadata,
}

/// The neighbour table of the interface.
pub type Table = Neighbours<Held>;
