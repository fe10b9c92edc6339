//! The wall clock rustls sees: a cell the caller sets with its `now`.
//!
//! rustls without `std` cannot read a clock (and the guest must not); it
//! asks a [`TimeProvider`] when it checks certificate validity periods
//! (RFC 5280 §4.1.2.5). [`Clock`] answers with the last `now` the owner of
//! the connection stored, so time stays an input of the sans-I/O core.

use core::sync::atomic::{AtomicU64, Ordering};
use core::time::Duration;

use pki_types::UnixTime;
use rustls::time_provider::TimeProvider;

/// Unix seconds set by the caller; 0 means "unknown".
#[derive(Debug, Default)]
pub struct Clock {
    secs: AtomicU64,
}

impl Clock {
    /// A clock showing `now` (unix seconds).
    pub fn new(now: u64) -> Clock {
        Clock {
            secs: AtomicU64::new(now),
        }
    }

    /// Move the clock to `now`.
    pub fn set(&self, now: u64) {
        self.secs.store(now, Ordering::Relaxed);
    }

    /// The time last set.
    pub fn get(&self) -> u64 {
        self.secs.load(Ordering::Relaxed)
    }
}

impl TimeProvider for Clock {
    /// `None` (rustls then fails the handshake with "failed to get current
    /// time") while the caller has not given a time: certificates must not
    /// be judged at 1970.
    fn current_time(&self) -> Option<UnixTime> {
        match self.get() {
            0 => None,
            s => Some(UnixTime::since_unix_epoch(Duration::from_secs(s))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_time_set() {
        let c = Clock::new(1_700_000_000);
        assert_eq!(c.current_time().unwrap().as_secs(), 1_700_000_000);
        c.set(1_800_000_000);
        assert_eq!(c.current_time().unwrap().as_secs(), 1_800_000_000);
    }

    #[test]
    fn zero_is_unknown() {
        assert!(Clock::new(0).current_time().is_none());
    }
}
