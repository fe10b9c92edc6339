//! The secondary as a zone source (issue 23): the sans-I/O core
//! ([`gitns_dns::secondary`]) given its sockets and clocks. Zones come
//! from the primaries the `--keys` name, by AXFR/IXFR over TCP after a SOA
//! query over UDP; each installed version is kept on the storage cache
//! (a reboot serves it at once, then checks it); NOTIFYs reach it through
//! the authority, which checks their TSIG against the same keys; UPDATEs
//! are answered NOTAUTH (docs/design.md, "The secondary in the appliance").

use super::xfr_link::XfrLink;
use super::{zone_changed, Cx, ZoneSource};
use crate::dns::Deferred;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddr;
use gitns_dns::name::Name;
use gitns_dns::secondary::source::{self, Primary};
use gitns_dns::secondary::{install, update_in, Action, Now, Secondary};
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::IpEndpoint;
use gitns_net::Platform;

/// Largest SOA answer over UDP taken in (a longer one is cut, fails to
/// parse and the check is retried).
const MAX_UDP: usize = 4096;

/// The secondary source.
pub struct SecondarySource {
    core: Secondary,
    keys: Vec<gitns_dns::keys::Key>,
    /// The UDP socket SOA queries leave from (bound at the first run).
    udp: Option<SocketHandle>,
    links: Vec<XfrLink>,
    closing: Vec<SocketHandle>,
    buf: Vec<u8>,
}

impl SecondarySource {
    /// The secondary `cfg` asks for: None unless a key names a primary.
    pub fn from_config(cfg: &crate::config::Config, now_ns: u64) -> Option<SecondarySource> {
        let s = &cfg.secondary;
        let at = s
            .primary
            .map_or(Primary::Named(source::PORT), Primary::Given);
        let mut ours = alloc::vec![core::net::IpAddr::V4(cfg.net.ipv4.address())];
        ours.extend(cfg.net.ipv6.map(|c| core::net::IpAddr::V6(c.address())));
        let sources = source::of_keys(&s.keys, at, &ours);
        let any = !sources.is_empty();
        let mut core = Secondary::new(sources, now_ns / 1_000_000);
        if let Some(c) = &s.catalog {
            core.consume(c.clone(), now_ns / 1_000_000);
        }
        any.then(|| SecondarySource {
            core,
            keys: s.keys.clone(),
            udp: None,
            links: Vec::new(),
            closing: Vec::new(),
            buf: alloc::vec![0; MAX_UDP],
        })
    }

    /// The TSIG keys the authority checks NOTIFYs and transfers with.
    pub fn keys(&self) -> &[gitns_dns::keys::Key] {
        &self.keys
    }
}

impl<P: Platform> ZoneSource<P> for SecondarySource {
    /// Zones read from the storage cache at boot: served already, checked
    /// now.
    fn restore(&mut self, dns: &crate::dns::Dns, now: u64) {
        self.core.restore_set(&dns.zones, now / 1_000_000);
    }

    fn run(&mut self, cx: &mut Cx<P>, now_ns: u64) -> bool {
        let wall = cx.platform.wall_clock_ns() / 1_000_000_000;
        let now = Now {
            mono_ms: now_ns / 1_000_000,
            wall,
        };
        let mut busy = self.receive_udp(cx, now);
        for i in (0..self.links.len()).rev() {
            let (msgs, closed) = self.links[i].pump(cx.net);
            busy |= closed || !msgs.is_empty() || self.links[i].more();
            if !self
                .core
                .on_stream(&self.links[i].zone.clone(), &msgs, closed, now)
            {
                self.links.remove(i).close(cx.net, &mut self.closing);
            }
        }
        let platform = &mut *cx.platform;
        let actions = self.core.poll(now, &mut || platform.random_u16());
        busy |= !actions.is_empty();
        for a in actions {
            self.act(cx, a, now);
        }
        gitns_serve::link::reap(cx.net, &mut self.closing);
        busy
    }

    fn next_deadline(&self) -> Option<u64> {
        // A link is pumped again at once only when it moved bytes or left
        // some in the socket; else the next packet wakes the loop (a
        // loop spinning through a transfer took the CPU the VM needs to
        // ACK on a loaded host, and the primary gave up on us).
        if self.links.iter().any(|l| l.more()) {
            return Some(1);
        }
        self.core.deadline().map(|t| t.saturating_mul(1_000_000))
    }

    fn owns(&self, zone: &Name) -> bool {
        self.core.covers(zone)
    }

