//! The DNS service of the appliance: the zone set its zone sources fill,
//! answered through the transport layer ([`crate::Handler`]), with the
//! cookie and rate-limit protection, the UPDATE queue the App drains into
//! a zone source's sink, NOTIFYs held for a fetch, and the per-zone status.
//! Knows no zone source: the App (src/app.rs) routes its events.

mod answer;
mod dnssec;
mod events;
mod metrics;
mod protect;
mod stats;
mod status;

pub use events::{handle_events, notify_risen};
pub use stats::DnsStats;
pub use status::{log_report, ZoneStatus};

use crate::{Handled, Handler, Transport};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use gitns_config::Config;
use gitns_dns::authority::{self, Ctx, Event, Policy};
use gitns_dns::notify_hold::{Gate, Holds};
use gitns_dns::prepare::Prepared;
use gitns_dns::transfer::Transfer;
use gitns_dns::zoneset::ZoneSet;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Platform;

/// The authoritative service.
pub struct Dns {
    pub zones: ZoneSet,
    buf: Vec<u8>,
    pub stats: DnsStats,
    /// Wall clock (ns since the epoch), for TSIG.
    wall: fn() -> u64,
    /// Events from requests (signed NOTIFY), for the main loop.
    events: Vec<Event>,
    policy: Policy,
    /// Server cookie secrets (RFC 7873); None: cookies off.
    cookies: Option<gitns_dns::cookie::Secrets>,
    /// Response rate limiting of UDP answers; None: off.
    pub rrl: Option<gitns_dns::rrl::Rrl>,
    /// MTU of the service interface: no UDP answer exceeds one packet.
    mtu: usize,
    /// The TCP idle timeout in 100 ms units, for edns-tcp-keepalive.
    keepalive: Option<u16>,
    /// Outgoing NOTIFYs to secondaries.
    pub notifier: gitns_dns::notify_out::Notifier,
    /// Our own addresses (never notified).
    pub own: Vec<[u8; 4]>,
    /// UPDATEs waiting to be prepared and made durable, oldest first
    /// (the App hands them to the zone source's sink one at a time).
    pub deferred: alloc::collections::VecDeque<Deferred>,
    /// Per zone (by name): last change and last error, for /status.
    pub zone_status: alloc::collections::BTreeMap<String, ZoneStatus>,
    /// NOTIFYs for zones not served yet by keys not known yet, waiting
    /// for a fetch (or a reload from storage), and the rate limit of the
    /// fetches they may force (`notify_hold`).
    pub holds: Holds<(IpEndpoint, Transport)>,
    gate: Gate,
    /// Hosts that asked for the root SOA with a transfer key: NOTIFY them
    /// every zone the key may transfer (seed 001).
    asked: Vec<(IpEndpoint, gitns_dns::keys::Key)>,
}

/// A response held back (until a push, a fetch), ready to send.
pub struct Reply {
    pub peer: IpEndpoint,
    pub transport: Transport,
    pub msg: Vec<u8>,
    /// The answer to the appliance's own UPDATE (ACME), not a client's.
    pub internal: bool,
}

/// An UPDATE waiting its turn, and where its answer goes.
#[derive(Clone, Debug)]
pub struct Deferred {
    pub msg: Vec<u8>,
    pub peer: IpEndpoint,
    pub transport: Transport,
    /// From the appliance itself (ACME writing a certificate back): no
    /// TSIG needed, the answer goes back to the appliance.
    pub internal: bool,
}

/// UPDATEs queued at most; more are dropped (the client retries).
const MAX_DEFERRED: usize = 64;

/// Is `msg` an UPDATE (RFC 2136 2.2, opcode 5)?
fn is_update(msg: &[u8]) -> bool {
    msg.len() >= 12 && msg[2] & 0x80 == 0 && (msg[2] >> 3) & 0x0f == 5
}

impl Dns {
    /// The service for `cfg` on `platform` (cookie and rate-limit secrets
    /// from its CSPRNG, its MTU), serving `zones`.
    pub fn new<P: Platform>(platform: &mut P, cfg: &Config, zones: ZoneSet) -> Dns {
        let policy = Policy {
            unsigned_axfr: cfg.axfr,
            ..cfg.answers.clone()
        };
        let idle_100ms = cfg.tcp.idle_s.saturating_mul(10);
        let (cookies, rrl) = protect::protect(platform, cfg);
        Dns {
            zones,
            buf: vec![0; 65_535],
            stats: DnsStats::default(),
            wall: platform.wall_clock_fn(),
            events: Vec::new(),
            policy,
            cookies,
            rrl,
            mtu: platform.mtu(),
            keepalive: Some(idle_100ms.min(u16::MAX as u64) as u16),
            notifier: Default::default(),
            own: alloc::vec![cfg.net.ipv4.address().octets()],
            deferred: Default::default(),
            zone_status: Default::default(),
            holds: Holds::default(),
            gate: Gate::default(),
            asked: Vec::new(),
        }
    }

