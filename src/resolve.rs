//! Host names to addresses: the UDP socket to the configured recursive
//! resolver (`--resolver=IP`) and the glue between it and the sans-I/O
//! [`gitns_dns::stub`] lookups, with a TTL cache. IPv4 (A) only for now.
//!
//! Non-blocking: [`Resolver::resolve`] answers from an IP literal or the
//! cache, or starts a lookup that the next [`Resolver::run`] sends; callers
//! ask again later (e.g. on their next retry) and get the address.

use alloc::vec::Vec;
use gitns_dns::name::Name;
use gitns_dns::stub::{Cache, Lookup, Progress, QType, StubError};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint};
use gitns_net::Net;

/// A failed lookup is reported for this long before a new one may start.
const FAILURE_HOLD_NS: u64 = 5_000_000_000;
/// Lookups in flight at once.
const MAX_PENDING: usize = 16;

/// The answer of [`Resolver::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveState {
    Ready(IpAddress),
    /// A lookup is under way: ask again later.
    Pending,
    Failed(StubError),
}

struct Pending {
    lookup: Lookup,
    /// The query is due to be (re)sent on the next `run`.
    send: bool,
}

/// The stub resolver of the appliance.
pub struct Resolver {
    server: IpEndpoint,
    socket: SocketHandle,
    pending: Vec<Pending>,
    /// Recent failures: (name, reason, reported until).
    failed: Vec<(Name, StubError, u64)>,
    cache: Cache,
}

fn ms(ns: u64) -> u64 {
    ns / 1_000_000
}

impl Resolver {
    /// A resolver asking `server` (port 53) from UDP `local_port`.
    pub fn bind(
        net: &mut Net,
        server: IpAddress,
        local_port: u16,
    ) -> Result<Resolver, udp::BindError> {
        Ok(Resolver {
            server: IpEndpoint::new(server, 53),
            socket: net.bind_udp(local_port, 16, 16 * 1024)?,
            pending: Vec::new(),
            failed: Vec::new(),
            cache: Cache::default(),
        })
    }

    /// The IPv4 address of `name` (an IP literal is its own answer). Starts
    /// a lookup when needed; a lookup already under way is not restarted.
    pub fn resolve(
        &mut self,
        name: &str,
        now_ns: u64,
        rng: &mut dyn FnMut() -> u16,
    ) -> ResolveState {
        if let Ok(ip) = name.parse::<core::net::IpAddr>() {
            return ResolveState::Ready(ip.into());
        }
        let Ok(qname) = Name::parse(name, &Name::root()) else {
            return ResolveState::Failed(StubError::BadName);
        };
        if let Some(a) = self.cache.get(&qname, QType::A, ms(now_ns)) {
            return ResolveState::Ready(a.addrs[0].into());
        }
        self.failed.retain(|f| f.2 > now_ns);
        if let Some(f) = self.failed.iter().find(|f| f.0 == qname) {
            return ResolveState::Failed(f.1);
        }
        if self.pending.iter().any(|p| *p.lookup.name() == qname) {
            return ResolveState::Pending;
        }
        if self.pending.len() >= MAX_PENDING {
            return ResolveState::Pending;
        }
        match Lookup::new(name, QType::A, rng(), ms(now_ns)) {
            Ok(lookup) => {
                log::debug!("resolve: asking {} for {qname}", self.server);
                self.pending.push(Pending { lookup, send: true });
                ResolveState::Pending
            }
            Err(e) => ResolveState::Failed(e),
        }
    }

    /// Send due queries, take in responses, retransmit or give up on
    /// timeouts. Returns true when it did anything.
    pub fn run(&mut self, net: &mut Net, now_ns: u64) -> bool {
        let now = ms(now_ns);
        let sock = net.sockets.get_mut::<udp::Socket>(self.socket);
        let mut busy = false;
        let mut done: Vec<(usize, Progress)> = Vec::new();
        while let Ok((msg, meta)) = sock.recv() {
            busy = true;
            if meta.endpoint != self.server {
                log::debug!("resolve: ignored a datagram from {}", meta.endpoint);
                continue;
            }
            let hit = self.pending.iter_mut().enumerate().find_map(|(i, p)| {
                match p.lookup.on_response(msg, now) {
                    Progress::Waiting => None,
                    progress => Some((i, progress)),
                }
            });
            match hit {
                Some(d) => done.push(d),
                None => log::debug!("resolve: ignored an unmatched response"),
            }
        }
        for (i, p) in self.pending.iter_mut().enumerate() {
            match p.lookup.on_timeout(now) {
                Progress::Waiting => {}
                Progress::Send => p.send = true,
                progress => done.push((i, progress)),
            }
            if p.send && !p.lookup.is_finished() {
                busy = true;
                match sock.send_slice(p.lookup.query(), self.server) {
                    Ok(()) => p.send = false,
                    Err(e) => log::debug!("resolve: cannot send to {}: {e}", self.server),
                }
            }
        }
        done.sort_by_key(|d| core::cmp::Reverse(d.0));
        for (i, progress) in done {
            busy = true;
            let lookup = self.pending.swap_remove(i).lookup;
            self.finish(&lookup, progress, now_ns);
        }
        busy
    }

    fn finish(&mut self, lookup: &Lookup, progress: Progress, now_ns: u64) {
        let name = lookup.name();
        let err = match progress {
            Progress::Done(a) => {
                log::info!("resolve: {name} -> {} (ttl {})", a.addrs[0], a.ttl);
                self.cache.insert(name, QType::A, &a, ms(now_ns));
                return;
            }
            Progress::Failed(e) => e,
            Progress::RetryTcp => StubError::Truncated,
            Progress::Waiting | Progress::Send => return,
        };
        log::warn!("resolve: {name}: {err} (resolver {})", self.server);
        self.failed
            .push((name.clone(), err, now_ns.saturating_add(FAILURE_HOLD_NS)));
    }

    /// Monotonic nanoseconds at which `run` is next needed.
    pub fn next_deadline(&self) -> Option<u64> {
        self.pending
            .iter()
            .filter_map(|p| {
                if p.send {
                    Some(0)
                } else {
                    p.lookup
                        .next_deadline()
                        .map(|d| d.saturating_mul(1_000_000))
                }
            })
            .min()
    }
}
