//! The DNS service of the appliance: the zone set its zone sources fill
//! (`crate::source`), answering through the transport layer.

use crate::config::Config;
use crate::server::{Handled, Handler, Transport};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use gitns_dns::authority::{self, Ctx, Event, Policy, Transport as DnsTransport};
use gitns_dns::notify_hold::{Gate, Held, Holds};
use gitns_dns::prepare::Prepared;
use gitns_dns::transfer::Transfer;
use gitns_dns::zoneset::{LoadReport, ZoneSet};
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Platform;

/// Counters of answered traffic.
#[derive(Clone, Copy, Debug, Default)]
pub struct DnsStats {
    pub answered: u64,
    pub dropped: u64,
    /// Responses by transport (0 UDP, 1 TCP) and RCODE (low 4 bits).
    pub rcodes: [[u64; 16]; 2],
    /// NOTIFY and UPDATE answers by RCODE.
    pub notify: [u64; 16],
    pub update: [u64; 16],
}

impl DnsStats {
    /// Count the first response message to a request.
    pub fn count(&mut self, transport: Transport, resp: &[u8]) {
        let (Some(&b2), Some(&b3)) = (resp.get(2), resp.get(3)) else {
            return;
        };
        let rcode = (b3 & 0x0f) as usize;
        self.rcodes[(transport == Transport::Tcp) as usize][rcode] += 1;
        match (b2 >> 3) & 0x0f {
            4 => self.notify[rcode] += 1,
            5 => self.update[rcode] += 1,
            _ => {}
        }
    }
}

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
        let (cookies, rrl) = protect(platform, cfg);
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
        let t = match ask.transport {
            Transport::Udp => DnsTransport::Udp,
            Transport::Tcp => DnsTransport::Tcp,
        };
        let client = ip(ask.peer);
        let mut ctx = Ctx::new(t, (self.wall)() / 1_000_000_000, &self.policy);
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

