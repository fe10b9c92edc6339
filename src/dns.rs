//! The DNS service of the appliance: the zone set, loaded from the zone
//! cache on the `storage` device, answering through the transport layer.

use crate::server::{Handler, Transport};
use crate::tar;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use gitns_dns::authority::{self, Transport as DnsTransport};
use gitns_dns::zoneset::{LoadReport, ZoneSet};
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Platform;

/// Counters of answered traffic.
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsStats {
    pub answered: u64,
    pub dropped: u64,
}

/// The authoritative service.
pub struct Dns {
    pub zones: ZoneSet,
    buf: Vec<u8>,
    pub stats: DnsStats,
}

impl Dns {
    pub fn new(zones: ZoneSet) -> Dns {
        Dns { zones, buf: vec![0; 65_535], stats: DnsStats::default() }
    }
}

impl Handler for Dns {
    fn handle(&mut self, msg: &[u8], _peer: IpEndpoint, transport: Transport, _now_ns: u64, reply: &mut dyn FnMut(&[u8])) {
        let t = match transport {
            Transport::Udp => DnsTransport::Udp,
            Transport::Tcp => DnsTransport::Tcp,
        };
        match authority::handle(&self.zones, msg, t, &mut self.buf) {
            Some(n) => {
                self.stats.answered += 1;
                reply(&self.buf[..n]);
            }
            None => self.stats.dropped += 1,
        }
    }
}

/// Read the zone cache (a ustar archive) from the storage device.
pub fn read_cache<P: Platform>(platform: &mut P) -> Result<Vec<(String, Vec<u8>)>, String> {
    let Some(capacity) = platform.block_capacity() else { return Ok(Vec::new()) };
    let files = tar::read(capacity, tar::Limits::default(), |off, buf| platform.block_read(off, buf))
        .map_err(|e| alloc::format!("storage: {e:?}"))?;
    Ok(files.into_iter().map(|f| (f.name, f.data)).collect())
}

/// Log what a load found.
pub fn log_report(rep: &LoadReport) {
    for (name, serial, records) in &rep.loaded {
        log::info!("zone {name} loaded: serial {serial}, {records} records");
    }
    for e in &rep.errors {
        log::error!("zone rejected: {e}");
    }
    for w in &rep.warnings {
        log::warn!("{w}");
    }
}
