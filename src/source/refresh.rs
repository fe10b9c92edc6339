//! The refresh timer of the signed zones (issue 26) as a zone source that
//! owns no zone: key steps are taken and signatures re-signed before they
//! expire (gitns_dns::dnssec::keeper::refresh), each change a new version
//! with its storage journal record, its secondaries notified.

use super::{Cx, ZoneSource};
use crate::dns::Deferred;
use gitns_dns::authority::Event;
use gitns_dns::dnssec::keeper;
use gitns_dns::name::Name;
use gitns_net::Platform;

/// The refresh timer of the signed zones: when the core says signatures
/// are due (the policy's refresh time before the first expires), the
/// zones due are re-signed where due, in a new version (serial raised,
/// IXFR history, storage journal), and their secondaries notified. In the
/// App's list of zone sources; it owns no zone.
#[derive(Default)]
pub struct Refresh {
    /// Monotonic time of the next refresh.
    deadline: Option<u64>,
}

impl<P: Platform> ZoneSource<P> for Refresh {
    fn run(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        let wall = cx.platform.wall_clock_ns() / 1_000_000_000;
        let mut moved = false;
        if cx.dns.zones.signers.next_due().is_some_and(|d| d <= wall) {
            let platform = &mut *cx.platform;
            let mut random = |b: &mut [u8]| platform.fill_random(b);
            let done = keeper::refresh(&mut cx.dns.zones, wall, &mut random);
            for r in done {
                let zone = r.zone;
                r.log.iter().for_each(|l| log::info!("dnssec: {zone}: {l}"));
                crate::signing::queue(&mut cx.storage.unsaved, r.key_file.into_iter().collect());
                let Some((from, to)) = r.serials else {
                    continue;
                };
                let what = match r.log.is_empty() {
                    true => "signatures refreshed",
                    false => "key step signed in",
                };
                log::info!("dnssec: {zone}: {what}, serial {from} -> {to}");
                if let Some((ttl, rdata)) = cx.dns.zones.zone(&zone).and_then(|z| {
                    let soa = z.soa()?;
                    Some((soa.ttl, soa.rdatas.first()?.to_vec()))
                }) {
                    let msg = keeper::soa_update(&zone, ttl, &rdata);
                    cx.storage
                        .journal_internal(cx.platform, &cx.dns.zones, &zone, (from, to), msg);
                }
                cx.dns.push_event(Event::Updated(zone));
                moved = true;
            }
        }
        self.deadline = cx
            .dns
            .zones
            .signers
            .next_due()
            .map(|d| now.saturating_add(d.saturating_sub(wall).saturating_mul(1_000_000_000)));
        moved
    }

    fn next_deadline(&self) -> Option<u64> {
        self.deadline
    }

    fn owns(&self, _zone: &Name) -> bool {
        false
    }

    /// Never called: it owns no zone and is never last.
    fn resync(&mut self, _cx: &mut Cx<P>, _zone: &Name, _now: u64) {}

    /// Never called, as [`Refresh::resync`].
    fn update(&mut self, _cx: &mut Cx<P>, d: Deferred, _now: u64) -> Result<(), Deferred> {
        Err(d)
    }
}
