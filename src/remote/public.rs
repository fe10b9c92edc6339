//! A read-only remote as the zone source (issue 28): the zones fetched
//! over HTTPS (git's smart HTTP, `--remote=https://...`) or from a git
//! daemon (`--remote=git://...`) at boot, on a signed NOTIFY and every
//! `--sync-interval`, retried with backoff while the loaded zones are
//! served (the storage cache's at boot), the last good version of a zone
//! that stops parsing kept. A signed UPDATE is answered REFUSED with a log
//! line: nothing can be pushed there (docs/design.md says why it is not
//! journalled locally either).
//!
//! The fetch itself is sans-I/O in git/ ([`Transfer`]: [`HttpFetch`],
//! [`DaemonFetch`]); this file resolves its host, keeps one TCP socket per
//! connection it asks for and moves the bytes.

use super::conn::{self, Link, Pumped};
use super::{install_fetched, pack_limits, GitStats, MAX_PACK};
use crate::config::Config;
use crate::dns::{Deferred, Prepare};
use crate::resolve::ResolveState;
use crate::source::{Cx, ZoneSource};
use alloc::boxed::Box;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use gitns_dns::authority::Event;
use gitns_dns::name::Name;
use gitns_dns::prepare::Prepared;
use gitns_git::checkout::Checkout;
use gitns_git::daemon::DaemonFetch;
use gitns_git::http_fetch::HttpFetch;
use gitns_git::location::Location;
use gitns_git::proto::fetch::{Fetch, Fetched};
use gitns_git::schedule::Schedule;
use gitns_git::smart_http::Auth;
use gitns_git::transfer::{FetchError, Now, Transfer};
use gitns_https::Anchors;
use gitns_net::metrics::Text;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Platform;
use gitns_store::local::Local;

/// The fetch in flight and the socket under its current connection.
struct Running {
    transfer: Box<dyn Transfer>,
    /// Fetch number (NOTIFYs held for it wait for its end).
    seq: u64,
    link: Option<Link>,
    /// The last address connected to, for the log.
    target: Option<IpEndpoint>,
}

/// An `https://` or `git://` remote.
pub struct PublicRemote {
    location: Location,
    auth: Auth,
    anchors: Anchors,
    schedule: Schedule,
    running: Option<Running>,
    closing: Vec<SocketHandle>,
    checkout: Option<Checkout>,
    fetch_seq: u64,
    stats: GitStats,
    refused: u64,
    /// The appliance's UPDATEs kept in the storage cache.
    kept: u64,
    /// The protocol the last fetch spoke, for the log when it changes.
    spoke_v2: Option<bool>,
}

impl PublicRemote {
    /// The remote of `cfg` when it is a read-only one; a clone is due at
    /// once.
    pub fn from_config(cfg: &Config, now: u64) -> Option<PublicRemote> {
        let location = cfg.remote.clone().filter(|l| !l.writable())?;
        let h = &cfg.remote_http;
        let anchors = if h.ca.is_empty() {
            Anchors::public()
        } else {
            let mut a = Anchors::empty();
            for der in &h.ca {
                if a.add_der(der).is_err() {
                    log::error!("--remote-ca: a certificate that does not parse is left out");
                }
            }
            a
        };
        log::info!("zones from read-only git remote {}", describe(&location));
        Some(PublicRemote {
            auth: Auth::from_options(h.user.as_deref(), h.token.as_deref()),
            anchors,
            schedule: Schedule::new(now, cfg.sync_interval_s.saturating_mul(1_000_000_000)),
            location,
            running: None,
            closing: Vec::new(),
            checkout: None,
            fetch_seq: 0,
            stats: GitStats::default(),
            refused: 0,
            kept: 0,
            spoke_v2: None,
        })
    }

    fn now<P: Platform>(platform: &mut P, now: u64) -> Now {
        Now {
            ns: now,
            unix: platform.wall_clock_ns() / 1_000_000_000,
        }
    }

