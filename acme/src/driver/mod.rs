//! The appliance's ACME side as a sans-I/O driver: a TLSA `3 255 0` CSR at
//! `_letsencrypt._tcp.<host>` in the zones makes it order a certificate
//! (RFC 8555, DNS-01 answered from the zones themselves) and write it back
//! beside the CSR as `3 0 0` (leaf) and `0 0 0` (chain) TLSA records
//! through an UPDATE (RFC 2136).
//!
//! It ties the protocol ([`Client`]), the renewal policy ([`schedule`]),
//! the challenge TXT timers ([`txt_wait`]) and the records ([`records`])
//! together. No socket, clock or RNG: every call gets a [`Turn`] (the zone
//! set, who the secondaries are, monotonic ns, unix s, message IDs) and
//! leaves [`Effect`]s for the caller (an HTTPS request to send, a zone
//! changed, an UPDATE to commit, a log line). The TXT probe's queries are
//! sent by the caller ([`Driver::probe_due`]) and its answers fed back
//! ([`Driver::probe_answer`]); the HTTPS answer of a request comes back
//! through [`Driver::response`], the UPDATE's through [`Driver::committed`].
//!
//! [`schedule`]: crate::schedule
//! [`txt_wait`]: crate::txt_wait
//! [`records`]: crate::records

mod order;
mod txt;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::notify_out::{Notifier, Target};
use gitns_dns::probe::TxtProbe;
use gitns_dns::zoneset::ZoneSet;
use log::Level;

use crate::client::{Client, Input, Limits, Output};
use crate::http::{HttpRequest, HttpResponse};
use crate::key::AccountKey;
use crate::records::CsrSite;
use crate::schedule::Schedule;
use crate::txt_wait::TxtWait;

/// Zone serials are compared this often (monotonic ns); the zones are
/// walked for CSRs only when one moved (or hourly, for renewals).
pub const SCAN_NS: u64 = 100_000_000;

/// What one call works with.
pub struct Turn<'a> {
    pub zones: &'a mut ZoneSet,
    /// Who the secondaries of each zone are (the TXT probe asks them).
    pub notifier: &'a Notifier,
    /// Our own addresses (never probed).
    pub own: &'a [[u8; 4]],
    /// Monotonic nanoseconds.
    pub now: u64,
    /// Wall clock, unix seconds.
    pub unix: u64,
    /// Random message IDs (RFC 5452 9.2).
    pub ids: &'a mut dyn FnMut() -> u16,
}

/// What the caller does for the driver.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Send this HTTPS request; its answer goes to [`Driver::response`].
    Send(HttpRequest),
    /// The zone (origin) changed in memory: serve it, NOTIFY secondaries.
    ZoneChanged(Name),
    /// Commit this UPDATE (the certificate records) like a client's; its
    /// answer goes to [`Driver::committed`].
    Commit(Vec<u8>),
    Log(Level, String),
}

/// The order being worked on.
struct Order {
    site: CsrSite,
    txt: TxtWait,
    /// Asking each secondary whether it serves the TXT records.
    probe: Option<TxtProbe>,
}

/// Certificates and orders, for the metrics.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Certificate served per `_letsencrypt._tcp` owner: notAfter (unix).
    pub expiry: BTreeMap<String, u64>,
    pub issued: u64,
    pub failed: u64,
}

/// The ACME order state of the appliance.
pub struct Driver {
    client: Client,
    schedule: Schedule,
    order: Option<Order>,
    /// Feed the client `Input::Timer` at this unix time.
    wait_until: Option<u64>,
    next_scan: u64,
    counts: Counts,
    effects: Vec<Effect>,
}

impl Driver {
    /// Order from the CA directory at `server` with the account `key`;
    /// renew certificates with fewer than `renew_secs` left.
    pub fn new(server: &str, key: AccountKey, email: Option<&str>, renew_secs: u64) -> Driver {
        let limits = Limits {
            // Poll authorizations and orders every second (RFC 8555 7.5.1
            // leaves it to the client; Retry-After wins when given).
            poll_interval: 1,
            // A badNonce costs one request; a CA rejecting many nonces in
            // a row still gets through (RFC 8555 6.5).
            max_bad_nonces: 30,
            ..Limits::default()
        };
        Driver {
            client: Client::new(server, key, email).with_limits(limits),
            schedule: Schedule::new(renew_secs),
            order: None,
            wait_until: None,
            next_scan: 0,
            counts: Counts::default(),
            effects: Vec::new(),
        }
    }

