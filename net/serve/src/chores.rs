//! When the appliance's counters go out: the debug log line every
//! [`REPORT_NS`], the metrics text to the tender (METRICS hypercall) at
//! most every [`METRICS_NS`] and only when it changed. Time comes in.

use alloc::string::String;

/// How often the counters are logged (at debug level).
pub const REPORT_NS: u64 = 60_000_000_000;

/// How often counters go to the tender when it takes them.
pub const METRICS_NS: u64 = 1_000_000_000;

/// The counters' timers and the last metrics text handed over.
pub struct Chores {
    next_report: u64,
    next_metrics: u64,
    last_metrics: String,
}

impl Chores {
    /// Started at `now`: the metrics due at once, the log line a period
    /// later.
    pub fn new(now: u64) -> Chores {
        Chores {
            next_report: now + REPORT_NS,
            next_metrics: now,
            last_metrics: String::new(),
        }
    }

    /// Is the counters' log line due at `now` (the next is then a period
    /// later)?
    pub fn report_due(&mut self, now: u64) -> bool {
        let due = now >= self.next_report;
        if due {
            self.next_report = now + REPORT_NS;
        }
        due
    }

    /// Is a metrics hand-over due at `now`, when the platform takes them
    /// (`enabled`)?
    pub fn metrics_due(&mut self, now: u64, enabled: bool) -> bool {
        let due = enabled && now >= self.next_metrics;
        if due {
            self.next_metrics = now + METRICS_NS;
        }
        due
    }

    /// `text` when it differs from the last one handed over (it is kept
    /// as the last); None when nothing changed.
    pub fn changed(&mut self, text: String) -> Option<&str> {
        if text == self.last_metrics {
            return None;
        }
        self.last_metrics = text;
        Some(&self.last_metrics)
    }

    /// The next log line (when debug logging is on: `report`) or metrics
    /// hand-over (when the platform takes them: `metrics`).
    pub fn next_due(&self, report: bool, metrics: bool) -> Option<u64> {
        let report = report.then_some(self.next_report);
        let metrics = metrics.then_some(self.next_metrics);
        report.into_iter().chain(metrics).min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 10 s after boot, in monotonic nanoseconds.
    const T0: u64 = 10_000_000_000;

    #[test]
    fn metrics_at_once_then_each_second_the_log_line_each_minute() {
        let mut c = Chores::new(T0);
        assert_eq!(c.next_due(true, true), Some(T0));
        assert!(!c.metrics_due(T0, false), "the platform takes none");
        assert!(c.metrics_due(T0, true));
        assert!(!c.metrics_due(T0 + METRICS_NS - 1, true));
        assert!(c.metrics_due(T0 + METRICS_NS, true));
        assert_eq!(c.next_due(false, true), Some(T0 + 2 * METRICS_NS));
        assert_eq!(c.next_due(true, false), Some(T0 + REPORT_NS));
        assert_eq!(c.next_due(false, false), None);
        assert!(!c.report_due(T0 + REPORT_NS - 1));
        assert!(c.report_due(T0 + REPORT_NS + 5));
        assert!(!c.report_due(T0 + 2 * REPORT_NS));
        assert!(c.report_due(T0 + 2 * REPORT_NS + 5));
    }

    #[test]
    fn only_a_changed_text_is_handed_over() {
        let mut c = Chores::new(T0);
        assert_eq!(c.changed("a 1\n".into()), Some("a 1\n"));
        assert_eq!(c.changed("a 1\n".into()), None);
        assert_eq!(c.changed("a 2\n".into()), Some("a 2\n"));
    }
}
