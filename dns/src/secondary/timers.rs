//! A secondary zone's clock (RFC 1035 3.3.13, RFC 1034 4.3.5, RFC 1996):
//! ask the primary for its SOA every REFRESH seconds; after a failed
//! check, again after RETRY; when no check has succeeded for EXPIRE
//! seconds the zone is no longer served. A NOTIFY makes the check due at
//! once (RFC 1996 3.11). Before the first load there is no SOA to take
//! the intervals from: checks back off from 1 s to 2 minutes. Times are
//! monotonic milliseconds.

use crate::wire::Reader;

/// The SOA fields that drive a secondary (RFC 1035 3.3.13), seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SoaTimes {
    pub serial: u32,
    pub refresh: u32,
    pub retry: u32,
    pub expire: u32,
}

impl SoaTimes {
    /// From SOA RDATA (uncompressed, as the zone store holds it).
    pub fn of_rdata(rdata: &[u8]) -> Option<SoaTimes> {
        let mut r = Reader::new(rdata);
        r.name().ok()?;
        r.name().ok()?;
        let t = SoaTimes {
            serial: r.u32().ok()?,
            refresh: r.u32().ok()?,
            retry: r.u32().ok()?,
            expire: r.u32().ok()?,
        };
        r.u32().ok()?; // minimum
        (r.remaining() == 0).then_some(t)
    }
}

/// Bounds on what a primary's SOA may ask for (as Knot's
/// refresh/retry-min/max-interval): a zero REFRESH must not make us ask
/// in a tight loop, nor a huge one make us never ask.
const MIN_S: u32 = 2;
const MAX_S: u32 = 86_400;
/// Backoff before the first load.
const FIRST_BACKOFF_MS: u64 = 1_000;
const MAX_BACKOFF_MS: u64 = 120_000;

fn ms(s: u32) -> u64 {
    s as u64 * 1000
}

/// When the next SOA check is due and when the zone expires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timers {
    next_check: u64,
    /// None: nothing loaded (or expired): nothing to expire.
    expires_at: Option<u64>,
    /// Failed checks in a row.
    failures: u32,
}

impl Timers {
    /// A zone not loaded yet: check at once.
    pub fn unloaded(now: u64) -> Timers {
        Timers {
            next_check: now,
            expires_at: None,
            failures: 0,
        }
    }

    /// A check or a transfer succeeded at `now` and the zone's SOA is `soa`:
    /// the next check after REFRESH, expiry EXPIRE from now (RFC 1034
    /// 4.3.5: a successful refresh restarts the expire interval).
    pub fn refreshed(&mut self, now: u64, soa: &SoaTimes) {
        let refresh = soa.refresh.clamp(MIN_S, MAX_S);
        self.next_check = now + ms(refresh);
        self.expires_at = Some(now + ms(soa.expire.max(MIN_S)));
        self.failures = 0;
    }

    /// A check or transfer failed at `now`: try again after RETRY (or the
    /// backoff while nothing is loaded). Expiry stays where it was.
    pub fn failed(&mut self, now: u64, soa: Option<&SoaTimes>) {
        self.failures = self.failures.saturating_add(1);
        let wait = match soa {
            Some(s) if self.expires_at.is_some() => ms(s.retry.clamp(MIN_S, MAX_S)),
            _ => (FIRST_BACKOFF_MS << (self.failures - 1).min(16)).min(MAX_BACKOFF_MS),
        };
        self.next_check = now + wait;
    }

    /// Check now (a NOTIFY arrived, RFC 1996 3.11).
    pub fn check_now(&mut self, now: u64) {
        self.next_check = self.next_check.min(now);
    }

    pub fn due(&self, now: u64) -> bool {
        now >= self.next_check
    }

    /// True once EXPIRE has passed without a successful check.
    pub fn expired(&self, now: u64) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }

    /// The zone was dropped (expired): nothing left to expire; checks go
    /// on with the backoff of an unloaded zone.
    pub fn forget(&mut self) {
        self.expires_at = None;
        self.failures = 0;
    }

    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The earliest time something is due.
    pub fn deadline(&self) -> u64 {
        self.expires_at
            .map_or(self.next_check, |e| e.min(self.next_check))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SOA: SoaTimes = SoaTimes {
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 7200,
    };

    #[test]
    fn soa_fields_from_rdata() {
        let mut rd = alloc::vec![2, b'n', b's', 0, 2, b'h', b'm', 0];
        for v in [7u32, 3600, 600, 86400, 300] {
            rd.extend_from_slice(&v.to_be_bytes());
        }
        let t = SoaTimes::of_rdata(&rd).unwrap();
        assert_eq!(
            (t.serial, t.refresh, t.retry, t.expire),
            (7, 3600, 600, 86400)
        );
        assert_eq!(SoaTimes::of_rdata(&rd[..rd.len() - 1]), None);
        rd.push(0);
        assert_eq!(SoaTimes::of_rdata(&rd), None, "trailing byte");
    }

    #[test]
    fn refresh_retry_expire() {
        let mut t = Timers::unloaded(0);
        assert!(t.due(0));
        t.refreshed(1_000, &SOA);
        assert!(!t.due(3_600_999) && t.due(3_601_000));
        // Checks fail from then on: every RETRY, until EXPIRE after the
        // last success.
        let mut now = 3_601_000;
        let mut checks = 0;
        while !t.expired(now) {
            if t.due(now) {
                t.failed(now, Some(&SOA));
                checks += 1;
            }
            now = t.deadline();
        }
        assert_eq!(now, 7_201_000, "expired EXPIRE after the last success");
        // At 3601, 4201, 4801, 5401, 6001 and 6601 s.
        assert_eq!(checks, 6);
        t.forget();
        assert!(!t.expired(u64::MAX));
    }

    #[test]
    fn notify_makes_the_check_due_at_once() {
        let mut t = Timers::unloaded(0);
        t.refreshed(0, &SOA);
        assert!(!t.due(5_000));
        t.check_now(5_000);
        assert!(t.due(5_000));
        // A NOTIFY never postpones a check already due.
        t.check_now(9_000);
        assert_eq!(t.deadline(), 5_000);
    }

    #[test]
    fn backoff_before_the_first_load_and_clamps() {
        let mut t = Timers::unloaded(0);
        let mut waits = alloc::vec::Vec::new();
        let mut now = 0;
        for _ in 0..10 {
            t.failed(now, Some(&SOA));
            waits.push(t.deadline() - now);
            now = t.deadline();
        }
        assert_eq!(
            waits,
            [1000, 2000, 4000, 8000, 16000, 32000, 64000, 120000, 120000, 120000]
        );
        assert_eq!(t.failures(), 10);
        // REFRESH 0 and RETRY 0 are clamped to 2 s, huge ones to a day.
        let zero = SoaTimes {
            serial: 1,
            refresh: 0,
            retry: 0,
            expire: 0,
        };
        t.refreshed(0, &zero);
        assert_eq!(t.deadline(), 2_000);
        t.failed(0, Some(&zero));
        assert_eq!(t.deadline(), 2_000);
        let huge = SoaTimes {
            refresh: u32::MAX,
            expire: u32::MAX,
            ..zero
        };
        t.refreshed(0, &huge);
        assert_eq!(t.deadline(), 86_400_000);
    }
}
