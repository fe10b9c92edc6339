//! A read-only remote (`https://` or `git://`, issue 28) as the appliance
//! drives it, without I/O: when a fetch is due ([`Schedule`]: at boot, on
//! a NOTIFY, every sync interval, backoff after a failure), the fetch in
//! flight ([`Transfer`]: [`HttpFetch`] or [`DaemonFetch`]) and its number
//! (NOTIFYs held for a fetch wait for its end), what its end means for the
//! log (why it failed, the protocol spoken). The byte pump (one socket per
//! connection the fetch asks for) and the zones are the caller's.

use crate::daemon::DaemonFetch;
use crate::http_fetch::HttpFetch;
use crate::location::Location;
use crate::oid::Oid;
use crate::proto::fetch::{Fetch, Fetched};
use crate::schedule::Schedule;
use crate::smart_http::Auth;
use crate::transfer::{FetchError, Now, Transfer};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use gitns_https::Anchors;

/// How to reach the remote: credentials and trust (`--remote-user`,
/// `--remote-token`, `--remote-ca`).
#[derive(Clone, Debug, Default)]
pub struct Access<'a> {
    pub user: Option<&'a str>,
    pub token: Option<&'a str>,
    /// CA certificates (DER) trusted instead of the public roots.
    pub ca: &'a [Vec<u8>],
}

/// The fetch in flight.
struct Running {
    transfer: Box<dyn Transfer>,
    seq: u64,
    /// The last address connected to, for the log.
    target: Option<String>,
}

/// A fetch that ended.
#[derive(Debug)]
pub struct Ended {
    /// Its number (see [`ReadOnly::start`]).
    pub seq: u64,
    /// What it brought, or why not, worded for the log.
    pub result: Result<Fetched, String>,
    /// Whether the server spoke protocol v2.
    pub v2: bool,
}

/// The read-only remote's fetches.
pub struct ReadOnly {
    location: Location,
    auth: Auth,
    anchors: Anchors,
    schedule: Schedule,
    running: Option<Running>,
    seq: u64,
    /// The protocol the last good fetch spoke.
    spoke_v2: Option<bool>,
}

impl ReadOnly {
    /// The remote at `location` reached with `access`; the clone is due at
    /// `now`, then a fetch every `sync_ns` (0: only on NOTIFY). The lines
    /// to log come back beside it (a CA that does not parse is left out).
    pub fn new(
        location: Location,
        access: Access,
        now: u64,
        sync_ns: u64,
    ) -> (ReadOnly, Vec<String>) {
        let mut notes = Vec::new();
        let anchors = if access.ca.is_empty() {
            Anchors::public()
        } else {
            let mut a = Anchors::empty();
            for der in access.ca.iter().filter(|der| a.add_der(der).is_err()) {
                notes.push(format!(
                    "--remote-ca: a certificate that does not parse ({} bytes) is left out",
                    der.len()
                ));
            }
            a
        };
        let r = ReadOnly {
            auth: Auth::from_options(access.user, access.token),
            anchors,
            schedule: Schedule::new(now, sync_ns),
            location,
            running: None,
            seq: 0,
            spoke_v2: None,
        };
        (r, notes)
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// Fetch as soon as possible (a signed NOTIFY).
    pub fn resync(&mut self, now: u64) {
        self.schedule.now(now);
    }

    /// Start the fetch that is due at `t` (none running), asking for the
    /// branch with `haves` (the commit held) and packs up to `max_pack`
    /// bytes: its number, or None when none is due.
    pub fn start(&mut self, t: Now, haves: Vec<Oid>, max_pack: usize) -> Option<u64> {
        if self.running.is_some() || !self.schedule.due(t.ns) {
            return None;
        }
        let fetch = Fetch::new(self.location.branch(), haves, true, max_pack);
        let transfer: Box<dyn Transfer> = match &self.location {
            Location::Https(r) => Box::new(HttpFetch::new(
                &r.url,
                self.auth.clone(),
                fetch,
                self.anchors.clone(),
                max_pack,
                t,
            )),
            Location::Daemon(r) => Box::new(DaemonFetch::new(r, fetch, t)),
            Location::Ssh(_) => return None,
        };
        self.seq += 1;
        self.running = Some(Running {
            transfer,
            seq: self.seq,
            target: None,
        });
        Some(self.seq)
    }

    /// The fetch in flight, for the byte pump.
    pub fn transfer(&mut self) -> Option<&mut dyn Transfer> {
        Some(self.running.as_mut()?.transfer.as_mut())
    }

    /// The fetch's connection goes to `target` (for the log).
    pub fn connecting(&mut self, target: String) {
        if let Some(r) = self.running.as_mut() {
            r.target = Some(target);
        }
    }

    /// The fetch's end, if it came at `t`; `broken` ends it (its
    /// connection could not be made). The schedule learns the result.
    pub fn poll(&mut self, t: Now, broken: Option<String>) -> Option<Ended> {
        let run = self.running.as_mut()?;
        let result = match broken {
            Some(e) => Err(e),
            None => run
                .transfer
                .poll(t)?
                .clone()
                .map_err(|e| explain(&e, run.target.as_deref(), run.transfer.was_connected())),
        };
        let run = self.running.take()?;
        Some(Ended {
            seq: run.seq,
            result,
            v2: run.transfer.protocol_v2(),
        })
    }

    /// The fetch ended well (its zones installed): the protocol to log
    /// when it is not the one the last good fetch spoke.
    pub fn succeeded(&mut self, v2: bool) -> Option<&'static str> {
        self.schedule.succeeded();
        let changed = self.spoke_v2 != Some(v2);
        self.spoke_v2 = Some(v2);
        changed.then_some(if v2 { "v2" } else { "v0" })
    }

