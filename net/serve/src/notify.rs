//! The UDP socket outgoing NOTIFYs leave from, and the glue between it and
//! the sans-I/O [`Notifier`].

use crate::peers::UdpPeers;
use gitns_dns::notify_out::Notifier;
use gitns_net::smoltcp::socket::udp;
use gitns_net::Net;

/// A bound UDP socket for NOTIFY traffic.
pub struct NotifySocket {
    peers: UdpPeers,
    /// NOTIFYs sent (retransmissions included) and answered.
    pub sent: u64,
    pub answered: u64,
}

impl NotifySocket {
    pub fn bind(net: &mut Net, port: u16) -> Result<NotifySocket, udp::BindError> {
        Ok(NotifySocket {
            peers: UdpPeers::bind(net, port, 32, "NOTIFY")?,
            sent: 0,
            answered: 0,
        })
    }

    /// Send what is due and take in answers; returns true when it did anything.
    pub fn run(&mut self, net: &mut Net, n: &mut Notifier, now: u64, wall_secs: u64) -> bool {
        let due = n.due(now, wall_secs);
        let moved = self.peers.exchange(net, due, |ep, from, msg| {
            let ok = n.on_response(from, msg);
            if ok {
                log::info!("NOTIFY answered by {ep}");
            }
            ok
        });
        self.sent += moved.sent;
        self.answered += moved.answered;
        moved.busy
    }
}
