//! One TCP connection of the secondary to its primary (a SOA query or a
//! transfer): the socket pump of serve/src/link.rs under the core's
//! [`Stream`] (framing: RFC 1035 4.2.2, RFC 7766 8).

use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::secondary::stream::Stream;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Net;
use gitns_serve::link::Link;

/// A connection for `zone`.
pub struct XfrLink {
    pub zone: Name,
    link: Link,
    stream: Stream,
    /// The last pump moved bytes, or left some in the socket (the stream
    /// held all it takes at once): run again at once.
    more: bool,
}

impl XfrLink {
    /// Connect to `to` from `port` to send `msg`.
    pub fn open(
        net: &mut Net,
        zone: Name,
        to: IpEndpoint,
        port: u16,
        msg: &[u8],
    ) -> Result<XfrLink, alloc::string::String> {
        let link = Link::open(net, to, port, 0)?;
        let stream = Stream::new(msg);
        Ok(XfrLink {
            zone,
            link,
            stream,
            more: true,
        })
    }

    /// Move the bytes: the whole messages that arrived, and whether the
    /// connection is gone (closed, reset, never established).
    pub fn pump(&mut self, net: &mut Net) -> (Vec<Vec<u8>>, bool) {
        let moved = self.link.pump_with(net, &mut self.stream);
        self.more = moved || self.stream.room() == 0;
        (self.stream.messages(), self.stream.is_closed())
    }

    /// Should the loop come back at once (not wait for the next packet)?
    pub fn more(&self) -> bool {
        self.more
    }

    /// Close the connection (reaped by `gitns_serve::link::reap`).
    pub fn close(self, net: &mut Net, closing: &mut Vec<SocketHandle>) {
        self.link.close(net, closing);
    }
}
