//! When to order: which CSR needs a certificate now, and how long a CSR
//! waits after a failure. The appliance's renewal policy as a sans-I/O
//! value: the caller finds the CSRs and certificates (TLSA records in its
//! zones) and passes them in with the time; nothing here reads a clock.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use crate::{cert, csr};

/// After a failed order the same CSR waits RETRY_FIRST_SECS, doubled per
/// failure in a row up to RETRY_MAX_SECS: a CA down for minutes costs
/// minutes, and a name that keeps failing validation stays under Let's
/// Encrypt's limit of 5 failed validations per hour.
pub const RETRY_FIRST_SECS: u64 = 300;
pub const RETRY_MAX_SECS: u64 = 3600;
/// A large zone set is walked again without a serial moving this often
/// (renewals come due by the clock, not by a change).
pub const RESCAN_SECS: u64 = 3600;
/// A CSR whose certificate was just written is not ordered again within
/// this, whatever the expiry says (a CA issuing for less than the renewal
/// margin would loop otherwise).
pub const ISSUED_HOLD_SECS: u64 = 3600;

/// One CSR found in the zones, with what is served beside it.
#[derive(Clone, Copy, Debug)]
pub struct Site<'a> {
    /// The owner name (`_letsencrypt._tcp.HOST.`), as text.
    pub owner: &'a str,
    /// The DER CSR.
    pub csr: &'a [u8],
    /// The certificate served beside it (DER), if any.
    pub cert: Option<&'a [u8]>,
}

/// What to do with one site now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing: held after a failure, or the certificate is good.
    Wait,
    /// Order a certificate, for this reason.
    Order(&'static str),
    /// Never order for this CSR (held for good), for this reason.
    Refuse(String),
}

/// The renewal policy's memory across scans.
#[derive(Clone, Debug)]
pub struct Schedule {
    renew_secs: u64,
    /// Per CSR (DER): not before this unix time again (failed, refused).
    hold: BTreeMap<Vec<u8>, u64>,
    /// Per CSR (DER): orders failed in a row.
    failures: BTreeMap<Vec<u8>, u32>,
    /// Per owner: the CSR whose certificate we wrote (a changed CSR orders).
    written: BTreeMap<String, Vec<u8>>,
    /// Zones and serials at the last scan.
    scanned: Vec<(Vec<u8>, u32)>,
    rescan_at: u64,
}

impl Schedule {
    /// Renew when fewer than `renew_secs` remain.
    pub fn new(renew_secs: u64) -> Schedule {
        Schedule {
            renew_secs,
            hold: BTreeMap::new(),
            failures: BTreeMap::new(),
            written: BTreeMap::new(),
            scanned: Vec::new(),
            rescan_at: 0,
        }
    }

    /// Should the zones be walked for CSRs at `unix`? Yes when a zone or
    /// serial differs from the last walk's `zones` (name, serial), when
    /// RESCAN_SECS went by, or when a CSR's hold after a failure ended.
    pub fn rescan(&mut self, zones: Vec<(Vec<u8>, u32)>, unix: u64) -> bool {
        if zones == self.scanned && unix < self.rescan_at {
            return false;
        }
        self.scanned = zones;
        // The next walk: hourly, or when the first hold ends if sooner.
        let hold_ends = self.hold.values().filter(|&&t| t > unix && t != u64::MAX);
        self.rescan_at = hold_ends.fold(unix.saturating_add(RESCAN_SECS), |a, &t| a.min(t));
        true
    }

    /// What to do with `site` at `unix`. `inside` tells whether a name of
    /// the CSR is in a zone the caller serves (DNS-01 is answered there).
    pub fn decide(&mut self, site: &Site, unix: u64, inside: impl Fn(&str) -> bool) -> Decision {
        if self.hold.get(site.csr).is_some_and(|&t| unix < t) {
            return Decision::Wait;
        }
        let decision = self.judge(site, unix, inside);
        if let Decision::Refuse(_) = decision {
            self.hold.insert(site.csr.to_vec(), u64::MAX);
        }
        decision
    }

