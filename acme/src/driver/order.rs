//! Which CSR gets a certificate when, and how an order ends: the zones
//! walked for CSRs, the schedule asked, the certificate written back (an
//! UPDATE, RFC 2136) or the failure held off.

use alloc::format;
use alloc::vec::Vec;

use super::{Driver, Effect, Order, Turn};
use crate::error::AcmeError;
use crate::records::{self, CsrSite};
use crate::schedule::{Decision, Site};
use crate::txt_wait::TxtWait;
use log::Level;

impl Driver {
    /// Walk the zones for CSRs when a serial moved (or hourly) and start
    /// the first order the schedule asks for.
    pub(super) fn scan(&mut self, t: &mut Turn) -> bool {
        let zones: Vec<(Vec<u8>, u32)> = t
            .zones
            .zones()
            .map(|z| (z.origin.key().to_vec(), z.serial().unwrap_or(0)))
            .collect();
        if !self.schedule.rescan(zones, t.unix) {
            return false;
        }
        let sites = records::scan(t.zones);
        self.counts.expiry = sites
            .iter()
            .filter_map(|s| {
                let info = crate::cert::parse(s.certs.first()?).ok()?;
                Some((s.owner.to_text(), info.not_after))
            })
            .collect();
        sites.into_iter().any(|site| self.consider(t, site))
    }

    /// Start an order for `site` if the schedule says so; true if started.
    fn consider(&mut self, t: &mut Turn, site: CsrSite) -> bool {
        let host = site.owner.to_text();
        let view = Site {
            owner: &host,
            csr: &site.csr,
            cert: site.certs.first().map(Vec::as_slice),
        };
        let zones = &*t.zones;
        let inside = |n: &str| records::inside(zones, n);
        let why = match self.schedule.decide(&view, t.unix, inside) {
            Decision::Wait => return false,
            Decision::Refuse(why) => {
                self.log(
                    Level::Error,
                    format!("acme: the CSR at {host} refused: {why}"),
                );
                return false;
            }
            Decision::Order(why) => why,
        };
        if let Err(e) = self.client.start_order(t.unix, &site.csr) {
            let line = format!("acme: the CSR at {host} is refused: {e:?}");
            self.log(Level::Error, line);
            self.schedule.refused(&site.csr);
            return false;
        }
        self.log(
            Level::Info,
            format!("acme: ordering a certificate for {host}: {why}"),
        );
        self.order = Some(Order {
            site,
            txt: TxtWait::default(),
            probe: None,
        });
        true
    }

    /// The order's certificate: written back through an UPDATE.
    pub(super) fn certificate(&mut self, t: &mut Turn, chain: &[Vec<u8>], not_after: u64) {
        let Some(o) = self.order.as_ref() else { return };
        let host = o.site.owner.to_text();
        let line = format!("acme: certificate for {host} issued, valid until {not_after} (unix)");
        let msg = records::certificate_update(&o.site, chain, (t.ids)());
        self.log(Level::Info, line);
        match msg {
            Some(msg) => self.effects.push(Effect::Commit(msg)),
            None => {
                let line = "acme: the certificate chain does not fit one UPDATE".into();
                self.log(Level::Error, line);
                self.order = None;
            }
        }
    }

    /// The order failed: the schedule holds its CSR off a while.
    pub(super) fn failed(&mut self, t: &mut Turn, error: &AcmeError) {
        let Some(o) = self.order.take() else { return };
        self.counts.failed += 1;
        let wait = self.schedule.failed(&o.site.csr, t.unix);
        let host = o.site.owner.to_text();
        let line = format!("acme: the order for {host} failed: {error:?}; next try in {wait} s");
        self.log(Level::Error, line);
    }

    /// The answer to the [`Effect::Commit`] UPDATE at unix time `unix`.
    pub fn committed(&mut self, answer: &[u8], unix: u64) {
        // RFC 1035 4.1.1: RCODE in the low bits of the fourth octet.
        let rcode = answer.get(3).map_or(2, |b| b & 0x0f);
        let Some(o) = self.order.take() else { return };
        let host = o.site.owner.to_text();
        if rcode == 0 {
            let line = format!("acme: certificate for {host} written back and committed");
            self.log(Level::Info, line);
            self.counts.issued += 1;
            self.schedule.written(&host, &o.site.csr, unix);
        } else if rcode == 5 {
            // REFUSED: nowhere to keep it (a read-only remote without a
            // storage device); ordering again at once would loop on the CA.
            let wait = self.schedule.failed(&o.site.csr, unix);
            let line = format!(
                "acme: the certificate for {host} was refused (RCODE 5); ordering again in {wait} s"
            );
            self.log(Level::Error, line);
        } else {
            let line = format!(
                "acme: writing the certificate for {host} failed (RCODE {rcode}); trying again later"
            );
            self.log(Level::Error, line);
            self.schedule.write_failed(&o.site.csr);
        }
    }
}