/// Cookie secrets and the rate limiter from the configuration (secrets
/// from the platform's CSPRNG).
fn protect<P: Platform>(
    platform: &mut P,
    cfg: &Config,
) -> (
    Option<gitns_dns::cookie::Secrets>,
    Option<gitns_dns::rrl::Rrl>,
) {
    let wall = platform.wall_clock_ns() / 1_000_000_000;
    let mut key = [0u8; 16];
    let mut cookies = None;
    if cfg.cookies {
        platform.fill_random(&mut key);
        cookies = Some(gitns_dns::cookie::Secrets::new(key, wall));
    }
    let mut rrl = None;
    if cfg.rrl.rate > 0 {
        platform.fill_random(&mut key);
        let slots = gitns_dns::rrl::DEFAULT_SLOTS;
        rrl = Some(gitns_dns::rrl::Rrl::new(cfg.rrl.clone(), slots, key));
    }
    log::info!(
        "answers: UDP up to {} bytes (MTU {}), cookies {}, rate limit {}",
        cfg.answers.edns_udp_size,
        platform.mtu(),
        if cfg.cookies { "on" } else { "off" },
        match cfg.rrl.rate {
            0 => alloc::string::String::from("off"),
            r => alloc::format!("{r}/s slip {}", cfg.rrl.slip),
        }
    );
    (cookies, rrl)
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

    /// Answer `msg` now (UPDATEs are queued before: see [`Dns::prepare`]).
    fn answer(
        &mut self,
        msg: &[u8],
        ask: Ask,
        internal: bool,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled {
        let Ask {
            peer, transport, ..
        } = ask;
        let mut sent = false;
        let mut first = None;
        let mut pending = None;
        let event = self.serve(msg, ask, internal, &mut pending, &mut |m| {
            if !sent {
                first = m.get(..4).map(|h| [h[0], h[1], h[2], h[3]]);
            }
            sent = true;
            reply(m);
        });
        if !sent && pending.is_some() {
            // A zone transfer: its messages follow; the first is NOERROR.
            (sent, first) = (true, Some([0, 0, 0x84, 0]));
        }
        if let Some(h) = first {
            self.stats.count(transport, &h);
        }
        if sent {
            self.stats.answered += 1;
        } else if !matches!(event, Some(Event::Held { .. })) {
            self.stats.dropped += 1;
        }
        match event {
            Some(Event::Secondary { zone, key }) => {
                let new =
                    target(peer).is_some_and(|t| self.notifier.remember(t, zone.clone(), key));
                if new {
                    log::info!(
                        "{} asked for the SOA of {zone} with a transfer key: NOTIFY goes there too",
                        peer.addr
                    );
                }
            }
            Some(Event::SecondaryOfAll { key }) => {
                log::info!(
                    "{} asked for the root SOA with {}: NOTIFY for every zone it may transfer",
                    peer.addr,
                    key.name
                );
                self.asked.push((peer, key));
            }
            Some(Event::Held { zone, key }) => {
                return self.hold(msg, ask, zone, key, reply);
            }
            Some(Event::Prepared(mut p)) => {
                // Not reached: UPDATEs are queued, never answered here.
                p.withdraw(&mut self.zones);
                reply(&p.fail);
            }
            Some(Event::Transferred { zone, serial, kind }) => {
                use gitns_dns::transfer::Kind;
                let how = match kind {
                    Kind::Full => alloc::string::String::from("the whole zone"),
                    Kind::Incremental(n) => alloc::format!("incremental, {n} version(s)"),
                    Kind::Current => alloc::string::String::from("already current"),
                };
                log::info!("transfer of {zone} serial {serial} to {}: {how}", peer.addr);
            }
            Some(e) => self.events.push(e),
            None => {}
        }
        match pending {
            Some(t) => Handled::Transfer(alloc::boxed::Box::new(t)),
            None => Handled::Done,
        }
    }
}

impl Dns {
    /// A NOTIFY for `zone` (not served) whose key `key` is not known yet:
    /// kept until the next fetch (or reload) when the gate lets it force
    /// one or others already wait, answered now otherwise.
    fn hold(
        &mut self,
        msg: &[u8],
        ask: Ask,
        zone: gitns_dns::name::Name,
        key: gitns_dns::name::Name,
        reply: &mut dyn FnMut(&[u8]),
    ) -> Handled {
        let now = ask.hold.unwrap_or(0);
        let joins = self.holds.waiting();
        let kept = (joins || self.gate.allow(&key, now))
            && self
                .holds
                .hold(msg.to_vec(), (ask.peer, ask.transport), now);
        if !kept {
            log::warn!(
                "NOTIFY for {zone} (not served) from {} with unknown key {key}: no fetch for it now",
                ask.peer.addr
            );
            let ask = Ask { hold: None, ..ask };
            return self.answer(msg, ask, false, reply);
        }
        log::info!(
            "NOTIFY for {zone} (not served) from {} with key {key} not known yet: answered after the next fetch or reload",
            ask.peer.addr
        );
        if !joins {
            self.events.push(Event::Resync(zone));
        }
        Handled::Later
    }

    /// Answer held NOTIFYs with the zones and keys as they are now.
    pub fn release(&mut self, held: Vec<Held<(IpEndpoint, Transport)>>) -> Vec<Reply> {
        let mut out = Vec::new();
        for h in held {
            let (peer, transport) = h.peer;
            let ask = Ask {
                peer,
                transport,
                hold: None,
                now_ns: 0,
            };
            let mut first = None;
            // Its fetch (or reload) is done: the Resync it raises again
            // would only fetch once more.
            let events = self.events.len();
            self.answer(&h.msg, ask, false, &mut |m| {
                first.get_or_insert_with(|| m.to_vec());
            });
            self.events.truncate(events);
            out.extend(first.map(|msg| Reply {
                peer,
                transport,
                msg,
                internal: false,
            }));
        }
        out
    }

    /// Zones of `old` no longer served (their file left the source): no
    /// NOTIFY goes out for them, the status page forgets them.
    pub fn forget_removed(&mut self, old: &ZoneSet) {
        for zone in old.zones() {
            if self.zones.zone(&zone.origin).is_some() {
                continue;
            }
            log::info!("zone {} removed: no longer served", zone.origin);
            self.notifier.forget(&zone.origin);
            self.zone_status.remove(&zone.origin.to_text());
        }
    }
}

/// What the status page shows of a zone.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ZoneStatus {
    pub serial: u32,
    /// Unix time the zone last changed (loaded with a new serial, UPDATE).
    pub changed: u64,
    /// Why its file was last rejected (the zone served is the last good).
    pub error: Option<String>,
}

