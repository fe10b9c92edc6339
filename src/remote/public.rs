//! A read-only remote as the zone source (issue 28): `--remote=https://...`
//! (git's smart HTTP) or `--remote=git://...`. When to fetch, the fetch
//! itself and what its end means are sans-I/O in git/
//! ([`gitns_git::readonly::ReadOnly`]); this file resolves the host, keeps
//! one TCP socket per connection the fetch asks for, moves the bytes and
//! installs what came (the last good version of a zone that stops parsing
//! kept). A signed UPDATE is answered REFUSED with a log line; the
//! appliance's own (an ACME certificate) is kept in the storage cache over
//! the remote's files when there is a device (docs/design.md says why).

use super::{install_fetched, pack_limits, MAX_PACK};
use crate::config::Config;
use crate::dns::{Deferred, Prepare};
use crate::source::{Cx, ZoneSource};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use gitns_dns::authority::Event;
use gitns_dns::name::Name;
use gitns_dns::prepare::Prepared;
use gitns_git::checkout::Checkout;
use gitns_git::proto::fetch::Fetched;
use gitns_git::readonly::{Access, Ended, ReadOnly};
use gitns_git::transfer::Now;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint};
use gitns_net::Platform;
use gitns_serve::git_stats::{GitStats, ReadOnlyUpdates};
use gitns_serve::link::Links;
use gitns_serve::resolve::ipv4_of;
use gitns_store::local::{self, Local};

/// An `https://` or `git://` remote.
pub struct PublicRemote {
    remote: ReadOnly,
    /// The socket under the fetch's current connection.
    links: Links,
    checkout: Option<Checkout>,
    /// Its counters, with the UPDATEs refused and kept locally.
    stats: GitStats,
}

impl PublicRemote {
    /// The remote of `cfg` when it is a read-only one; a clone is due at
    /// once.
    pub fn from_config(cfg: &Config, now: u64) -> Option<PublicRemote> {
        let location = cfg.remote.clone().filter(|l| !l.writable())?;
        let h = &cfg.remote_http;
        let access = Access {
            user: h.user.as_deref(),
            token: h.token.as_deref(),
            ca: &h.ca,
        };
        let sync_ns = cfg.sync_interval_s.saturating_mul(1_000_000_000);
        let (remote, notes) = ReadOnly::new(location, access, now, sync_ns);
        notes.iter().for_each(|n| log::error!("{n}"));
        log::info!("zones from read-only git remote {remote}");
        Some(PublicRemote {
            remote,
            links: Links::default(),
            checkout: None,
            stats: GitStats {
                read_only: Some(ReadOnlyUpdates::default()),
                ..GitStats::default()
            },
        })
    }

    /// The UPDATEs refused or kept locally.
    fn counts(&mut self) -> &mut ReadOnlyUpdates {
        self.stats.read_only.get_or_insert_default()
    }

    fn now<P: Platform>(platform: &mut P, now: u64) -> Now {
        let unix = platform.wall_clock_ns() / 1_000_000_000;
        Now { ns: now, unix }
    }