    /// A NOTIFY the authority accepted (signed with a key of ours): check
    /// the zone now (RFC 1996 3.11).
    fn resync(&mut self, _cx: &mut Cx<P>, zone: &Name, now: u64) {
        self.core.notified(zone, None, now / 1_000_000);
    }

    /// A secondary's copy is the primary's: UPDATE is answered NOTAUTH
    /// (RFC 2136 3.1.1; not forwarded, docs/design.md).
    fn update(&mut self, cx: &mut Cx<P>, d: Deferred, _now: u64) -> Result<(), Deferred> {
        let wall = cx.platform.wall_clock_ns() / 1_000_000_000;
        if let Some(msg) = update_in::notauth(&d.msg, &self.keys, wall) {
            log::info!("UPDATE from {} to a secondary: NOTAUTH", d.peer);
            let r = cx.dns.update_reply(&d, msg);
            cx.replies.push(r);
        }
        Ok(())
    }

    fn metrics(&self, out: &mut String) {
        self.core.metrics(out);
    }
}

impl SecondarySource {
    /// SOA answers that arrived on the UDP socket.
    fn receive_udp<P: Platform>(&mut self, cx: &mut Cx<P>, now: Now) -> bool {
        if self.udp.is_none() {
            match cx.net.bind_udp(cx.platform.ephemeral_port(), 16, 32 * 1024) {
                Ok(h) => self.udp = Some(h),
                Err(e) => {
                    log::error!("secondary: cannot bind a UDP port: {e}");
                    return false;
                }
            }
        }
        let sock = cx.net.sockets.get_mut::<udp::Socket>(self.udp.unwrap());
        let (mut busy, platform) = (false, &mut *cx.platform);
        while let Ok((len, meta)) = sock.recv_slice(&mut self.buf) {
            busy = true;
            let from = SocketAddr::from(meta.endpoint);
            self.core
                .on_udp(&self.buf[..len], from, now, &mut || platform.random_u16());
        }
        busy
    }

    fn act<P: Platform>(&mut self, cx: &mut Cx<P>, a: Action, now: Now) {
        match a {
            Action::Query { to, msg } => {
                let Some(h) = self.udp else { return };
                // Through the neighbour table: a dead on-link primary holds
                // back no query to the others.
                if let Err(e) = cx.net.send_udp(h, &msg, IpEndpoint::from(to)) {
                    log::warn!("secondary: SOA query to {to}: {e}");
                }
            }
            Action::Transfer { to, zone, msg } => self.open_link(cx, to, zone, &msg, now),
            Action::Close { zone } => self.close_link(cx, &zone),
            Action::Install { zone, data } => {
                if self.core.install(&mut cx.dns.zones, &zone, data, now) {
                    zone_changed(cx, &zone);
                    keep(cx);
                }
            }
            Action::Expire { zone } => {
                cx.dns.zones.expire(&zone);
                zone_changed(cx, &zone);
                keep(cx);
            }
            Action::Dropped { zone } => {
                cx.dns.notifier.forget(&zone);
                cx.dns.zone_status.remove(&zone.to_text());
            }
            Action::Log(l) => log::info!("{l}"),
        }
    }

    fn close_link<P: Platform>(&mut self, cx: &mut Cx<P>, zone: &Name) {
        if let Some(i) = self.links.iter().position(|l| l.zone == *zone) {
            self.links.remove(i).close(cx.net, &mut self.closing);
        }
    }

    fn open_link<P: Platform>(
        &mut self,
        cx: &mut Cx<P>,
        to: SocketAddr,
        zone: Name,
        msg: &[u8],
        now: Now,
    ) {
        self.close_link(cx, &zone);
        let port = cx.platform.ephemeral_port();
        match XfrLink::open(cx.net, zone.clone(), IpEndpoint::from(to), port, msg) {
            Ok(l) => self.links.push(l),
            Err(e) => {
                log::warn!("secondary {zone}: {e}");
                self.core.on_closed(&zone, now);
            }
        }
    }
}

/// Write every served zone to the storage cache as a master file, so a
/// reboot serves them before the primary answers. Without a storage
/// device nothing is printed: the text of a 1,000,000-name zone took 2 s
/// and 52 MB of heap for nothing (issue 23).
fn keep<P: Platform>(cx: &mut Cx<P>) {
    if cx.platform.block_capacity().is_none() {
        return;
    }
    let files = install::master_files(&cx.dns.zones);
    cx.storage.keep(cx.platform, Some(files));
}
