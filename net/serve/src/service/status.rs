//! What the status page shows of each zone, and the log of each load.

use super::Dns;
use alloc::string::String;
use gitns_dns::zoneset::{LoadReport, ZoneSet};

impl Dns {
    /// Zones of `old` no longer served (their file left the source): no
    /// NOTIFY goes out for them, the status page forgets them.
    pub fn forget_removed(&mut self, old: &ZoneSet) {
        for zone in old.zones() {
            if self.zones.zone(&zone.origin).is_some() {
                continue;
            }
            log::info!("zone {} removed: no longer served", zone.origin);
            self.notifier.forget(&zone.origin);
            self.zone_status.remove(&zone.origin.to_text());
        }
    }
}

/// What the status page shows of a zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneStatus {
    pub serial: u32,
    /// Unix time the zone last changed (loaded with a new serial, UPDATE).
    pub changed: u64,
    /// Why its file was last rejected (the zone served is the last good).
    pub error: Option<String>,
}

impl Dns {
    /// Log a load and keep its outcome per zone for the status page.
    pub fn report(&mut self, rep: &LoadReport) {
        log_report(rep);
        let now = (self.wall)() / 1_000_000_000;
        for (name, serial, _) in &rep.loaded {
            let st = self.zone_status.entry(name.clone()).or_default();
            if st.serial != *serial || st.changed == 0 {
                st.changed = now;
            }
            st.serial = *serial;
            st.error = None;
        }
        // "FILE:LINE:COL: what": the file names the zone. Key files are
        // left out: their errors must not reach any output.
        for e in &rep.errors {
            let file = e.split(':').next().unwrap_or("");
            if file.is_empty() || gitns_dns::zoneset::is_keys_file(file) {
                continue;
            }
            let zone = alloc::format!("{}.", file.trim_end_matches('.'));
            self.zone_status.entry(zone).or_default().error = Some(e.clone());
        }
    }

    /// An UPDATE (or ACME) changed `zone`.
    pub fn changed(&mut self, zone: &gitns_dns::name::Name) {
        let now = (self.wall)() / 1_000_000_000;
        let serial = self.zones.zone(zone).and_then(|z| z.serial()).unwrap_or(0);
        let st = self.zone_status.entry(zone.to_text()).or_default();
        (st.serial, st.changed) = (serial, now);
    }
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
