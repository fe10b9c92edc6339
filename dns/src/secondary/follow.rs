//! One zone followed from its primary: idle until the refresh is due
//! (a NOTIFY skips the SOA query below: the transfer at once), then a SOA
//! query over UDP (RFC 1034 4.3.5,
//! resent twice; asked again over TCP when the answer is truncated, RFC
//! 7766 5, or refused), then, when the primary's serial is newer (RFC 1982), a
//! transfer over TCP: IXFR from the version held, AXFR when nothing is
//! held or the IXFR failed (RFC 1995 4 fallback). Failures wait RETRY;
//! EXPIRE without a successful refresh drops the zone (Knot's behaviour:
//! it answers SERVFAIL) until a transfer brings it back.

use super::action::{Action, Now};
use super::request::{self, HeldSoa, Sent};
use super::response::{self, XfrError};
use super::source::Source;
use super::timers::{SoaTimes, Timers};
use super::tsig_chain::Chain;
use super::xfr_in::{Limits, Received, XfrIn};
use crate::name::Name;
use crate::rtype::{IXFR, SOA};
use crate::serial;
use alloc::boxed::Box;
use alloc::format;
use alloc::vec::Vec;
use core::net::SocketAddr;

/// A SOA query is sent this often, this many times, before the check
/// counts as failed.
pub const QUERY_WAIT_MS: u64 = 2_000;
pub const QUERY_TRIES: u8 = 3;
/// A transfer that brings nothing for this long has failed.
pub const TRANSFER_IDLE_MS: u64 = 30_000;
/// RCODE REFUSED (RFC 1035 4.1.1).
const REFUSED: u8 = 5;

/// What [`Follow::poll`] has to do.
enum Step {
    Start,
    Resend,
    GiveUp,
    Stalled,
}

enum Phase {
    Idle,
    Asking {
        sent: Box<Sent>,
        tries: u8,
        resend_at: u64,
    },
    /// The UDP answer had TC: the same query over TCP.
    AskingTcp {
        sent: Box<Sent>,
        idle_until: u64,
    },
    Transferring {
        xfr: Box<XfrIn>,
        idle_until: u64,
    },
}

/// The state of one followed zone.
pub struct Follow {
    pub origin: Name,
    pub source: Source,
    /// The SOA of the version we serve (None: nothing, or expired).
    held: Option<(HeldSoa, SoaTimes)>,
    timers: Timers,
    phase: Phase,
    /// The next transfer is AXFR (an IXFR failed or did not apply).
    axfr_next: bool,
    /// A NOTIFY came while busy: check again when done.
    recheck: bool,
    /// The primary's SOA (asked over TCP) was newer, or the primary's
    /// NOTIFY said so: transfer at the next poll without asking (again).
    newer: bool,
    limits: Limits,
}

fn log(out: &mut Vec<Action>, zone: &Name, what: &str) {
    out.push(Action::Log(format!("secondary {zone}: {what}")));
}

impl Follow {
    pub fn new(origin: Name, source: Source, now: u64) -> Follow {
        Follow {
            origin,
            source,
            held: None,
            timers: Timers::unloaded(now),
            phase: Phase::Idle,
            axfr_next: false,
            recheck: false,
            newer: false,
            limits: Limits::default(),
        }
    }

    fn target(&self) -> SocketAddr {
        self.source.primary
    }

    /// The serial we serve.
    pub fn serial(&self) -> Option<u32> {
        self.held.as_ref().map(|h| h.1.serial)
    }

    /// A copy loaded from storage at boot: served at once, checked now.
    pub fn restore(&mut self, soa: HeldSoa, now: u64) {
        if let Some(t) = SoaTimes::of_rdata(&soa.rdata) {
            self.timers.refreshed(now, &t);
            self.timers.check_now(now);
            self.held = Some((soa, t));
        }
    }

    pub fn set_limits(&mut self, limits: Limits) {
        self.limits = limits;
    }

