//! Acting on the events of the requests answered: outgoing NOTIFYs to
//! secondaries (RFC 1996), held NOTIFYs now due, zones to resync.

use super::answer::target;
use super::{Dns, Reply};
use alloc::vec::Vec;
use gitns_dns::authority::Event;
use gitns_dns::zoneset::ZoneSet;
use gitns_net::Platform;

/// Act on the events of the requests answered: NOTIFY secondaries of
/// changed zones (RFC 1996). Returns the answers to held NOTIFYs now due,
/// and the zones a signed NOTIFY asked to resync: the App routes those to
/// their zone source (`crate::source`).
pub fn handle_events<P: Platform>(
    platform: &mut P,
    service: &mut Dns,
) -> (Vec<Reply>, Vec<gitns_dns::name::Name>) {
    notify_askers(platform, service);
    let mut resync = Vec::new();
    for ev in service.take_events() {
        match ev {
            Event::Updated(zone) => {
                service.changed(&zone);
                let now = platform.monotonic_ns();
                let mut ids = || platform.random_u16();
                if let Some(z) = service.zones.zone(&zone) {
                    if gitns_dns::dnssec::signed_offline(z) && !service.zones.signers.signs(&zone) {
                        log::warn!("zone {zone} is signed offline: the names this UPDATE changed have no valid signatures until it is signed again and pushed");
                    }
                    service
                        .notifier
                        .zone_changed(z, &service.zones, &service.own, now, &mut ids);
                }
            }
            Event::Resync(zone) => resync.push(zone),
            Event::DsSeen(zone) => {
                let wall = platform.wall_clock_ns() / 1_000_000_000;
                match &service.zones.signers.ds_seen(&zone, wall)[..] {
                    [] => log::warn!("NOTIFY for the DS of {zone}: no key of it waits for its DS"),
                    tags => log::info!(
                        "NOTIFY for the DS of {zone}: DS of key {tags:?} seen at the parent"
                    ),
                }
            }
            Event::Secondary { .. }
            | Event::SecondaryOfAll { .. }
            | Event::Held { .. }
            | Event::Prepared(_)
            | Event::Transferred { .. } => {}
        }
    }
    let held = service.holds.expired(platform.monotonic_ns());
    (service.release(held), resync)
}

/// NOTIFY each host that asked for the root SOA with a transfer key, for
/// every zone that key may transfer (seed 001), and keep it as a
/// secondary of those zones.
fn notify_askers<P: Platform>(platform: &mut P, service: &mut Dns) {
    let now = platform.monotonic_ns();
    for (peer, key) in core::mem::take(&mut service.asked) {
        let Some(target) = target(peer) else { continue };
        let mut ids = || platform.random_u16();
        let n = service
            .notifier
            .notify_all(&service.zones, target, &key, now, &mut ids);
        log::info!("NOTIFY to {} for {n} zone(s)", peer.addr);
    }
}

/// Schedule NOTIFYs for every zone whose serial rose compared with `old`
/// (all zones when `old` is None, at boot), RFC 1996 3.
pub fn notify_risen<P: Platform>(platform: &mut P, service: &mut Dns, old: Option<&ZoneSet>) {
    let now = platform.monotonic_ns();
    let mut ids = || platform.random_u16();
    let (n, zones) = (&mut service.notifier, &service.zones);
    n.zones_risen(zones, old, &service.own, now, &mut ids);
}