    fn judge(&self, site: &Site, unix: u64, inside: impl Fn(&str) -> bool) -> Decision {
        let names = match csr::parse(site.csr) {
            Ok(c) => c.names,
            Err(e) => return Decision::Refuse(alloc::format!("{e:?}")),
        };
        if let Some(out) = names.iter().find(|n| !inside(n)) {
            return Decision::Refuse(alloc::format!("{out} is outside our zones"));
        }
        if self.written.get(site.owner).is_some_and(|c| c != site.csr) {
            return Decision::Order("the CSR changed");
        }
        let Some(cert) = site.cert else {
            return Decision::Order("no certificate yet");
        };
        let Ok(info) = cert::parse(cert) else {
            return Decision::Order("the certificate there is unreadable");
        };
        if !names.iter().all(|n| info.dns_names.contains(n)) {
            return Decision::Order("the certificate does not cover the CSR's names");
        }
        if cert::needs_renewal(info.not_after, unix, self.renew_secs) {
            return Decision::Order("the certificate expires soon");
        }
        Decision::Wait
    }

    /// The CA refused to start an order for `csr`: never again.
    pub fn refused(&mut self, csr: &[u8]) {
        self.hold.insert(csr.to_vec(), u64::MAX);
    }

    /// The order for `csr` failed at `unix`; returns the wait before the
    /// next try (seconds).
    pub fn failed(&mut self, csr: &[u8], unix: u64) -> u64 {
        let n = self.failures.entry(csr.to_vec()).or_insert(0);
        *n = n.saturating_add(1);
        let wait = retry_wait(*n);
        let until = unix.saturating_add(wait);
        self.hold.insert(csr.to_vec(), until);
        // The zones are walked again when the hold ends, not at the next
        // serial change or hourly walk (the log promised "next try in N s").
        self.rescan_at = self.rescan_at.min(until);
        wait
    }

    /// The certificate for `csr` at `owner` is written (committed) at
    /// `unix`: held ISSUED_HOLD_SECS, failures forgotten, zones walked
    /// again at the next scan (the expiry changed).
    pub fn written(&mut self, owner: &str, csr: &[u8], unix: u64) {
        self.hold
            .insert(csr.to_vec(), unix.saturating_add(ISSUED_HOLD_SECS));
        self.failures.remove(csr);
        self.written.insert(owner.into(), csr.to_vec());
        self.scanned.clear();
    }

    /// Writing the certificate for `csr` failed: order again at once.
    pub fn write_failed(&mut self, csr: &[u8]) {
        self.hold.insert(csr.to_vec(), 0);
    }
}