    /// A NOTIFY announcing `serial` (if it said) was accepted: transfer
    /// at once, without the SOA query first. The NOTIFY is signed by the
    /// primary's key, so it is the primary saying its zone changed, and an
    /// IXFR answer opens with the primary's SOA (a current client gets that
    /// SOA alone, RFC 1995 2): the SOA query would only cost a round trip
    /// of both sides (issue 23: UPDATE -> served). A NOTIFY during a check
    /// or a transfer asks for one more check after it, by SOA query.
    pub fn notified(&mut self, serial: Option<u32>, now: u64) {
        let known = matches!((serial, self.serial()), (Some(s), Some(h)) if !serial::gt(s, h));
        if known {
            return;
        }
        match self.phase {
            Phase::Idle => {
                self.timers.check_now(now);
                self.newer = true;
            }
            _ => self.recheck = true,
        }
    }

    /// When something is due next.
    pub fn deadline(&self) -> u64 {
        let own = match &self.phase {
            Phase::Idle => u64::MAX,
            Phase::Asking { resend_at, .. } => *resend_at,
            Phase::Transferring { idle_until, .. } | Phase::AskingTcp { idle_until, .. } => {
                *idle_until
            }
        };
        own.min(self.timers.deadline())
    }

    /// Timers: expiry, SOA checks, resends, stalled transfers.
    pub fn poll(&mut self, now: Now, ids: &mut dyn FnMut() -> u16, out: &mut Vec<Action>) {
        if self.timers.expired(now.mono_ms) {
            self.held = None;
            self.timers.forget();
            self.axfr_next = true;
            log(
                out,
                &self.origin,
                "expired: no refresh from the primary for EXPIRE seconds, answering SERVFAIL",
            );
            out.push(Action::Expire {
                zone: self.origin.clone(),
            });
        }
        let t = now.mono_ms;
        let step = match &self.phase {
            Phase::Idle if self.timers.due(t) => Step::Start,
            Phase::Asking {
                tries, resend_at, ..
            } if t >= *resend_at => {
                if *tries >= QUERY_TRIES {
                    Step::GiveUp
                } else {
                    Step::Resend
                }
            }
            Phase::Transferring { idle_until, .. } | Phase::AskingTcp { idle_until, .. }
                if t >= *idle_until =>
            {
                Step::Stalled
            }
            _ => return,
        };
        match step {
            Step::Start => self.start(now, ids, out),
            Step::GiveUp => self.failed(t, "the primary did not answer the SOA query", out),
            Step::Resend => self.resend(t, out),
            Step::Stalled => {
                out.push(Action::Close {
                    zone: self.origin.clone(),
                });
                self.failed(t, "the primary stalled over TCP", out);
            }
        }
    }

    fn resend(&mut self, t: u64, out: &mut Vec<Action>) {
        let to = self.target();
        if let Phase::Asking {
            sent,
            tries,
            resend_at,
        } = &mut self.phase
        {
            *tries += 1;
            *resend_at = t + QUERY_WAIT_MS;
            out.push(Action::Query {
                to,
                msg: sent.msg.clone(),
            });
        }
    }

    /// The refresh check is due: ask for the SOA (or go straight to AXFR
    /// when one is needed anyway).
    fn start(&mut self, now: Now, ids: &mut dyn FnMut() -> u16, out: &mut Vec<Action>) {
        if core::mem::take(&mut self.newer) || (self.axfr_next && self.held.is_none()) {
            return self.transfer(now, ids, out);
        }
        let sent = request::soa_query(&self.origin, ids(), Some(&self.source.key), now.wall);
        out.push(Action::Query {
            to: self.target(),
            msg: sent.msg.clone(),
        });
        self.phase = Phase::Asking {
            sent: Box::new(sent),
            tries: 1,
            resend_at: now.mono_ms + QUERY_WAIT_MS,
        };
    }

    /// Open a transfer: IXFR from what we hold, else AXFR.
    fn transfer(&mut self, now: Now, ids: &mut dyn FnMut() -> u16, out: &mut Vec<Action>) {
        let key = Some(&self.source.key);
        let sent = match (&self.held, self.axfr_next) {
            (Some((soa, _)), false) => request::ixfr(&self.origin, ids(), soa, key, now.wall),
            _ => request::axfr(&self.origin, ids(), key, now.wall),
        };
        out.push(Action::Transfer {
            to: self.target(),
            zone: self.origin.clone(),
            msg: sent.msg.clone(),
        });
        let xfr = XfrIn::new(sent, self.serial(), self.limits);
        self.phase = Phase::Transferring {
            xfr: Box::new(xfr),
            idle_until: now.mono_ms + TRANSFER_IDLE_MS,
        };
    }

