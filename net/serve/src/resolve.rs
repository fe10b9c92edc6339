//! Host names to addresses: the UDP socket to the configured recursive
//! resolver (`--resolver=IP`) pumping the sans-I/O
//! [`gitns_dns::resolver::Resolver`] (lookups, TTL cache, failures held).
//! IPv4 (A) only for now.
//!
//! Non-blocking: [`Resolver::resolve`] answers from an IP literal or the
//! cache, or starts a lookup that the next [`Resolver::run`] sends; callers
//! ask again later (e.g. on their next retry) and get the address.

use alloc::format;
use alloc::string::String;
use gitns_dns::resolver::{self, Resolved};
use gitns_dns::stub::StubError;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint, Ipv4Address};
use gitns_net::Net;

/// The answer of [`Resolver::resolve`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveState {
    Ready(IpAddress),
    /// A lookup is under way: ask again later.
    Pending,
    Failed(StubError),
}

/// The IPv4 address of `host` for a connection: an IPv4 literal, or
/// through `resolver` (`--resolver`); Ok(None) while the lookup runs, Err
/// (why, for the log) when there is none.
pub fn ipv4_of(
    resolver: Option<&mut Resolver>,
    host: &str,
    now_ns: u64,
    rng: &mut dyn FnMut() -> u16,
) -> Result<Option<Ipv4Address>, String> {
    if let Ok(ip) = host.parse::<Ipv4Address>() {
        return Ok(Some(ip));
    }
    let Some(r) = resolver else {
        return Err(format!("{host} is a name and there is no --resolver"));
    };
    match r.resolve(host, now_ns, rng) {
        ResolveState::Ready(IpAddress::Ipv4(ip)) => Ok(Some(ip)),
        ResolveState::Ready(other) => Err(format!("{host} resolves to {other}, not IPv4")),
        ResolveState::Pending => Ok(None),
        ResolveState::Failed(e) => Err(format!("cannot resolve {host}: {e:?}")),
    }
}

/// The stub resolver of the appliance: its socket and the core.
pub struct Resolver {
    server: IpEndpoint,
    socket: SocketHandle,
    core: resolver::Resolver,
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
            core: resolver::Resolver::new(),
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
        let before = self.core.in_flight();
        match self.core.resolve(name, now_ns, rng) {
            Resolved::Ready(ip) => ResolveState::Ready(ip.into()),
            Resolved::Failed(e) => ResolveState::Failed(e),
            Resolved::Pending => {
                if self.core.in_flight() > before {
                    log::debug!("resolve: asking {} for {name}", self.server);
                }
                ResolveState::Pending
            }
        }
    }

    /// Send due queries, take in responses, retransmit or give up on
    /// timeouts. Returns true when it did anything.
    pub fn run(&mut self, net: &mut Net, now_ns: u64) -> bool {
        let sock = net.sockets.get_mut::<udp::Socket>(self.socket);
        let mut busy = false;
        while let Ok((msg, meta)) = sock.recv() {
            busy = true;
            if meta.endpoint != self.server {
                log::debug!("resolve: ignored a datagram from {}", meta.endpoint);
            } else if !self.core.on_response(msg, now_ns) {
                log::debug!("resolve: ignored an unmatched response");
            }
        }
        let (server, socket) = (self.server, self.socket);
        let done = self.core.poll(now_ns, &mut |query| {
            busy = true;
            // Through the neighbour table: a resolver on the link that
            // stopped answering ARP holds no datagram at the socket's head.
            let sent = net.send_udp(socket, query, server);
            if let Err(e) = sent {
                log::debug!("resolve: cannot send to {server}: {e}");
            }
            sent.is_ok()
        });
        for f in &done {
            match &f.outcome {
                Ok(a) => log::info!("resolve: {} -> {} (ttl {})", f.name, a.addrs[0], a.ttl),
                Err(e) => log::warn!("resolve: {}: {e} (resolver {server})", f.name),
            }
        }
        busy || !done.is_empty()
    }

    /// Monotonic nanoseconds at which `run` is next needed.
    pub fn next_deadline(&self) -> Option<u64> {
        self.core.next_deadline()
    }
}
