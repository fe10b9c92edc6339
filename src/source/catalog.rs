//! `--catalog=NAME`: the catalog zone of the zones served (RFC 9432,
//! [`gitns_dns::catalog`]), served beside them and NOTIFYed like any zone
//! when a zone comes or goes. A zone source that owns no zone: it only
//! adds one, built from the others.

use super::{install_zone, Cx, ZoneSource};
use crate::dns::Deferred;
use gitns_dns::catalog::Catalog;
use gitns_dns::name::Name;
use gitns_net::Platform;

/// The member list is compared with the zones served this often (a zone
/// pushed shows in the catalog within it).
const CHECK_NS: u64 = 1_000_000_000;

pub struct CatalogSource {
    catalog: Catalog,
    next_check: u64,
}

impl CatalogSource {
    pub fn new(origin: Name) -> CatalogSource {
        log::info!("catalog zone {origin} lists the zones served (RFC 9432)");
        CatalogSource {
            catalog: Catalog::new(origin),
            next_check: 0,
        }
    }
}

impl<P: Platform> ZoneSource<P> for CatalogSource {
    fn run(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        // A whole new set (a fetch, a reload) dropped the catalog: put it
        // back on the next turn, not at the next check a second later.
        let served = cx.dns.zones.zone(self.catalog.origin()).is_some();
        if now < self.next_check && served {
            return false;
        }
        self.next_check = now + CHECK_NS;
        let wall = cx.platform.wall_clock_ns() / 1_000_000_000;
        let names = cx.dns.zones.zones().map(|z| &z.origin);
        let zone = match self.catalog.update(names, wall) {
            Some(z) => {
                let origin = self.catalog.origin();
                let members = cx.dns.zones.zones().filter(|z| z.origin != *origin);
                log::info!(
                    "catalog {origin}: serial {}, {} member zone(s)",
                    z.serial().unwrap_or(0),
                    members.count()
                );
                z
            }
            // The zone set was replaced (a fetch): the same version again.
            None if cx.dns.zones.zone(self.catalog.origin()).is_none() => {
                match self.catalog.zone() {
                    Some(z) => z,
                    None => return false,
                }
            }
            None => return false,
        };
        install_zone(cx, zone);
        true
    }

    fn next_deadline(&self) -> Option<u64> {
        Some(self.next_check)
    }

    /// Never: the catalog is built, not loaded; its events go elsewhere.
    fn owns(&self, _zone: &Name) -> bool {
        false
    }

    fn resync(&mut self, _cx: &mut Cx<P>, _zone: &Name, _now: u64) {}

    /// Never called while another source follows in the list.
    fn update(&mut self, _cx: &mut Cx<P>, d: Deferred, _now: u64) -> Result<(), Deferred> {
        Err(d)
    }
}