    /// Events raised since the last call.
    pub fn take_events(&mut self) -> Vec<Event> {
        core::mem::take(&mut self.events)
    }

    /// Events the git side raises (an UPDATE pushed: NOTIFY secondaries).
    pub fn push_event(&mut self, e: Event) {
        self.events.push(e);
    }

    /// Prepare the UPDATE `d` against the zones as they are now: the
    /// change, applied and not yet durable, or the answer that ends it
    /// (refused, a prerequisite failed, nothing to change).
    pub fn prepare(&mut self, d: &Deferred) -> Prepare {
        let mut first = None;
        // UPDATEs only: never a zone transfer to stream.
        let ask = Ask {
            peer: d.peer,
            transport: d.transport,
            hold: None,
            now_ns: 0,
        };
        match self.serve(&d.msg, ask, d.internal, &mut None, &mut |m| {
            first.get_or_insert_with(|| m.to_vec());
        }) {
            Some(Event::Prepared(p)) => Prepare::Change(p),
            _ => Prepare::Answer(first),
        }
    }

    /// The answer to the UPDATE `d`, to send.
    pub fn update_reply(&mut self, d: &Deferred, msg: Vec<u8>) -> Reply {
        if !d.internal {
            self.stats.answered += 1;
        }
        Reply {
            peer: d.peer,
            transport: d.transport,
            msg,
            internal: d.internal,
        }
    }

    fn serve(
        &mut self,
        msg: &[u8],
        ask: Ask,
        internal: bool,
        pending: &mut Option<Transfer>,
        emit: &mut dyn FnMut(&[u8]),
    ) -> Option<Event> {
        let client = ip(ask.peer);
        let mut ctx = Ctx::new(ask.transport, (self.wall)() / 1_000_000_000, &self.policy);
        ctx.mono_ms = ask.now_ns / 1_000_000;
        ctx.internal = internal;
        ctx.hold = !internal && ask.hold.is_some();
        ctx.client = client;
        ctx.path_max = gitns_dns::ctx::udp_path_max(self.mtu, client);
        ctx.keepalive = self.keepalive;
        ctx.cookies = self.cookies.as_ref();
        ctx.rrl = self.rrl.as_mut();
        authority::serve_streamed(&mut self.zones, msg, &mut ctx, &mut self.buf, emit, pending)
    }

    /// Rotate the cookie secret when due (RFC 9018 4.4): `fresh` comes
    /// from the CSPRNG, `wall` is seconds since the epoch.
    pub fn rotate_cookies(&mut self, wall: u64, fresh: impl FnOnce() -> [u8; 16]) {
        if let Some(c) = self.cookies.as_mut().filter(|c| c.due(wall)) {
            c.rotate(fresh(), wall);
        }
    }
}

impl Handler for Dns {
    fn handle(
        &mut self,
        msg: &[u8],
        peer: IpEndpoint,
        transport: Transport,
        now_ns: u64,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled {
        if is_update(msg) {
            if self.deferred.len() >= MAX_DEFERRED {
                log::warn!("UPDATE from {peer} dropped: {MAX_DEFERRED} are waiting already");
                return Handled::Done;
            }
            self.deferred.push_back(Deferred {
                msg: msg.to_vec(),
                peer,
                transport,
                internal: false,
            });
            return Handled::Later;
        }
        let ask = Ask {
            peer,
            transport,
            hold: Some(now_ns),
            now_ns,
        };
        self.answer(msg, ask, false, reply)
    }
}

/// A prepared UPDATE, or the answer that ends it now.
pub enum Prepare {
    Change(alloc::boxed::Box<Prepared>),
    Answer(Option<Vec<u8>>),
}

/// Who asked, and whether a NOTIFY may be held (at monotonic time `now`);
/// `now_ns`: when (monotonic), for rate limiting.
#[derive(Clone, Copy)]
struct Ask {
    peer: IpEndpoint,
    transport: Transport,
    hold: Option<u64>,
    now_ns: u64,
}

/// The address of a peer as the DNS core sees it.
fn ip(peer: IpEndpoint) -> core::net::IpAddr {
    use gitns_net::smoltcp::wire::IpAddress;
    match peer.addr {
        IpAddress::Ipv4(a) => core::net::IpAddr::V4(a),
        IpAddress::Ipv6(a) => core::net::IpAddr::V6(a),
    }
}

impl Dns {
    /// An UPDATE of the appliance's own (a certificate written back): it
    /// waits its turn like any UPDATE and its answer comes back as an
    /// internal reply.
    pub fn submit_internal(&mut self, msg: Vec<u8>) {
        self.deferred.push_back(Deferred {
            msg,
            peer: IpEndpoint::new(gitns_net::smoltcp::wire::IpAddress::v4(0, 0, 0, 0), 0),
            transport: Transport::Tcp,
            internal: true,
        });
    }
}