    /// Start the fetch that is due.
    fn start<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) {
        let haves = self.checkout.iter().map(|c| c.head).collect();
        let max_pack = pack_limits(cx.platform).max_total.min(MAX_PACK);
        let fetch = Fetch::new(self.location.branch(), haves, true, max_pack);
        let t = Self::now(cx.platform, now);
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
            Location::Ssh(_) => return,
        };
        self.fetch_seq += 1;
        cx.dns.holds.started(self.fetch_seq);
        log::debug!("git: fetching {}", describe(&self.location));
        self.running = Some(Running {
            transfer,
            seq: self.fetch_seq,
            link: None,
            target: None,
        });
    }

    /// Open the socket of the connection the fetch asks for (a new
    /// generation closes the old one); Err when it cannot be made.
    fn connect<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> Result<(), String> {
        let Some(run) = self.running.as_mut() else {
            return Ok(());
        };
        let generation = run.transfer.generation();
        if run
            .link
            .as_ref()
            .is_some_and(|l| l.generation == generation)
        {
            return Ok(());
        }
        if let Some(old) = run.link.take() {
            old.close(cx.net, &mut self.closing);
        }
        let (host, port) = run.transfer.endpoint();
        let Some(ip) = resolve(cx, host, now)? else {
            return Ok(()); // asked; again on a later turn
        };
        let target = IpEndpoint::new(IpAddress::Ipv4(ip), port);
        let port = cx.platform.ephemeral_port();
        run.link = Some(Link::open(cx.net, target, port, generation)?);
        run.target = Some(target);
        Ok(())
    }

    /// Move bytes between the socket and the fetch; whether any moved.
    fn pump<P: Platform>(&mut self, cx: &mut Cx<P>, now: u64) -> bool {
        let t = Self::now(cx.platform, now);
        let Some(run) = self.running.as_mut() else {
            return false;
        };
        let Some(link) = run.link.as_mut() else {
            return false;
        };
        let mut p = FetchPump {
            t: run.transfer.as_mut(),
            now: t,
        };
        link.pump_with(cx.net, &mut p)
    }

    /// The fetch ended: install what it brought, or log why not and back
    /// off; the NOTIFYs held for it are answered either way.
    fn finish<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        run: Running,
        r: Result<Fetched, String>,
        now: u64,
    ) {
        if let Some(link) = run.link {
            link.close(cx.net, &mut self.closing);
        }
        match r.and_then(|f| self.fetched(cx, f)) {
            Ok(()) => {
                let v2 = run.transfer.protocol_v2();
                if self.spoke_v2 != Some(v2) {
                    let v = if v2 { "v2" } else { "v0" };
                    log::info!("git: the remote speaks protocol {v}");
                    self.spoke_v2 = Some(v2);
                }
                self.schedule.succeeded();
                self.stats.fetches += 1;
                self.stats.last_sync_s = cx.platform.wall_clock_ns() / 1_000_000_000;
            }
            Err(e) => {
                self.stats.fetch_failures += 1;
                let wait = self.schedule.failed(now);
                log::error!(
                    "git: fetch from {} failed: {e}; retrying in {} s, serving the loaded zones",
                    describe(&self.location),
                    wait / 1_000_000_000
                );
            }
        }
        let held = cx.dns.holds.finished(run.seq);
        cx.replies.extend(cx.dns.release(held));
    }

    /// Install a fetch's files with the records kept over them.
    fn fetched<P: Platform>(&mut self, cx: &mut Cx<P>, f: Fetched) -> Result<(), String> {
        let local = kept_locally(cx.storage.files());
        install_fetched(
            cx,
            f,
            &mut self.checkout,
            self.location.branch(),
            Some(local),
        )
    }

    /// The appliance's own UPDATE (a certificate written back by ACME),
    /// applied to the zones served: kept in the storage cache over the
    /// remote's files (gitns_store::local), written before it is
    /// acknowledged; SERVFAIL, withdrawn, when it could not be written.
    fn keep_local<P: Platform>(&mut self, cx: &mut Cx<P>, d: &Deferred, mut p: Box<Prepared>) {
        let mut local = kept_locally(cx.storage.files());
        let failed = cx.storage.failed_writes();
        let kept = local.add(&d.msg).map(|()| {
            local.note_serials(&cx.dns.zones);
            let files = local.into_files(cx.storage.files().to_vec());
            cx.storage.keep(cx.platform, Some(files));
        });
        let dns = &mut *cx.dns;
        let answer = match kept {
            Ok(()) if cx.storage.failed_writes() == failed => {
                log::info!(
                    "UPDATE of {} (the appliance's certificate) kept in the storage cache over the read-only remote ({} record(s) kept)",
                    p.zone,
                    local.len()
                );
                self.kept += 1;
                let ok = core::mem::take(&mut p.ok);
                let now = cx.platform.wall_clock_ns() / 1_000_000_000;
                let zone = p.keep(&mut dns.zones, now);
                dns.push_event(Event::Updated(zone));
                ok
            }
            r => {
                let why = r
                    .err()
                    .map_or("the storage write failed".to_string(), |e| e.to_string());
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
        conn::reap(cx.net, &mut self.closing);
        let mut busy = false;
        if self.running.is_some() {
            let connected = self.connect(cx, now);
            busy |= self.pump(cx, now);
            let t = Self::now(cx.platform, now);
            let run = self.running.as_mut().expect("running");
            let result =
                match connected {
                    Err(e) => Some(Err(e)),
                    Ok(()) => run.transfer.poll(t).cloned().map(|r| {
                        r.map_err(|e| explain(&e, run.target, run.transfer.was_connected()))
                    }),
                };
            if let Some(r) = result {
                let run = self.running.take().expect("running");
                self.finish(cx, run, r, now);
                busy = true;
            }
        }
        if self.running.is_none() && self.schedule.due(now) {
            self.start(cx, now);
            busy = true;
        }
        busy
    }

    fn next_deadline(&self) -> Option<u64> {
        Some(match &self.running {
            Some(r) => r.transfer.next_deadline(),
            None => self.schedule.next_deadline(),
        })
    }

    /// Every zone comes from the remote's branch.
    fn owns(&self, _zone: &Name) -> bool {
        true
    }

    fn resync(&mut self, _cx: &mut Cx<P>, zone: &Name, now: u64) {
        log::info!("NOTIFY for {zone}: fetching from the git remote");
        self.schedule.now(now);
    }

    /// REFUSED, signed like the request, with a log line: the remote is
    /// read-only.
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
                self.refused += 1;
                let (who, hint) = match d.internal {
                    true => (
                        "the appliance (a certificate)".to_string(),
                        "; with --storage it would be kept in the storage cache",
                    ),
                    false => (format!("{} from {}", p.key, d.peer), ""),
                };
                log::warn!(
                    "UPDATE of {} by {who} refused: the zones come from the read-only remote {}{hint}",
                    p.zone,
                    describe(&self.location)
                );
                Some(p.refused)
            }
        };
        cx.replies.extend(msg.map(|m| dns.update_reply(&d, m)));
        Ok(())
    }

    /// The git lines, and the UPDATEs refused (read-only) or kept in the
    /// storage cache.
    fn metrics(&self, out: &mut String) {
        self.stats
            .metrics(out, self.checkout.as_ref().map(|c| c.head));
        let mut t = Text::from(core::mem::take(out));
        let v = [("refused", self.refused), ("kept_locally", self.kept)];
        let help = "UPDATEs to the read-only remote's zones by what became of them.";
        t.by(
            "gitns_read_only_updates_total",
            "counter",
            help,
            "result",
            &v,
        );
        *out = t.into_string();
    }

    fn log_counters(&self) {
        let s = self.stats;
        log::debug!(
            "counters: git fetches {} failed {}, UPDATEs refused (read-only) {} kept locally {}",
            s.fetches,
            s.fetch_failures,
            self.refused,
            self.kept
        );
    }
}