    /// Is this UDP message the answer to our SOA query?
    pub fn asked_with(&self, id: u16, from: SocketAddr) -> bool {
        matches!(&self.phase, Phase::Asking { sent, .. } if sent.id == id) && from == self.target()
    }

    /// The answer to our SOA query over UDP.
    pub fn on_soa_answer(
        &mut self,
        msg: &[u8],
        now: Now,
        ids: &mut dyn FnMut() -> u16,
        out: &mut Vec<Action>,
    ) {
        if self.judge_soa(msg, now, out) {
            self.transfer(now, ids, out);
        }
    }

    /// Check the answer to our SOA query; true when the primary has a
    /// newer version (or we hold none): transfer it.
    fn judge_soa(&mut self, msg: &[u8], now: Now, out: &mut Vec<Action>) -> bool {
        let (Phase::Asking { sent, .. } | Phase::AskingTcp { sent, .. }) = &self.phase else {
            return false;
        };
        match primary_soa(msg, sent, now.wall) {
            // Truncated (RFC 7766 5), or REFUSED: Knot answers a catalog
            // zone's SOA only over TCP (its own consumers ask so).
            Err(XfrError::Tc | XfrError::Rcode(REFUSED))
                if matches!(self.phase, Phase::Asking { .. }) =>
            {
                self.ask_over_tcp(now.mono_ms, out);
                false
            }
            Err(e) => {
                self.failed(now.mono_ms, &format!("SOA query: {e}"), out);
                false
            }
            Ok(theirs) => match self.serial() {
                // Older (RFC 1982): not a refresh, EXPIRE keeps running
                // (Knot: "remote is outdated", a failed refresh).
                Some(ours) if serial::gt(ours, theirs) => {
                    let m = format!(
                        "the primary's serial {theirs} is older than ours {ours}; keeping ours, not a refresh"
                    );
                    self.failed(now.mono_ms, &m, out);
                    false
                }
                Some(ours) if !serial::gt(theirs, ours) => {
                    self.refreshed(now.mono_ms);
                    false
                }
                _ => true,
            },
        }
    }

    /// The UDP answer was truncated: the same (signed) query over TCP, its
    /// answer fed through `on_message`.
    fn ask_over_tcp(&mut self, now: u64, out: &mut Vec<Action>) {
        let Phase::Asking { sent, .. } = core::mem::replace(&mut self.phase, Phase::Idle) else {
            return;
        };
        out.push(Action::Transfer {
            to: self.target(),
            zone: self.origin.clone(),
            msg: sent.msg.clone(),
        });
        self.phase = Phase::AskingTcp {
            sent,
            idle_until: now + TRANSFER_IDLE_MS,
        };
    }

    /// A message of the transfer; false when the connection should close
    /// (done, failed, or no transfer going on).
    pub fn on_message(&mut self, msg: &[u8], now: Now, out: &mut Vec<Action>) -> bool {
        if matches!(self.phase, Phase::AskingTcp { .. }) {
            // The SOA answer is one message; the transfer, if one is
            // needed, opens its own connection at the next poll.
            if self.judge_soa(msg, now, out) {
                self.phase = Phase::Idle;
                self.newer = true;
                self.timers.check_now(now.mono_ms);
            }
            return false;
        }
        let Phase::Transferring { xfr, idle_until } = &mut self.phase else {
            return false;
        };
        match xfr.message(msg, now.wall) {
            Ok(false) => {
                *idle_until = now.mono_ms + TRANSFER_IDLE_MS;
                true
            }
            Ok(true) => {
                let Phase::Transferring { xfr, .. } =
                    core::mem::replace(&mut self.phase, Phase::Idle)
                else {
                    return false;
                };
                match xfr.finish() {
                    Ok(r) => self.received(r, now.mono_ms, out),
                    Err(e) => self.transfer_failed(e, now.mono_ms, out),
                }
                false
            }
            Err(e) => {
                self.transfer_failed(e, now.mono_ms, out);
                false
            }
        }
    }

