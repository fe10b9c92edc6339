//! When to fetch (DESIGN.md "Appliance behaviour"): at once at boot, on a
//! signed NOTIFY, every sync interval, and after a failure again with a
//! backoff that doubles from [`FIRST_BACKOFF_NS`] to [`MAX_BACKOFF_NS`]
//! ("git remote down at boot: keep retrying with backoff while serving").

/// First retry after a failed fetch; doubles up to [`MAX_BACKOFF_NS`].
pub const FIRST_BACKOFF_NS: u64 = 1_000_000_000;
pub const MAX_BACKOFF_NS: u64 = 60_000_000_000;

/// The fetch timers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Schedule {
    wanted: bool,
    next_ns: u64,
    backoff_ns: u64,
    /// 0: no periodic fetch.
    sync_ns: u64,
    next_sync_ns: u64,
}

impl Schedule {
    /// A fetch due at `now` (the clone), then one every `sync_ns` (0: none).
    pub fn new(now: u64, sync_ns: u64) -> Schedule {
        Schedule {
            wanted: true,
            next_ns: now,
            backoff_ns: FIRST_BACKOFF_NS,
            sync_ns,
            next_sync_ns: now.saturating_add(sync_ns),
        }
    }

    /// Fetch as soon as the connection is free (a NOTIFY, or a fetch that
    /// did not run and is to be made again).
    pub fn now(&mut self, now: u64) {
        self.wanted = true;
        self.next_ns = now;
    }

    /// Is a fetch due? (Passing the sync interval makes one due.)
    pub fn due(&mut self, now: u64) -> bool {
        if self.sync_ns > 0 && now >= self.next_sync_ns {
            self.next_sync_ns = now.saturating_add(self.sync_ns);
            self.wanted = true;
        }
        self.wanted && now >= self.next_ns
    }

    /// The fetch succeeded.
    pub fn succeeded(&mut self) {
        self.wanted = false;
        self.backoff_ns = FIRST_BACKOFF_NS;
    }

    /// The fetch failed: again after the backoff, which it returns.
    pub fn failed(&mut self, now: u64) -> u64 {
        let wait = self.backoff_ns;
        self.wanted = true;
        self.next_ns = now.saturating_add(wait);
        self.backoff_ns = (wait * 2).min(MAX_BACKOFF_NS);
        wait
    }

    /// When a fetch may become due (u64::MAX: only on a NOTIFY).
    pub fn next_deadline(&self) -> u64 {
        let fetch = if self.wanted { self.next_ns } else { u64::MAX };
        if self.sync_ns > 0 {
            fetch.min(self.next_sync_ns)
        } else {
            fetch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEC: u64 = 1_000_000_000;

    #[test]
    fn failures_back_off_doubling_to_the_cap_and_a_success_resets() {
        let mut s = Schedule::new(0, 0);
        assert!(s.due(0));
        let mut t = 0;
        let mut waits = alloc::vec::Vec::new();
        for _ in 0..8 {
            let w = s.failed(t);
            assert!(!s.due(t + w - 1));
            assert!(s.due(t + w));
            waits.push(w / SEC);
            t += w;
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        s.succeeded();
        assert!(!s.due(t + 3600 * SEC), "nothing due without a NOTIFY");
        assert_eq!(s.next_deadline(), u64::MAX);
        s.now(t);
        assert!(s.due(t));
        assert_eq!(s.failed(t) / SEC, 1, "the backoff starts over");
    }

    #[test]
    fn the_sync_interval_makes_a_fetch_due() {
        let mut s = Schedule::new(0, 300 * SEC);
        s.succeeded();
        assert_eq!(s.next_deadline(), 300 * SEC);
        assert!(!s.due(300 * SEC - 1));
        assert!(s.due(300 * SEC));
        s.succeeded();
        assert_eq!(s.next_deadline(), 600 * SEC);
    }
}
