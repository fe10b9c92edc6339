//! The App: the appliance's parts built from the configuration, one turn
//! of the main loop, and when it must turn again. [`crate::run`] builds it
//! and loops `turn`, `platform.poll(next_deadline)`.

use crate::acme::Acme;
use crate::config::Config;
use crate::dns::{self, Dns, Reply};
use crate::remote::{GitRemote, PublicRemote};
use crate::server;
use crate::server::chores::Chores;
use crate::server::metrics;
use crate::server::sockets::Sockets;
use crate::source::catalog::CatalogSource;
use crate::source::secondary::SecondarySource;
use crate::source::storage::{Storage, StorageSource};
use crate::source::{self, Cx, Sources};
use alloc::vec::Vec;
use gitns_abi::exit;
use gitns_net::{Net, Platform};

/// Longest sleep of the main loop when nothing is scheduled.
const IDLE_POLL_NS: u64 = 1_000_000_000;

/// The appliance.
pub struct App<'p, P: Platform> {
    platform: &'p mut P,
    net: Net,
    sockets: Sockets,
    service: Dns,
    stats: server::Stats,
    storage: Storage,
    /// Where the zones come from (`crate::source`).
    sources: Sources<P>,
    acme: Option<Acme>,
    chores: Chores,
    /// Big TCP send buffers are made on idle turns after ready, one
    /// socket a turn (~1.6 ms each under PVM): not on the way to the
    /// first answer.
    growing: bool,
}

