//! The DNS service's counters of answered traffic.

use crate::Transport;

/// Counters of answered traffic.
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsStats {
    pub answered: u64,
    pub dropped: u64,
    /// Responses by transport (0 UDP, 1 TCP) and RCODE (low 4 bits).
    pub rcodes: [[u64; 16]; 2],
    /// NOTIFY and UPDATE answers by RCODE.
    pub notify: [u64; 16],
    pub update: [u64; 16],
}

impl DnsStats {
    /// Count the first response message to a request.
    pub fn count(&mut self, transport: Transport, resp: &[u8]) {
        let (Some(&b2), Some(&b3)) = (resp.get(2), resp.get(3)) else {
            return;
        };
        let rcode = (b3 & 0x0f) as usize;
        self.rcodes[(transport == Transport::Tcp) as usize][rcode] += 1;
        match (b2 >> 3) & 0x0f {
            4 => self.notify[rcode] += 1,
            5 => self.update[rcode] += 1,
            _ => {}
        }
    }
}
