//! gitns: the appliance. Command-line configuration and the main loop that
//! moves bytes between the network stack and the protocol cores. Generic over
//! [`gitns_net::Platform`], so the same code runs in the hvt image and as a
//! Linux process (boot/unix).
#![no_std]
extern crate alloc;

pub mod acme;
pub mod cache;
pub use gitns_config as config;
pub mod dns;
mod echo;
pub mod logger;
mod metrics;
mod notify;
pub mod remote;
pub mod resolve;
pub mod server;
pub mod tar;

use gitns_abi::exit;
use gitns_net::{Net, Platform};

/// How often the counters are logged (at debug level).
const REPORT_NS: u64 = 60_000_000_000;

/// Local UDP port outgoing NOTIFYs are sent from.
const NOTIFY_PORT: u16 = 40053;

/// How often counters go to the tender when it takes them.
const METRICS_NS: u64 = 1_000_000_000;

/// Longest sleep of the main loop when nothing is scheduled.
const IDLE_POLL_NS: u64 = 1_000_000_000;

/// Run the appliance; returns the exit status.
pub fn run<P: Platform>(platform: &mut P, cmdline: &str) -> i32 {
    let cfg = match config::parse(cmdline) {
        Ok(cfg) => cfg,
        Err(e) => {
            let console = platform.console_fn();
            console(b"gitns: ");
            console(alloc::format!("{e}\n").as_bytes());
            return exit::CONFIG;
        }
    };
    if cfg.help {
        platform.console_write(config::HELP.as_bytes());
        return exit::SUCCESS;
    }
    logger::init(
        cfg.log_level,
        platform.console_fn(),
        platform.wall_clock_fn(),
    );
    log::info!(
        "gitns {} starting: {} (mac {}, mtu {})",
        env!("CARGO_PKG_VERSION"),
        cfg.net.ipv4,
        Mac(platform.mac()),
        platform.mtu()
    );
    let mut net = Net::new(platform, &cfg.net);
    let mut echo = match cfg.udp_echo.map(|port| echo::Echo::bind(&mut net, port)) {
        None => None,
        Some(Ok(e)) => Some(e),
        Some(Err(e)) => {
            log::error!("udp echo: cannot bind: {e}");
            return exit::CONFIG;
        }
    };
    if let Some(port) = cfg.udp_echo {
        log::info!("udp echo listening on port {port}");
    }
    let contents = match dns::read_cache(platform) {
        Ok(c) => c,
        Err(e) => {
            log::error!("{e}; starting without cached zones");
            cache::Contents::default()
        }
    };
    let (zones, report, cache) = dns::load_cache(contents, None);
    let policy = gitns_dns::authority::Policy {
        unsigned_axfr: cfg.axfr,
        ..cfg.answers.clone()
    };
    let mut service = dns::Dns::new(zones, platform.wall_clock_fn(), policy);
    dns::protect(platform, &mut service, &cfg);
    service.report(&report);
    let mut stats = server::Stats::default();
    let mut udp = match server::udp::UdpServer::bind(&mut net, cfg.dns_port) {
        Ok(u) => u,
        Err(e) => {
            log::error!("dns: cannot bind UDP port {}: {e}", cfg.dns_port);
            return exit::CONFIG;
        }
    };
    let tcp_cfg = server::tcp::TcpConfig {
        port: cfg.dns_port,
        limits: server::tcp_pool::Limits {
            clients: cfg.tcp.clients,
            per_source: cfg.tcp.per_source,
            ..server::tcp::TcpConfig::default().limits
        },
        idle_ns: cfg.tcp.idle_s * 1_000_000_000,
        ..Default::default()
    };
    let mut tcp = match server::tcp::TcpServer::bind(&mut net, tcp_cfg) {
        Ok(t) => t,
        Err(e) => {
            log::error!("dns: cannot listen on TCP port {}: {e}", cfg.dns_port);
            return exit::CONFIG;
        }
    };
    service.keepalive = Some((tcp_cfg.idle_ns / 100_000_000).min(u16::MAX as u64) as u16);
    service.own.push(cfg.net.ipv4.address().octets());
    service.cache = cache;
    let mut notify_sock = match notify::NotifySocket::bind(&mut net, NOTIFY_PORT) {
        Ok(s) => s,
        Err(e) => {
            log::error!("notify: cannot bind UDP port {NOTIFY_PORT}: {e}");
            return exit::CONFIG;
        }
    };
    let mut git = remote::GitRemote::from_config(&cfg, platform.monotonic_ns());
    let mut acme = acme::Acme::from_config(&cfg.acme);
    let mut resolver = match cfg.resolver {
        None => None,
        Some(ip) => {
            let port = platform.ephemeral_port();
            match resolve::Resolver::bind(&mut net, ip.into(), port) {
                Ok(r) => Some(r),
                Err(e) => {
                    log::error!("resolve: cannot bind UDP port {port}: {e}");
                    return exit::CONFIG;
                }
            }
        }
    };
    service.defer_updates = git.is_some();
    if let Some(r) = &cfg.remote {
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
    let mut next_report = platform.monotonic_ns() + REPORT_NS;
    let mut next_metrics = platform.monotonic_ns();
    let mut last_metrics = alloc::string::String::new();
    // Big TCP send buffers are made on idle turns after ready, one socket
    // a turn (~1.6 ms each under PVM): not on the way to the first answer.
    let mut growing = true;
    loop {
        let now = platform.monotonic_ns();
        if now >= next_report {
            next_report = now + REPORT_NS;
            log::debug!(
                "counters: udp in {} out {} dropped {}, tcp conns {} open {} in {} out {} timeouts {} evicted {} refused {} stalled {}, answered {} dropped {}, frames in {} out {}, notifies pending {}",
                stats.udp_in, stats.udp_out, stats.udp_dropped, stats.tcp_conns, tcp.open(), stats.tcp_in, stats.tcp_out, stats.tcp_timeouts, stats.tcp_evicted, stats.tcp_refused, stats.tcp_stalled,
                service.stats.answered, service.stats.dropped, net.frames_in, net.frames_out, service.notifier.pending()
            );
            if let Some(g) = &git {
                let s = g.stats;
                log::debug!(
                    "counters: git fetches {} failed {}, pushes {} rejected {} failed {}",
                    s.fetches,
                    s.fetch_failures,
                    s.pushes,
                    s.push_rejections,
                    s.push_failures
                );
            }
        }
        if platform.metrics_enabled() && now >= next_metrics {
            next_metrics = now + METRICS_NS;
            let out = (notify_sock.sent, notify_sock.answered);
            let heap = platform.heap_usage();
            let text = metrics::render(&service, &stats, out, heap, git.as_ref(), acme.as_ref());
            if text != last_metrics {
                platform.report_metrics(text.as_bytes());
                last_metrics = text;
            }
        }
        net.poll_with(platform, now, &mut tcp);
        let mut busy = udp.serve(
            &mut net,
            &mut service,
            &mut dns::PlatformStore(platform),
            now,
            &mut stats,
        ) > 0;
        busy |= tcp.serve(
            &mut net,
            &mut service,
            &mut dns::PlatformStore(platform),
            now,
            &mut stats,
        );
        if let Some(e) = echo.as_mut() {
            busy |= e.serve(&mut net) > 0;
        }
        let wall = platform.wall_clock_ns() / 1_000_000_000;
        service.rotate_cookies(wall, || {
            let mut k = [0u8; 16];
            platform.fill_random(&mut k);
            k
        });
        busy |= notify_sock.run(&mut net, &mut service.notifier, now, wall);
        if let Some(r) = resolver.as_mut() {
            busy |= r.run(&mut net, now);
        }
        // Answers held back until a push or a fetch (UPDATEs, NOTIFYs).
        macro_rules! deliver {
            ($replies:expr) => {
                Out {
                    net: &mut net,
                    udp: &mut udp,
                    tcp: &mut tcp,
                    acme: acme.as_mut(),
                    service: &mut service,
                }
                .deliver($replies, wall)
            };
        }
        if let Some(g) = git.as_mut() {
            let (moved, replies) = g.run(platform, &mut net, &mut service, resolver.as_mut(), now);
            busy |= moved;
            deliver!(replies);
        }
        if let Some(a) = acme.as_mut() {
            busy |= a.run(platform, &mut net, &mut service, resolver.as_mut(), now);
        }
        if busy || service.holds.next_deadline().is_some_and(|t| t <= now) {
            let now = platform.monotonic_ns();
            net.poll_with(platform, now, &mut tcp);
            let replies = dns::handle_events(platform, &mut service, git.as_mut());
            deliver!(replies);
        } else if growing {
            growing = tcp.grow(&mut net);
        }
        let now = platform.monotonic_ns();
        let deadline = net
            .poll_at_ns(now)
            .unwrap_or(u64::MAX)
            .min(now + IDLE_POLL_NS)
            .min(tcp.next_deadline().unwrap_or(u64::MAX))
            .min(service.notifier.next_deadline().unwrap_or(u64::MAX))
            .min(service.holds.next_deadline().unwrap_or(u64::MAX))
            .min(git.as_ref().map_or(u64::MAX, |g| g.next_deadline()))
            .min(
                resolver
                    .as_ref()
                    .and_then(|r| r.next_deadline())
                    .unwrap_or(u64::MAX),
            )
            .min(acme.as_ref().map_or(u64::MAX, |a| {
                a.next_deadline(now, platform.wall_clock_ns() / 1_000_000_000)
            }))
            .min(if platform.metrics_enabled() {
                next_metrics
            } else {
                u64::MAX
            })
            .min(if log::log_enabled!(log::Level::Debug) {
                next_report
            } else {
                u64::MAX
            });
        platform.poll(deadline);
    }
}

/// Where held-back answers go out.
struct Out<'a> {
    net: &'a mut Net,
    udp: &'a mut server::udp::UdpServer,
    tcp: &'a mut server::tcp::TcpServer,
    acme: Option<&'a mut acme::Acme>,
    service: &'a mut dns::Dns,
}

impl Out<'_> {
    /// Send answers held back until a push or a fetch (UPDATEs, NOTIFYs);
    /// the appliance's own UPDATE answers go to ACME.
    fn deliver(&mut self, replies: alloc::vec::Vec<dns::Reply>, wall: u64) {
        for r in replies {
            if r.internal {
                if let Some(a) = self.acme.as_deref_mut() {
                    a.committed(&r.msg, wall);
                }
                continue;
            }
            let sent = match r.transport {
                server::Transport::Udp => self.udp.send_to(self.net, r.peer, &r.msg),
                server::Transport::Tcp => self.tcp.send_to(self.net, r.peer, &r.msg),
            };
            if sent {
                self.service.stats.count(r.transport, &r.msg);
            } else {
                log::warn!("a held-back answer to {} could not be sent", r.peer);
            }
        }
    }
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
