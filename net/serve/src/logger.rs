//! The `log` backend of the appliance: one line per record,
//! `TIME LEVEL target: message`, with the time in RFC 3339 UTC from the
//! platform's wall clock, written to the platform's console.

use core::fmt::{self, Write};

/// Writes a line to the console.
pub type Sink = fn(&[u8]);
/// Nanoseconds since the Unix epoch.
pub type Clock = fn() -> u64;

/// The logger: where lines go and where their time comes from.
struct Logger {
    sink: Sink,
    clock: Clock,
}

/// Install the logger with a maximum level. The first call's sink and
/// clock stay for the life of the process (`log` takes one logger, for
/// good); later calls only change the level.
pub fn init(level: log::LevelFilter, sink: Sink, clock: Clock) {
    let logger = alloc::boxed::Box::new(Logger { sink, clock });
    // Leaked once per process: `log` keeps a `&'static` logger.
    let _ = log::set_logger(alloc::boxed::Box::leak(logger));
    log::set_max_level(level);
}

impl log::Log for Logger {
    fn enabled(&self, meta: &log::Metadata) -> bool {
        meta.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let mut line = LineBuf::new();
        let _ = write!(
            line,
            "{} {:<5} {}: {}",
            Rfc3339((self.clock)()),
            record.level(),
            record.target(),
            record.args()
        );
        line.finish();
        (self.sink)(line.as_bytes());
    }

    fn flush(&self) {}
}

/// A fixed line buffer; overlong lines end in "...".
struct LineBuf {
    buf: [u8; 1024],
    len: usize,
    cut: bool,
}

impl LineBuf {
    fn new() -> Self {
        LineBuf {
            buf: [0; 1024],
            len: 0,
            cut: false,
        }
    }

    fn finish(&mut self) {
        if self.cut {
            self.len = self.buf.len() - 4;
            self.buf[self.len..self.len + 3].copy_from_slice(b"...");
            self.len += 3;
        }
        self.buf[self.len] = b'\n';
        self.len += 1;
    }

    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

impl Write for LineBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = self.buf.len() - 1 - self.len;
        let n = s.len().min(room);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        if n < s.len() {
            self.cut = true;
        }
        Ok(())
    }
}

/// Nanoseconds since the epoch shown as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub struct Rfc3339(pub u64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.0 / 1_000_000_000;
        let millis = (self.0 / 1_000_000) % 1000;
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let s = secs % 86_400;
        write!(
            f,
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            s / 3600,
            (s / 60) % 60,
            s % 60
        )
    }
}

pub use gitns_dns::rdata::civil_from_days;

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn dates_are_gregorian() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_415), (2025, 11, 23));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }

    #[test]
    fn rfc3339_has_millis() {
        let t = 1_764_000_000_123_000_000u64;
        assert_eq!(format!("{}", Rfc3339(t)), "2025-11-24T16:00:00.123Z");
    }

    #[test]
    fn long_lines_are_cut() {
        let mut l = LineBuf::new();
        for _ in 0..2000 {
            let _ = l.write_str("x");
        }
        l.finish();
        assert_eq!(l.as_bytes().len(), 1024);
        assert!(l.as_bytes().ends_with(b"...\n"));
    }
}
