//! Zone sources: where the served zones come from and where an UPDATE is
//! made durable. Each source (the git remote, the storage cache; next a
//! DNS primary for secondary mode, an https remote) implements
//! [`ZoneSource`]; the App holds them in a list, routes their events to
//! them and hands them what they need in a [`Cx`]. The DNS service names
//! none of them. How a new source plugs in: docs/design.md ("Zone sources
//! behind one interface").

pub mod catalog;
pub mod refresh;
pub mod secondary;
pub mod storage;
mod xfr_link;

use crate::dns::{Deferred, Dns, Reply};
use crate::resolve::Resolver;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::zone::Zone;
use gitns_dns::zoneset::{LoadReport, ZoneSet};
use gitns_net::{Net, Platform};
use storage::Storage;

/// What a source may use during one call: the platform, the network, the
/// DNS service (its zones, held NOTIFYs, queued UPDATEs), the storage
/// cache, the resolver, and where the answers it releases go.
pub struct Cx<'a, P: Platform> {
    pub platform: &'a mut P,
    pub net: &'a mut Net,
    pub dns: &'a mut Dns,
    pub storage: &'a mut Storage,
    pub resolver: Option<&'a mut Resolver>,
    /// Answers now due (an UPDATE made durable or failed, a NOTIFY held
    /// for a fetch or reload): the App sends them after the call.
    pub replies: &'a mut Vec<Reply>,
}

/// One source of zones. Every method is called by the App only; a source
/// never calls another.
pub trait ZoneSource<P: Platform> {
    /// Take up the zones restored from the storage cache at boot (they are
    /// served already): a secondary learns the serials it holds.
    fn restore(&mut self, _dns: &Dns, _now: u64) {}

    /// Its timers and sockets at monotonic time `now`; true when anything
    /// moved.
    fn run(&mut self, cx: &mut Cx<P>, now: u64) -> bool;

    /// When [`ZoneSource::run`] must run again at the latest.
    fn next_deadline(&self) -> Option<u64>;

    /// Is `zone` this source's (UPDATEs and signed NOTIFYs for it come
    /// here)? The last source in the App's list also takes what no source
    /// claims (a zone not served yet).
    fn owns(&self, zone: &Name) -> bool;

    /// A signed NOTIFY asked to load `zone` again (RFC 1996).
    fn resync(&mut self, cx: &mut Cx<P>, zone: &Name, now: u64);

    /// The UPDATE sink: make `d` durable and answer it (now, or later
    /// through [`Cx::replies`]), or give it back while busy (it stays first
    /// in the queue: UPDATEs are serialised, RFC 2136 3.7). A read-only
    /// source answers it itself (REFUSED, or forwarded to its primary).
    fn update(&mut self, cx: &mut Cx<P>, d: Deferred, now: u64) -> Result<(), Deferred>;

    /// Its lines of the metrics page (Prometheus text).
    fn metrics(&self, _out: &mut String) {}

    /// Its counters, logged at debug level with the others.
    fn log_counters(&self) {}
}

/// The sources in the App's order: the first that owns a zone gets its
/// events, the last gets what none claims.
pub type Sources<P> = Vec<alloc::boxed::Box<dyn ZoneSource<P>>>;

/// The source `zone`'s events go to (None: there is no source).
pub fn owner<'s, P: Platform>(
    sources: &'s mut Sources<P>,
    zone: &Name,
) -> Option<&'s mut alloc::boxed::Box<dyn ZoneSource<P>>> {
    let i = sources
        .iter()
        .position(|s| s.owns(zone))
        .or(sources.len().checked_sub(1))?;
    sources.get_mut(i)
}

/// Hand the queued UPDATEs to their sources, oldest first, until one is
/// given back (its source is busy) or none is left.
pub fn route_updates<P: Platform>(sources: &mut Sources<P>, cx: &mut Cx<P>, now: u64) -> bool {
    let mut moved = false;
    while let Some(d) = cx.dns.deferred.pop_front() {
        let zone = update_zone(&d.msg).unwrap_or_else(Name::root);
        let Some(s) = owner(sources, &zone) else {
            cx.dns.deferred.push_front(d);
            break;
        };
        match s.update(cx, d, now) {
            Ok(()) => moved = true,
            Err(d) => {
                cx.dns.deferred.push_front(d);
                break;
            }
        }
    }
    moved
}

/// The zone an UPDATE names (its zone section, RFC 2136 2.3), for routing.
fn update_zone(msg: &[u8]) -> Option<Name> {
    let mut r = gitns_dns::wire::Reader::message(msg, gitns_dns::wire::HEADER);
    r.name().ok().map(|n| n.to_lowercase())
}

/// Serve `zones` (a source loaded its whole set again: a fetch, a reload)
/// in place of what is served; zones gone are forgotten, secondaries of
/// zones whose serial rose are notified.
pub fn install_set<P: Platform>(cx: &mut Cx<P>, zones: ZoneSet, report: &LoadReport) {
    cx.dns.report(report);
    let old = core::mem::replace(&mut cx.dns.zones, zones);
    cx.dns.forget_removed(&old);
    crate::dns::notify_risen(cx.platform, cx.dns, Some(&old));
}

/// Serve `zone` (a whole new version, or a zone new to the set), its
/// change recorded in the IXFR history; secondaries are notified.
pub fn install_zone<P: Platform>(cx: &mut Cx<P>, zone: Zone) {
    let origin = zone.origin.clone();
    cx.dns.zones.replace(zone);
    zone_changed(cx, &origin);
}

/// `zone` was edited in place (differences applied to the served zone,
/// recorded in its history): the status page and secondaries learn it.
pub fn zone_changed<P: Platform>(cx: &mut Cx<P>, zone: &Name) {
    cx.dns
        .push_event(gitns_dns::authority::Event::Updated(zone.clone()));
}