    /// Start the fetch that is due; whether one started.
    fn start<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        let haves = self.checkout.iter().map(|c| c.head).collect();
        let max_pack = pack_limits(cx.platform).max_total.min(MAX_PACK);
        let t = Self::now(cx.platform, now);
        let Some(seq) = self.remote.start(t, haves, max_pack) else {
            return false;
        };
        cx.dns.holds.started(seq);
        log::debug!("git: fetching {}", self.remote);
        true
    }

    /// Open the socket of the connection the fetch asks for (a new
    /// generation closes the old one); Err when it cannot be made.
    fn connect<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> Result<(), String> {
        let Some(t) = self.remote.transfer() else {
            return Ok(());
        };
        let generation = t.generation();
        if self.links.of(generation).is_some() {
            return Ok(());
        }
        self.links.keep_only(cx.net, None);
        let (host, port) = t.endpoint();
        let platform = &mut *cx.platform;
        let resolver = cx.resolver.as_deref_mut();
        let Some(ip) = ipv4_of(resolver, host, now, &mut || platform.random_u16())? else {
            return Ok(()); // asked; again on a later turn
        };
        let target = IpEndpoint::new(IpAddress::Ipv4(ip), port);
        let local_port = cx.platform.ephemeral_port();
        self.links.open(cx.net, target, local_port, generation)?;
        self.remote.connecting(target.to_string());
        Ok(())
    }

    /// Move bytes between the socket and the fetch; whether any moved.
    fn pump<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        let now = Self::now(cx.platform, now);
        let Some(t) = self.remote.transfer() else {
            return false;
        };
        let link = self.links.of(t.generation());
        link.is_some_and(|l| l.pump_fetch(cx.net, now, t))
    }

    /// The fetch ended: install what it brought, or log why not and back
    /// off; the NOTIFYs held for it are answered either way.
    fn finish<P: Platform>(&mut self, cx: &mut Cx<P>, end: Ended, now: u64) {
        self.links.keep_only(cx.net, None);
        match end.result.and_then(|f| self.fetched(cx, f)) {
            Ok(()) => {
                if let Some(v) = self.remote.succeeded(end.v2) {
                    log::info!("git: the remote speaks protocol {v}");
                }
                self.stats.fetched(cx.platform.wall_clock_ns());
            }
            Err(e) => {
                self.stats.fetch_failures += 1;
                let wait = self.remote.failed(now) / 1_000_000_000;
                log::error!(
                    "git: fetch from {} failed: {e}; retrying in {wait} s, serving the loaded zones",
                    self.remote
                );
            }
        }
        let held = cx.dns.holds.finished(end.seq);
        cx.replies.extend(cx.dns.release(held));
    }

    /// Install a fetch's files with the records kept over them.
    fn fetched<P: Platform>(&mut self, cx: &mut Cx<P>, f: Fetched) -> Result<(), String> {
        let local = Local::or_fresh(cx.storage.files());
        let branch = self.remote.location().branch();
        install_fetched(cx, f, &mut self.checkout, branch, Some(local))
    }

    /// The appliance's own UPDATE (a certificate written back by ACME),
    /// applied to the zones served: kept in the storage cache over the
    /// remote's files (gitns_store::local), written before it is
    /// acknowledged; SERVFAIL, withdrawn, when it could not be written.
    fn keep_local<P: Platform>(&mut self, cx: &mut Cx<P>, d: &Deferred, mut p: Box<Prepared>) {
        let failed = cx.storage.failed_writes();
        let kept = local::with_update(cx.storage.files(), &d.msg, &cx.dns.zones)
            .map_err(|e| e.to_string())
            .and_then(|(files, n)| {
                cx.storage.keep(cx.platform, Some(files));
                let ok = cx.storage.failed_writes() == failed;
                ok.then_some(n)
                    .ok_or_else(|| "the storage write failed".to_string())
            });
        let dns = &mut *cx.dns;
        let answer = match kept {
            Ok(n) => {
                log::info!("UPDATE of {} (the appliance's certificate) kept in the storage cache over the read-only remote ({n} record(s) kept)", p.zone);
                self.counts().kept += 1;
                let ok = core::mem::take(&mut p.ok);
                let now = cx.platform.wall_clock_ns() / 1_000_000_000;
                let zone = p.keep(&mut dns.zones, now);
                dns.push_event(Event::Updated(zone));
                ok
            }
            Err(why) => {
                log::error!(
                    "UPDATE of {} (the appliance's certificate) not kept: {why}",
                    p.zone
                );
                p.withdraw(&mut dns.zones);
                core::mem::take(&mut p.fail)
            }
        };
        cx.replies.push(dns.update_reply(d, answer));
    }
}

impl<P: Platform> ZoneSource<P> for PublicRemote {
    fn run(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        self.links.reap(cx.net);
        let broken = self.connect(cx, now).err();
        let mut busy = self.pump(cx, now);
        let t = Self::now(cx.platform, now);
        if let Some(end) = self.remote.poll(t, broken) {
            self.finish(cx, end, now);
            busy = true;
        }
        busy | self.start(cx, now)
    }

    fn next_deadline(&self) -> Option<u64> {
        Some(self.remote.next_deadline())
    }

    /// Every zone comes from the remote's branch.
    fn owns(&self, _zone: &Name) -> bool {
        true
    }

    fn resync(&mut self, _cx: &mut Cx<P>, zone: &Name, now: u64) {
        log::info!("NOTIFY for {zone}: fetching from the git remote");
        self.remote.resync(now);
    }

    /// REFUSED, signed like the request, with a log line (the remote is
    /// read-only); the appliance's own kept locally when there is a device.
    fn update(&mut self, cx: &mut Cx<P>, d: Deferred, _now: u64) -> Result<(), Deferred> {
        let storage = cx.platform.block_capacity().is_some();
        let dns = &mut *cx.dns;
        let msg = match dns.prepare(&d) {
            Prepare::Answer(msg) => msg,
            Prepare::Change(p) if d.internal && storage => {
                self.keep_local(cx, &d, p);
                return Ok(());
            }
            Prepare::Change(mut p) => {
                p.withdraw(&mut dns.zones);
                self.counts().refused += 1;
                let (who, hint) = match d.internal {
                    true => (
                        "the appliance (a certificate)".to_string(),
                        "; with --storage it would be kept in the storage cache",
                    ),
                    false => (format!("{} from {}", p.key, d.peer), ""),
                };
                log::warn!("UPDATE of {} by {who} refused: the zones come from the read-only remote {}{hint}", p.zone, self.remote);
                Some(p.refused)
            }
        };
        cx.replies.extend(msg.map(|m| dns.update_reply(&d, m)));
        Ok(())
    }

    /// The git lines, and the UPDATEs refused or kept locally.
    fn metrics(&self, out: &mut String) {
        let head = self.checkout.as_ref().map(|c| c.head);
        self.stats.metrics(out, head, Default::default());
    }

    fn log_counters(&self) {
        self.stats.log_counters(Default::default());
    }
}