impl Dns {
    /// Log a load and keep its outcome per zone for the status page.
    pub fn report(&mut self, rep: &LoadReport) {
        log_report(rep);
        let now = (self.wall)() / 1_000_000_000;
        for (name, serial, _) in &rep.loaded {
            let st = self.zone_status.entry(name.clone()).or_default();
            if st.serial != *serial || st.changed == 0 {
                st.changed = now;
            }
            st.serial = *serial;
            st.error = None;
        }
        // "FILE:LINE:COL: what": the file names the zone. Key files are
        // left out: their errors must not reach any output.
        for e in &rep.errors {
            let file = e.split(':').next().unwrap_or("");
            if file.is_empty() || gitns_dns::zoneset::is_keys_file(file) {
                continue;
            }
            let zone = alloc::format!("{}.", file.trim_end_matches('.'));
            self.zone_status.entry(zone).or_default().error = Some(e.clone());
        }
    }

    /// An UPDATE (or ACME) changed `zone`.
    pub fn changed(&mut self, zone: &gitns_dns::name::Name) {
        let now = (self.wall)() / 1_000_000_000;
        let serial = self.zones.zone(zone).and_then(|z| z.serial()).unwrap_or(0);
        let st = self.zone_status.entry(zone.to_text()).or_default();
        (st.serial, st.changed) = (serial, now);
    }
}

/// Log what a load found.
pub fn log_report(rep: &LoadReport) {
    for (name, serial, records) in &rep.loaded {
        log::info!("zone {name} loaded: serial {serial}, {records} records");
    }
    for e in &rep.errors {
        log::error!("zone rejected: {e}");
    }
    for w in &rep.warnings {
        log::warn!("{w}");
    }
}

/// Act on the events of the requests answered: NOTIFY secondaries of
/// changed zones (RFC 1996). Returns the answers to held NOTIFYs now due,
/// and the zones a signed NOTIFY asked to resync: the App routes those to
/// their zone source (`crate::source`).
pub fn handle_events<P: Platform>(
    platform: &mut P,
    service: &mut Dns,
) -> (Vec<Reply>, Vec<gitns_dns::name::Name>) {
    notify_askers(platform, service);
    let mut resync = Vec::new();
    for ev in service.take_events() {
        match ev {
            Event::Updated(zone) => {
                service.changed(&zone);
                let now = platform.monotonic_ns();
                let mut ids = || platform.random_u16();
                if let Some(z) = service.zones.zone(&zone) {
                    if gitns_dns::dnssec::signed_offline(z) && !service.zones.signers.signs(&zone) {
                        log::warn!("zone {zone} is signed offline: the names this UPDATE changed have no valid signatures until it is signed again and pushed");
                    }
                    service
                        .notifier
                        .zone_changed(z, &service.zones, &service.own, now, &mut ids);
                }
            }
            Event::Resync(zone) => resync.push(zone),
            Event::Secondary { .. }
            | Event::SecondaryOfAll { .. }
            | Event::Held { .. }
            | Event::Prepared(_)
            | Event::Transferred { .. } => {}
        }
    }
    let held = service.holds.expired(platform.monotonic_ns());
    (service.release(held), resync)
}

/// NOTIFY each host that asked for the root SOA with a transfer key, for
/// every zone that key may transfer (seed 001), and keep it as a
/// secondary of those zones.
fn notify_askers<P: Platform>(platform: &mut P, service: &mut Dns) {
    let now = platform.monotonic_ns();
    for (peer, key) in core::mem::take(&mut service.asked) {
        let Some(target) = target(peer) else { continue };
        let mut ids = || platform.random_u16();
        let n = service
            .notifier
            .notify_all(&service.zones, target, &key, now, &mut ids);
        log::info!("NOTIFY to {} for {n} zone(s)", peer.addr);
    }
}

/// Schedule NOTIFYs for every zone whose serial rose compared with `old`
/// (all zones when `old` is None, at boot), RFC 1996 3.
pub fn notify_risen<P: Platform>(platform: &mut P, service: &mut Dns, old: Option<&ZoneSet>) {
    let now = platform.monotonic_ns();
    let mut ids = || platform.random_u16();
    let (n, zones) = (&mut service.notifier, &service.zones);
    n.zones_risen(zones, old, &service.own, now, &mut ids);
}

/// Where a NOTIFY to `peer` goes (port 53; IPv4 only for now).
fn target(peer: IpEndpoint) -> Option<gitns_dns::notify_out::Target> {
    let gitns_net::smoltcp::wire::IpAddress::Ipv4(a) = peer.addr else {
        return None;
    };
    Some(gitns_dns::notify_out::Target {
        addr: a.octets(),
        port: 53,
    })
}
