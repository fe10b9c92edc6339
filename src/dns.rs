//! The DNS service of the appliance: the zone set, loaded from the zone
//! cache on the `storage` device, answering through the transport layer.

use crate::server::{Handler, Transport};
use crate::tar;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use gitns_dns::authority::{self, Event, Policy, Transport as DnsTransport};
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
    /// Wall clock (ns since the epoch), for TSIG.
    wall: fn() -> u64,
    /// Events from requests (signed NOTIFY), for the main loop.
    events: Vec<Event>,
    pub policy: Policy,
    /// Outgoing NOTIFYs to secondaries.
    pub notifier: gitns_dns::notify_out::Notifier,
    /// Our own addresses (never notified).
    pub own: Vec<[u8; 4]>,
}

impl Dns {
    pub fn new(zones: ZoneSet, wall: fn() -> u64, policy: Policy) -> Dns {
        Dns { zones, buf: vec![0; 65_535], stats: DnsStats::default(), wall, events: Vec::new(), policy, notifier: Default::default(), own: Vec::new() }
    }

    /// Events raised since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }
}

impl Handler for Dns {
    fn handle(&mut self, msg: &[u8], _peer: IpEndpoint, transport: Transport, _now_ns: u64, reply: &mut dyn FnMut(&[u8])) {
        let t = match transport {
            Transport::Udp => DnsTransport::Udp,
            Transport::Tcp => DnsTransport::Tcp,
        };
        let now = (self.wall)() / 1_000_000_000;
        let mut sent = false;
        let event = authority::serve(&self.zones, msg, t, now, self.policy, &mut self.buf, &mut |m| {
            sent = true;
            reply(m);
        });
        if sent {
            self.stats.answered += 1;
        } else {
            self.stats.dropped += 1;
        }
        self.events.extend(event);
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

/// Act on events: a signed NOTIFY reloads the zones from their source
/// (the storage cache until the git remote lands), keeping the last good
/// version of any zone that no longer loads.
pub fn handle_events<P: Platform>(platform: &mut P, service: &mut Dns) {
    for ev in service.take_events() {
        match ev {
            Event::Resync(zone) => {
                log::info!("NOTIFY for {zone}: reloading zones from the storage cache");
                match read_cache(platform) {
                    Ok(files) => {
                        let (zones, report) = ZoneSet::load(&files, Some(&service.zones));
                        log_report(&report);
                        let old = core::mem::replace(&mut service.zones, zones);
                        notify_risen(platform, service, Some(&old));
                    }
                    Err(e) => log::error!("reload after NOTIFY for {zone} failed: {e}; serving the loaded zones"),
                }
            }
        }
    }
}

/// Schedule NOTIFYs for every zone whose serial rose compared with `old`
/// (all zones when `old` is None, at boot), RFC 1996 3.
pub fn notify_risen<P: Platform>(platform: &mut P, service: &mut Dns, old: Option<&ZoneSet>) {
    let now = platform.monotonic_ns();
    let mut ids = || {
        let mut b = [0u8; 2];
        platform.fill_random(&mut b);
        u16::from_le_bytes(b)
    };
    for zone in service.zones.zones() {
        let before = old.and_then(|o| o.zone(&zone.origin)).and_then(|z| z.serial());
        let rose = match (before, zone.serial()) {
            (None, Some(_)) => true,
            (Some(b), Some(a)) => gitns_dns::serial::gt(a, b),
            _ => false,
        };
        if rose {
            service.notifier.zone_changed(zone, &service.zones, &service.own, now, &mut ids);
        }
    }
}
