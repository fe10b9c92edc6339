//! What a byte pump sees of a read-only fetch over a plain stream
//! transport, HTTPS ([`crate::http_fetch`]) or the git daemon
//! ([`crate::daemon`]): where to connect, bytes in and out, the end of the
//! stream, and the result; time comes in as [`Now`].

use crate::proto::fetch::Fetched;
use crate::proto::ProtoError;
use crate::session::Timeouts;
use crate::smart_http::HttpGitError;
use core::fmt;
use gitns_https::tls_error::TlsError;
use gitns_https::ExchangeError;

/// The two clocks: monotonic nanoseconds for the timers, unix seconds for
/// certificate validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub ns: u64,
    pub unix: u64,
}

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// TLS, or the HTTP framing under it.
    Https(ExchangeError),
    /// What the HTTP answers meant.
    Http(HttpGitError),
    /// The git conversation (git://).
    Proto(ProtoError),
    /// No byte from the server for the idle timeout.
    Stalled,
    /// The whole fetch took longer than its deadline.
    Deadline,
    /// The connection ended before the result.
    Closed,
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchError::Https(ExchangeError::Tls(e @ TlsError::UnknownIssuer)) => write!(
                f,
                "TLS: {e}: the server's certificate does not chain to a trusted root (its CA can be given with --remote-ca=)"
            ),
            FetchError::Https(e) => write!(f, "{e}"),
            FetchError::Http(e) => write!(f, "{e}"),
            FetchError::Proto(ProtoError::Remote(why)) => write!(f, "the server said: {why}"),
            FetchError::Proto(e) => write!(f, "git protocol: {e:?}"),
            FetchError::Stalled => write!(f, "the server stalled"),
            FetchError::Deadline => write!(f, "the fetch took too long"),
            FetchError::Closed => write!(f, "the connection ended before the result"),
        }
    }
}

/// A fetch as the byte pump drives it.
pub trait Transfer {
    /// The host (name or address) and port to connect to.
    fn endpoint(&self) -> (&str, u16);
    /// Changes when a new connection is wanted: close the old one.
    fn generation(&self) -> u64;
    /// The connection is established.
    fn transport_up(&mut self);
    /// Was a connection ever established?
    fn was_connected(&self) -> bool;
    /// Bytes received.
    fn input(&mut self, now: Now, data: &[u8]);
    /// The server closed the connection.
    fn transport_closed(&mut self, now: Now);
    /// Bytes to send, oldest first.
    fn pending_output(&self) -> &[u8];
    /// `n` bytes of [`Transfer::pending_output`] were sent.
    fn consume_output(&mut self, n: usize);
    /// Check the clocks; the result once over.
    fn poll(&mut self, now: Now) -> Option<&Result<Fetched, FetchError>>;
    /// When [`Transfer::poll`] must run next at the latest (ns).
    fn next_deadline(&self) -> u64;
    /// Whether the server speaks protocol v2 (known after its first answer).
    fn protocol_v2(&self) -> bool;
}

/// The idle timer and the overall deadline of one fetch.
#[derive(Clone, Copy, Debug)]
pub struct Timer {
    idle_ns: u64,
    idle_until: u64,
    deadline: u64,
}

impl Timer {
    pub fn new(now: u64, t: Timeouts) -> Timer {
        Timer {
            idle_ns: t.idle_ns,
            idle_until: now.saturating_add(t.idle_ns),
            deadline: now.saturating_add(t.total_ns),
        }
    }

    /// Bytes came.
    pub fn touch(&mut self, now: u64) {
        self.idle_until = now.saturating_add(self.idle_ns);
    }

    /// The timer that ran out, if one did.
    pub fn check(&self, now: u64) -> Option<FetchError> {
        if now >= self.deadline {
            Some(FetchError::Deadline)
        } else if now >= self.idle_until {
            Some(FetchError::Stalled)
        } else {
            None
        }
    }

    pub fn next(&self) -> u64 {
        self.idle_until.min(self.deadline)
    }
}

/// How a read-only fetch ends: its timer, and its result once known (the
/// first one set stays).
#[derive(Debug)]
pub struct Outcome {
    pub timer: Timer,
    pub result: Option<Result<Fetched, FetchError>>,
}

impl Outcome {
    pub fn new(now: u64) -> Outcome {
        Outcome {
            timer: Timer::new(now, Timeouts::default()),
            result: None,
        }
    }

    /// End with `e`, unless it has ended already.
    pub fn fail(&mut self, e: FetchError) {
        if self.result.is_none() {
            self.result = Some(Err(e));
        }
    }

    /// [`Transfer::poll`]: a timer that ran out ends the fetch.
    pub fn poll(&mut self, now: u64) -> Option<&Result<Fetched, FetchError>> {
        if self.result.is_none() {
            if let Some(e) = self.timer.check(now) {
                self.fail(e);
            }
        }
        self.result.as_ref()
    }

    /// [`Transfer::next_deadline`].
    pub fn next_deadline(&self) -> u64 {
        if self.result.is_some() {
            return u64::MAX;
        }
        self.timer.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn timer_idle_then_deadline() {
        let t = Timeouts {
            idle_ns: 10,
            total_ns: 25,
        };
        let mut timer = Timer::new(100, t);
        assert_eq!(timer.next(), 110);
        assert_eq!(timer.check(109), None);
        assert_eq!(timer.check(110), Some(FetchError::Stalled));
        timer.touch(109);
        timer.touch(118);
        assert_eq!(timer.check(124), None);
        assert_eq!(timer.next(), 125);
        assert_eq!(timer.check(125), Some(FetchError::Deadline));
    }

    #[test]
    fn an_unknown_issuer_names_the_option() {
        let e = FetchError::Https(ExchangeError::Tls(TlsError::UnknownIssuer));
        assert!(e.to_string().contains("--remote-ca="), "{e}");
    }
}