    /// The fetch failed: the next one in how many nanoseconds.
    pub fn failed(&mut self, now: u64) -> u64 {
        self.schedule.failed(now)
    }

    /// When [`ReadOnly::poll`] or [`ReadOnly::start`] must run next.
    pub fn next_deadline(&self) -> u64 {
        match &self.running {
            Some(r) => r.transfer.next_deadline(),
            None => self.schedule.next_deadline(),
        }
    }
}

/// The remote as the log names it.
impl fmt::Display for ReadOnly {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Location::Https(r) => write!(f, "{}#{}", r.url, r.branch),
            Location::Daemon(r) => {
                write!(f, "git://{}:{}{}#{}", r.host, r.port, r.path, r.branch)
            }
            Location::Ssh(r) => write!(f, "{}:{}", r.host, r.path),
        }
    }
}

/// Why a fetch failed, for the log: a connection that never came up is
/// "cannot connect", whatever the layer above made of it.
fn explain(e: &FetchError, target: Option<&str>, connected: bool) -> String {
    match target {
        Some(t) if !connected => format!("cannot connect to {t}"),
        Some(t) => format!("{t}: {e}"),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transfer::FetchError;

    const S: u64 = 1_000_000_000;

    fn at(ns: u64) -> Now {
        Now {
            ns,
            unix: 1_765_000_000,
        }
    }

    fn daemon(sync_ns: u64) -> ReadOnly {
        let l = Location::parse("git://10.0.0.1/zones.git#prod").unwrap();
        ReadOnly::new(l, Access::default(), 0, sync_ns).0
    }

    #[test]
    fn a_fetch_is_due_at_boot_then_on_resync_and_each_interval() {
        let mut r = daemon(300 * S);
        assert_eq!(r.start(at(0), Vec::new(), 1 << 20), Some(1));
        assert_eq!(r.start(at(1), Vec::new(), 1 << 20), None, "one at a time");
        assert_eq!(r.transfer().unwrap().endpoint(), ("10.0.0.1", 9418));
        r.running = None;
        assert_eq!(r.succeeded(true), Some("v2"));
        assert_eq!(r.succeeded(true), None, "logged once");
        assert_eq!(r.start(at(2 * S), Vec::new(), 1 << 20), None);
        r.resync(3 * S);
        assert_eq!(r.start(at(3 * S), Vec::new(), 1 << 20), Some(2));
        r.running = None;
        r.succeeded(true);
        assert_eq!(r.next_deadline(), 300 * S);
        assert_eq!(r.start(at(300 * S), Vec::new(), 1 << 20), Some(3));
    }

    #[test]
    fn an_end_is_worded_for_the_log_and_backs_off() {
        let mut r = daemon(0);
        r.start(at(0), Vec::new(), 1 << 20).unwrap();
        r.connecting("10.0.0.1:9418".to_string());
        // Nothing came within the idle timeout: never connected.
        let far = at(3600 * S);
        let e = r.poll(far, None).unwrap();
        assert_eq!(
            (e.seq, e.result.unwrap_err()),
            (1, "cannot connect to 10.0.0.1:9418".to_string())
        );
        assert_eq!(r.failed(far.ns), S);
        assert_eq!(r.failed(far.ns), 2 * S, "doubles");
        // A connection that cannot be made ends the fetch with its reason.
        r.resync(far.ns);
        r.start(far, Vec::new(), 1 << 20).unwrap();
        let e = r.poll(far, Some("no --resolver".into())).unwrap();
        assert_eq!(e.result.unwrap_err(), "no --resolver");
        assert!(r.poll(far, None).is_none(), "nothing in flight");
        assert_eq!(
            explain(&FetchError::Stalled, Some("10.0.0.1:443"), true),
            "10.0.0.1:443: the server stalled"
        );
    }

    #[test]
    fn the_log_names_the_remote_and_bad_cas() {
        let l = Location::parse("https://git.example/org/zones.git").unwrap();
        let ca = [alloc::vec![1u8, 2, 3]];
        let access = Access {
            ca: &ca,
            ..Access::default()
        };
        let (r, notes) = ReadOnly::new(l, access, 0, 0);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(r.to_string().ends_with("#main"), "{r}");
        assert_eq!(daemon(0).to_string(), "git://10.0.0.1:9418/zones.git#prod");
    }
}