    /// The transfer's connection closed (or could not be opened).
    pub fn on_closed(&mut self, now: Now, out: &mut Vec<Action>) {
        match self.phase {
            Phase::Transferring { .. } => {
                self.transfer_failed(XfrError::Truncated, now.mono_ms, out)
            }
            Phase::AskingTcp { .. } => self.failed(now.mono_ms, "SOA query over TCP: closed", out),
            _ => {}
        }
    }

    /// The caller could not apply the IXFR we handed over: AXFR at once.
    pub fn apply_failed(&mut self, now: u64, out: &mut Vec<Action>) {
        log(
            out,
            &self.origin,
            "IXFR did not apply to our copy; falling back to AXFR",
        );
        self.axfr_next = true;
        self.held = None;
        self.timers.check_now(now);
    }

    fn received(&mut self, r: Received, now: u64, out: &mut Vec<Action>) {
        let soa = match &r {
            Received::Current(_) => None,
            Received::Full(z) => z
                .soa()
                .and_then(|s| Some((s.ttl, s.rdatas.first()?.to_vec()))),
            Received::Incremental(d) => d.last().map(|d| d.new_soa.clone()),
        };
        if let Some((ttl, rdata)) = soa {
            let Some(t) = SoaTimes::of_rdata(&rdata) else {
                return self.failed(now, "transfer without a SOA", out);
            };
            let kind = if matches!(r, Received::Full(_)) {
                "AXFR"
            } else {
                "IXFR"
            };
            log(out, &self.origin, &format!("{kind} to serial {}", t.serial));
            self.held = Some((HeldSoa { ttl, rdata }, t));
            self.axfr_next = false;
            out.push(Action::Install {
                zone: self.origin.clone(),
                data: r,
            });
        }
        self.refreshed(now);
    }

    fn refreshed(&mut self, now: u64) {
        self.phase = Phase::Idle;
        match &self.held {
            Some((_, t)) => self.timers.refreshed(now, t),
            None => self.timers.failed(now, None),
        }
        if core::mem::take(&mut self.recheck) {
            self.timers.check_now(now);
        }
    }

    fn transfer_failed(&mut self, e: XfrError, now: u64, out: &mut Vec<Action>) {
        let was_ixfr = match &self.phase {
            Phase::Transferring { xfr, .. } => xfr.sent().qtype == IXFR,
            _ => self.held.is_some() && !self.axfr_next,
        };
        out.push(Action::Close {
            zone: self.origin.clone(),
        });
        if was_ixfr && !matches!(e, XfrError::Tsig(_)) {
            log(
                out,
                &self.origin,
                &format!("IXFR failed ({e}); falling back to AXFR"),
            );
            self.phase = Phase::Idle;
            self.axfr_next = true;
            self.timers.check_now(now);
            return;
        }
        self.failed(now, &format!("transfer failed: {e}"), out);
    }

    fn failed(&mut self, now: u64, why: &str, out: &mut Vec<Action>) {
        log(
            out,
            &self.origin,
            &format!("{why}; the last good copy stays"),
        );
        self.phase = Phase::Idle;
        let t = self.held.as_ref().map(|h| h.1);
        self.timers.failed(now, t.as_ref());
        if core::mem::take(&mut self.recheck) {
            self.timers.check_now(now);
        }
    }
}

/// The serial of the primary's SOA in an answer to our SOA query, which
/// must be authoritative (RFC 1034 4.3.5) and signed like the query.
fn primary_soa(msg: &[u8], sent: &Sent, wall: u64) -> Result<u32, XfrError> {
    let (h, mut r) = response::open(msg, sent, true)?;
    if h.flags & 0x0400 == 0 {
        return Err(XfrError::NotOurs);
    }
    let mut found = None;
    for _ in 0..h.ancount {
        let rr = response::read_rr(&mut r)?;
        if rr.rtype == SOA && rr.owner == sent.zone {
            found = SoaTimes::of_rdata(&rr.rdata).map(|t| t.serial);
        }
    }
    let additional_at = response::skip_authority(&mut r, &h)?;
    if let Some((key, mac)) = &sent.signed {
        let mut chain = Chain::new(key.clone(), mac.clone());
        chain
            .message(msg, &h, additional_at, wall)
            .map_err(XfrError::Tsig)?;
        chain.finish().map_err(XfrError::Tsig)?;
    }
    found.ok_or(XfrError::BadSoa)
}