/// The records kept over the remote's files in the storage cache (none,
/// logged, when they do not read).
fn kept_locally(files: &[gitns_store::archive::File]) -> Local {
    Local::from_files(files).unwrap_or_else(|e| {
        log::error!("storage: {e}: starting the locally kept records afresh");
        Local::default()
    })
}

/// The remote as the log names it.
fn describe(l: &Location) -> String {
    match l {
        Location::Https(r) => format!("{}#{}", r.url, r.branch),
        Location::Daemon(r) => format!("git://{}:{}{}#{}", r.host, r.port, r.path, r.branch),
        Location::Ssh(r) => format!("{}:{}", r.host, r.path),
    }
}

/// Why a fetch failed, for the log: a connection that never came up is
/// "cannot connect", whatever the layer above made of it.
fn explain(e: &FetchError, target: Option<IpEndpoint>, connected: bool) -> String {
    match target {
        Some(t) if !connected => format!("cannot connect to {t}"),
        Some(t) => format!("{t}: {e}"),
        None => e.to_string(),
    }
}

/// The address of `host`: an IPv4 literal, or through `--resolver`;
/// Ok(None) while the lookup runs.
fn resolve<P: Platform>(
    cx: &mut Cx<P>,
    host: &str,
    now: u64,
) -> Result<Option<Ipv4Address>, String> {
    if let Ok(ip) = host.parse::<Ipv4Address>() {
        return Ok(Some(ip));
    }
    let platform = &mut *cx.platform;
    let Some(r) = cx.resolver.as_deref_mut() else {
        return Err(format!("{host} is a name and there is no --resolver"));
    };
    match r.resolve(host, now, &mut || platform.random_u16()) {
        ResolveState::Ready(IpAddress::Ipv4(ip)) => Ok(Some(ip)),
        ResolveState::Ready(other) => Err(format!("{host} resolves to {other}, not IPv4")),
        ResolveState::Pending => Ok(None),
        ResolveState::Failed(e) => Err(format!("cannot resolve {host}: {e:?}")),
    }
}

/// A fetch at the time of this turn, for [`Link::pump_with`].
struct FetchPump<'a> {
    t: &'a mut dyn Transfer,
    now: Now,
}

impl Pumped for FetchPump<'_> {
    fn was_connected(&self) -> bool {
        self.t.was_connected()
    }
    fn transport_up(&mut self) {
        self.t.transport_up()
    }
    fn input(&mut self, data: &[u8]) {
        self.t.input(self.now, data)
    }
    fn pending_output(&mut self) -> &[u8] {
        self.t.pending_output()
    }
    fn consume_output(&mut self, n: usize) {
        self.t.consume_output(n)
    }
    fn transport_closed(&mut self) {
        self.t.transport_closed(self.now)
    }
}