/// The wait after `failures` failed orders in a row (1 or more).
pub fn retry_wait(failures: u32) -> u64 {
    RETRY_FIRST_SECS
        .saturating_mul(1 << failures.saturating_sub(1).min(16))
        .min(RETRY_MAX_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pem, testdata};

    const DAY: u64 = 86_400;
    const OWNER: &str = "_letsencrypt._tcp.www.example.org.";

    fn leaf() -> Vec<u8> {
        pem::decode_chain(testdata::CHAIN_PEM).unwrap().remove(0)
    }

    fn site<'a>(csr: &'a [u8], cert: Option<&'a [u8]>) -> Site<'a> {
        Site {
            owner: OWNER,
            csr,
            cert,
        }
    }

    fn ours(name: &str) -> bool {
        name.ends_with("example.org")
    }

    #[test]
    fn failed_orders_back_off_to_an_hour() {
        let waits: Vec<u64> = (1..=7).map(retry_wait).collect();
        assert_eq!(waits, [300, 600, 1200, 2400, 3600, 3600, 3600]);
        assert_eq!(retry_wait(u32::MAX), 3600);
        let mut s = Schedule::new(14 * DAY);
        let csr = testdata::CSR_DER;
        let t = 1_800_000_000;
        assert_eq!(s.failed(csr, t), 300);
        assert_eq!(s.decide(&site(csr, None), t + 299, ours), Decision::Wait);
        assert_eq!(
            s.decide(&site(csr, None), t + 300, ours),
            Decision::Order("no certificate yet")
        );
        assert_eq!(s.failed(csr, t + 300), 600);
        s.written(OWNER, csr, t + 1000);
        assert_eq!(s.failed(csr, t + 5000), 300); // the count starts again
    }

    #[test]
    fn a_failed_order_is_walked_again_when_its_hold_ends() {
        let mut s = Schedule::new(14 * DAY);
        let t = 1_800_000_000;
        let zones = || alloc::vec![(b"example".to_vec(), 7)];
        assert!(s.rescan(zones(), t));
        assert!(!s.rescan(zones(), t + 1));
        assert_eq!(s.failed(testdata::CSR_DER, t + 10), 300);
        assert!(!s.rescan(zones(), t + 309), "walked before the hold ended");
        assert!(s.rescan(zones(), t + 310), "not walked when the hold ended");
        assert!(
            !s.rescan(zones(), t + 311),
            "the next walk is the hourly one"
        );
        assert!(s.rescan(zones(), t + 310 + RESCAN_SECS));
    }

    #[test]
    fn the_count_starts_again_after_a_certificate() {
        let mut s = Schedule::new(14 * DAY);
        let csr = testdata::CSR_DER;
        let t = 1_800_000_000;
        assert_eq!(s.failed(csr, t), 300);
        s.written(OWNER, csr, t + 1000);
        assert_eq!(s.failed(csr, t + 5000), 300); // the count starts again
    }

    #[test]
    fn renewal_comes_due_by_the_margin() {
        let mut s = Schedule::new(14 * DAY);
        let (csr, cert) = (testdata::CSR_DER, leaf());
        let end = testdata::LEAF_NOT_AFTER;
        let with = site(csr, Some(&cert));
        assert_eq!(s.decide(&with, end - 15 * DAY, ours), Decision::Wait);
        assert_eq!(
            s.decide(&with, end - 14 * DAY, ours),
            Decision::Order("the certificate expires soon")
        );
        // Written just now: held an hour even if the CA's is short-lived.
        s.written(OWNER, csr, end - 14 * DAY);
        assert_eq!(s.decide(&with, end - 14 * DAY + 3599, ours), Decision::Wait);
        let garbage = site(csr, Some(&[0x30, 0x00]));
        assert_eq!(
            s.decide(&garbage, end - 13 * DAY, ours),
            Decision::Order("the certificate there is unreadable")
        );
    }

    #[test]
    fn a_changed_csr_orders_and_a_foreign_one_is_refused_for_good() {
        let mut s = Schedule::new(14 * DAY);
        let (csr, cert) = (testdata::CSR_DER, leaf());
        let t = testdata::LEAF_NOT_AFTER - 100 * DAY;
        s.written(OWNER, b"an older csr", t);
        assert_eq!(
            s.decide(&site(csr, Some(&cert)), t, ours),
            Decision::Order("the CSR changed")
        );
        let mut s = Schedule::new(14 * DAY);
        let refuse = s.decide(&site(csr, None), t, |n| n == "example.org");
        assert!(matches!(refuse, Decision::Refuse(ref w) if w.contains("outside our zones")));
        assert_eq!(
            s.decide(&site(csr, None), u64::MAX - 1, ours),
            Decision::Wait
        );
        let mut s = Schedule::new(14 * DAY);
        assert!(matches!(
            s.decide(&site(b"not a csr", None), t, ours),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn zones_are_walked_on_a_change_or_hourly() {
        let mut s = Schedule::new(14 * DAY);
        let zones = || alloc::vec![(b"example.org".to_vec(), 7)];
        assert!(s.rescan(zones(), 1000));
        assert!(!s.rescan(zones(), 1000 + RESCAN_SECS - 1));
        assert!(s.rescan(alloc::vec![(b"example.org".to_vec(), 8)], 1001));
        assert!(s.rescan(
            alloc::vec![(b"example.org".to_vec(), 8)],
            1001 + RESCAN_SECS
        ));
        s.written(OWNER, b"csr", 5000);
        assert!(s.rescan(alloc::vec![(b"example.org".to_vec(), 8)], 5001));
    }
}