    /// Make progress at `t.now`: walk the zones when due, end a wait,
    /// keep the TXT records served, tell the client once the secondaries
    /// serve them. True when anything happened.
    pub fn tick(&mut self, t: &mut Turn) -> bool {
        let mut busy = false;
        if self.order.is_none() && t.now >= self.next_scan {
            self.next_scan = t.now + SCAN_NS;
            busy |= self.scan(t);
        }
        if self.wait_until.is_some_and(|w| t.unix >= w) {
            self.wait_until = None;
            self.client.handle(t.unix, Input::Timer);
            busy = true;
        }
        busy |= self.keep_txt(t);
        busy |= self.txt_ready(t);
        busy | self.drain(t)
    }

    /// The answer to the last [`Effect::Send`] (or why there is none).
    pub fn response(&mut self, t: &mut Turn, result: Result<HttpResponse, String>) {
        let input = match result {
            Ok(r) => Input::Response(r),
            Err(e) => {
                self.log(Level::Warn, alloc::format!("acme: {e}"));
                Input::TransportError(e)
            }
        };
        self.client.handle(t.unix, input);
        self.drain(t);
    }

    /// The next thing to do, oldest first.
    pub fn next_effect(&mut self) -> Option<Effect> {
        (!self.effects.is_empty()).then(|| self.effects.remove(0))
    }

    /// The earliest time (monotonic ns) `tick` must run again.
    pub fn next_deadline(&self, now: u64, unix: u64) -> u64 {
        let mut d = self.next_scan;
        if let Some(w) = self.wait_until {
            d = d.min(now + w.saturating_sub(unix) * 1_000_000_000);
        }
        if let Some(o) = &self.order {
            let probe = o.probe.as_ref().and_then(TxtProbe::next_deadline);
            d = d.min(o.txt.next_deadline(probe).unwrap_or(u64::MAX));
        }
        d
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// Queries of the TXT probe due at `now`; None when nothing is probed
    /// (the caller needs no socket then).
    pub fn probe_due(&mut self, now: u64) -> Option<Vec<(Target, Vec<u8>)>> {
        let probe = self.order.as_mut()?.probe.as_mut()?;
        Some(probe.due(now))
    }

    /// A datagram from `from` to the probe's socket; true if it answered.
    pub fn probe_answer(&mut self, from: Target, msg: &[u8]) -> bool {
        let Some(probe) = self.order.as_mut().and_then(|o| o.probe.as_mut()) else {
            return false;
        };
        let hit = probe.on_response(from, msg);
        if hit {
            let [a, b, c, d] = from.addr;
            let line = alloc::format!(
                "acme: {a}.{b}.{c}.{d}:{} serves the challenge TXT",
                from.port
            );
            self.log(Level::Info, line);
        }
        hit
    }

    /// Hand every client output to its handler; true if any.
    fn drain(&mut self, t: &mut Turn) -> bool {
        let mut busy = false;
        while let Some(out) = self.client.poll_output() {
            busy = true;
            match out {
                Output::Request(req) => self.effects.push(Effect::Send(req)),
                Output::WaitUntil(w) => self.wait_until = Some(w),
                Output::PublishTxt { name, value } => self.txt(t, name, value, true),
                Output::RemoveTxt { name, value } => self.txt(t, name, value, false),
                Output::Certificate {
                    chain_der,
                    not_after,
                    ..
                } => self.certificate(t, &chain_der, not_after),
                Output::Failed { error, .. } => self.failed(t, &error),
            }
        }
        busy
    }

    fn log(&mut self, level: Level, line: String) {
        self.effects.push(Effect::Log(level, line));
    }
}

#[cfg(test)]
mod tests;
