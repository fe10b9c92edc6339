//! The challenge TXT records of one order (RFC 8555 8.4): which are
//! published, when they are checked to be still served, when the
//! secondaries are asked for them, and when validation is asked for anyway.
//! Times are the caller's monotonic nanoseconds.

use alloc::string::String;
use alloc::vec::Vec;

/// Secondaries get this long to serve a challenge TXT; validation is asked
/// for anyway after it (the CA may still reach a server that has it).
pub const TXT_WAIT_NS: u64 = 60_000_000_000;
/// Published TXT records settle this long before the secondaries are asked.
pub const TXT_MIN_NS: u64 = 200_000_000;
/// How often a published TXT is checked to be still served (a zone
/// reloaded during an order comes without it).
pub const TXT_CHECK_NS: u64 = 100_000_000;

/// Where the published records stand.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stage {
    /// Nothing newly published: the client is not waiting on us.
    Idle,
    /// Just published: too early to ask the secondaries.
    Settling,
    /// Ask the secondaries; `overdue` once TXT_WAIT_NS went by (then
    /// validation is asked for whatever they answered).
    Asking { overdue: bool },
}

/// The TXT records of one order.
#[derive(Clone, Debug, Default)]
pub struct TxtWait {
    /// Published: (name, value).
    txt: Vec<(String, String)>,
    /// When the last one was published, until the client is told.
    since: Option<u64>,
    next_check: u64,
}

impl TxtWait {
    /// `name` TXT `value` is served from `now` on; the wait starts again.
    pub fn published(&mut self, name: String, value: String, now: u64) {
        self.txt.push((name, value));
        self.since = Some(now);
    }

    /// `name` TXT `value` is no longer ours to keep served.
    pub fn removed(&mut self, name: &str, value: &str) {
        self.txt.retain(|(n, v)| n != name || v != value);
    }

    /// The records published, (name, value).
    pub fn records(&self) -> &[(String, String)] {
        &self.txt
    }

    /// Is it time to check that the records are still served? (Then the
    /// next check is TXT_CHECK_NS later.)
    pub fn check_due(&mut self, now: u64) -> bool {
        if self.txt.is_empty() || now < self.next_check {
            return false;
        }
        self.next_check = now.saturating_add(TXT_CHECK_NS);
        true
    }

    /// Where things stand at `now`.
    pub fn stage(&self, now: u64) -> Stage {
        let Some(since) = self.since else {
            return Stage::Idle;
        };
        let waited = now.saturating_sub(since);
        if waited < TXT_MIN_NS {
            Stage::Settling
        } else {
            Stage::Asking {
                overdue: waited >= TXT_WAIT_NS,
            }
        }
    }

    /// The client was told the records are out.
    pub fn told(&mut self) {
        self.since = None;
    }

    /// When to look again, given the probe's own next deadline.
    pub fn next_deadline(&self, probe: Option<u64>) -> Option<u64> {
        let check = (!self.txt.is_empty()).then_some(self.next_check);
        let wait = self
            .since
            .map(|since| probe.unwrap_or(since + TXT_MIN_NS).min(since + TXT_WAIT_NS));
        match (check, wait) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn settle_ask_then_give_up() {
        let mut w = TxtWait::default();
        assert_eq!(w.stage(0), Stage::Idle);
        assert_eq!(w.next_deadline(None), None);
        let t = 5_000_000_000;
        w.published("_acme-challenge.a.".to_string(), "v".to_string(), t);
        assert_eq!(w.stage(t + TXT_MIN_NS - 1), Stage::Settling);
        assert_eq!(w.stage(t + TXT_MIN_NS), Stage::Asking { overdue: false });
        assert_eq!(w.stage(t + TXT_WAIT_NS), Stage::Asking { overdue: true });
        // The first check is due at once; then every TXT_CHECK_NS.
        assert_eq!(w.next_deadline(None), Some(0));
        assert!(w.check_due(t));
        assert!(!w.check_due(t + TXT_CHECK_NS - 1));
        assert_eq!(w.next_deadline(None), Some(t + TXT_CHECK_NS));
        assert_eq!(w.next_deadline(Some(t + 1)), Some(t + 1));
        w.told();
        assert_eq!(w.stage(t + TXT_MIN_NS), Stage::Idle);
        assert_eq!(w.next_deadline(None), Some(t + TXT_CHECK_NS));
        w.removed("_acme-challenge.a.", "v");
        assert!(w.records().is_empty() && !w.check_due(u64::MAX));
        assert_eq!(w.next_deadline(None), None);
    }

    #[test]
    fn a_second_record_restarts_the_wait() {
        let mut w = TxtWait::default();
        w.published("a.".to_string(), "1".to_string(), 0);
        w.published("b.".to_string(), "2".to_string(), TXT_WAIT_NS);
        assert_eq!(
            w.stage(TXT_WAIT_NS + TXT_MIN_NS),
            Stage::Asking { overdue: false }
        );
        // The first check is still due at once.
        assert_eq!(w.next_deadline(Some(u64::MAX)), Some(0));
        assert!(w.check_due(TXT_WAIT_NS));
        assert_eq!(
            w.next_deadline(Some(u64::MAX)),
            Some(TXT_WAIT_NS + TXT_CHECK_NS)
        );
        assert_eq!(w.records().len(), 2);
    }
}