impl<'p, P: Platform> App<'p, P> {
    /// Build every part from `cfg`: the network, the zones from the
    /// storage cache, the sockets, the git remote and ACME. Err: the exit
    /// status (the reason is logged).
    pub fn new(platform: &'p mut P, cfg: &Config) -> Result<App<'p, P>, i32> {
        log::info!(
            "gitns {} starting: {} (mac {}, mtu {})",
            env!("CARGO_PKG_VERSION"),
            cfg.net.ipv4,
            Mac(platform.mac()),
            platform.mtu()
        );
        let mut net = Net::new(platform, &cfg.net);
        let port = &mut || platform.ephemeral_port();
        let sockets = Sockets::bind(&mut net, cfg, port).map_err(|e| {
            log::error!("{e}");
            exit::CONFIG
        })?;
        let (storage, zones, report) = Storage::boot(platform);
        let mut service = Dns::new(platform, cfg, zones);
        service.report(&report);
        let sources = zone_sources(cfg, &mut service, platform.monotonic_ns());
        if let Some(r) = cfg.ssh_remote() {
            log::info!(
                "zones from git remote {}@{}:{} {} branch {}",
                r.user,
                r.host,
                r.port,
                r.path,
                r.branch
            );
        }
        dns::notify_risen(platform, &mut service, None);
        log::info!(
            "ready: serving {} zones on port {}",
            service.zones.zones().count(),
            cfg.dns_port
        );
        let now = platform.monotonic_ns();
        Ok(App {
            platform,
            net,
            sockets,
            service,
            stats: server::Stats::default(),
            storage,
            sources,
            acme: Acme::from_config(&cfg.acme),
            chores: Chores::new(now),
            growing: true,
        })
    }

    /// The platform, for the loop's poll.
    pub fn platform(&mut self) -> &mut P {
        self.platform
    }

    /// One turn of the loop at monotonic time `now`: counters, DNS
    /// traffic, outgoing NOTIFYs, the git remote, ACME, and the events
    /// they raised.
    pub fn turn(&mut self, now: u64) {
        self.chores(now);
        self.net
            .poll_with(self.platform, now, &mut self.sockets.tcp);
        let (net, stats) = (&mut self.net, &mut self.stats);
        let mut busy = self.sockets.serve(net, &mut self.service, now, stats);
        let wall = self.platform.wall_clock_ns() / 1_000_000_000;
        let platform = &mut *self.platform;
        self.service.rotate_cookies(wall, || {
            let mut k = [0u8; 16];
            platform.fill_random(&mut k);
            k
        });
        let s = &mut self.sockets;
        busy |= s
            .notify
            .run(&mut self.net, &mut self.service.notifier, now, wall);
        if let Some(r) = s.resolver.as_mut() {
            busy |= r.run(&mut self.net, now);
        }
        busy |= self.sources(now, wall);
        if busy || self.service.holds.next_deadline().is_some_and(|t| t <= now) {
            let now = self.platform.monotonic_ns();
            self.net
                .poll_with(self.platform, now, &mut self.sockets.tcp);
            let (replies, resync) = dns::handle_events(self.platform, &mut self.service);
            self.deliver(replies, wall);
            let replies = self.with_sources(|sources, cx| {
                for zone in resync {
                    if let Some(s) = source::owner(sources, &zone) {
                        s.resync(cx, &zone, now);
                    }
                }
            });
            self.deliver(replies, wall);
        } else if self.growing {
            self.growing = self.sockets.tcp.grow(&mut self.net);
        }
    }

    /// Drive the zone sources, hand them the queued UPDATEs, and drive
    /// ACME; the answers they release go out.
    fn sources(&mut self, now: u64, wall: u64) -> bool {
        let mut busy = false;
        let replies = self.with_sources(|sources, cx| {
            for s in sources.iter_mut() {
                busy |= s.run(cx, now);
            }
            busy |= source::route_updates(sources, cx, now);
        });
        self.deliver(replies, wall);
        if let Some(a) = self.acme.as_mut() {
            let resolver = self.sockets.resolver.as_mut();
            busy |= a.run(
                self.platform,
                &mut self.net,
                &mut self.service,
                resolver,
                now,
            );
        }
        busy
    }

    /// Call `f` with the zone sources and what they may use; the answers
    /// they released.
    fn with_sources(&mut self, f: impl FnOnce(&mut Sources<P>, &mut Cx<P>)) -> Vec<Reply> {
        let mut replies = Vec::new();
        let mut cx = Cx {
            platform: &mut *self.platform,
            net: &mut self.net,
            dns: &mut self.service,
            storage: &mut self.storage,
            resolver: self.sockets.resolver.as_mut(),
            replies: &mut replies,
        };
        f(&mut self.sources, &mut cx);
        replies
    }

    /// Send answers held back until a push or a fetch (UPDATEs, NOTIFYs);
    /// the appliance's own UPDATE answers go to ACME.
    fn deliver(&mut self, replies: Vec<Reply>, wall: u64) {
        for r in replies {
            if r.internal {
                if let Some(a) = self.acme.as_mut() {
                    a.committed(&r.msg, wall);
                }
                continue;
            }
            let net = &mut self.net;
            if self.sockets.send_to(net, r.transport, r.peer, &r.msg) {
                self.service.stats.count(r.transport, &r.msg);
            } else {
                log::warn!("a held-back answer to {} could not be sent", r.peer);
            }
        }
    }

    /// When [`App::turn`] must run again at the latest: the earliest of
    /// every part's own deadline.
    pub fn next_deadline(&mut self) -> u64 {
        let now = self.platform.monotonic_ns();
        let unix = self.platform.wall_clock_ns() / 1_000_000_000;
        let s = &self.sockets;
        let debug = log::log_enabled!(log::Level::Debug);
        let parts = [
            self.net.poll_at_ns(now),
            Some(now + IDLE_POLL_NS),
            s.tcp.next_deadline(),
            self.service.notifier.next_deadline(),
            self.service.holds.next_deadline(),
            self.sources.iter().filter_map(|s| s.next_deadline()).min(),
            s.resolver.as_ref().and_then(|r| r.next_deadline()),
            self.acme.as_ref().map(|a| a.next_deadline(now, unix)),
            self.chores.next_due(debug, self.platform.metrics_enabled()),
        ];
        parts.into_iter().flatten().min().unwrap_or(u64::MAX)
    }

    /// Log the counters and hand the metrics to the tender when due.
    fn chores(&mut self, now: u64) {
        if self.chores.report_due(now) {
            self.log_counters();
        }
        if self
            .chores
            .metrics_due(now, self.platform.metrics_enabled())
        {
            let mut t = gitns_net::metrics::Text::new();
            if let Some(a) = self.acme.as_ref() {
                a.metrics(&mut t);
            }
            let own = metrics::Own {
                heap: self.platform.heap_usage(),
                failed_writes: self.storage.failed_writes(),
            };
            let (d, s, st) = (&self.service, &self.sockets, &self.stats);
            let mut text = metrics::render(t, d, s, st, own);
            for s in &self.sources {
                s.metrics(&mut text);
            }
            if let Some(text) = self.chores.changed(text) {
                self.platform.report_metrics(text.as_bytes());
            }
        }
    }

    /// The counters, at debug level.
    fn log_counters(&self) {
        let (st, d) = (&self.stats, &self.service);
        metrics::log_counters(&self.net, &self.sockets, st, d);
        for s in &self.sources {
            s.log_counters();
        }
    }
}

/// The zone sources of `cfg`, first the one asked first: the git remote
/// when there is one, else the storage cache. A new source is added here
/// (docs/design.md, "Zone sources behind one interface"); each takes up
/// the zones restored from the storage cache.
fn zone_sources<P: Platform>(cfg: &Config, dns: &mut Dns, now: u64) -> Sources<P> {
    let mut sources: Sources<P> = Vec::new();
    sources.push(alloc::boxed::Box::new(
        crate::source::refresh::Refresh::default(),
    ));
    if let Some(c) = &cfg.catalog {
        sources.push(alloc::boxed::Box::new(CatalogSource::new(c.clone())));
    }
    if let Some(s) = SecondarySource::from_config(cfg, now) {
        // NOTIFYs and transfers are checked against the primary's keys.
        dns.zones.keys.extend_from_slice(s.keys());
        sources.push(alloc::boxed::Box::new(s));
    } else if let Some(g) = GitRemote::from_config(cfg, now) {
        sources.push(alloc::boxed::Box::new(g));
    } else if let Some(p) = PublicRemote::from_config(cfg, now) {
        sources.push(alloc::boxed::Box::new(p));
    } else {
        sources.push(alloc::boxed::Box::new(StorageSource));
    }
    for s in sources.iter_mut() {
        s.restore(dns, now);
    }
    sources
}

/// A MAC address as `aa:bb:cc:dd:ee:ff`.
struct Mac([u8; 6]);

impl core::fmt::Display for Mac {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}
