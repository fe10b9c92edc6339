//! The secondary as a zone source (issue 23): the sans-I/O core
//! ([`gitns_dns::secondary`]) given its sockets and clocks. Zones come
//! from the primaries the `--keys` name, by AXFR/IXFR over TCP after a SOA
//! query over UDP; each installed version is kept on the storage cache
//! (a reboot serves it at once, then checks it); NOTIFYs reach it through
//! the authority, which checks their TSIG against the same keys; UPDATEs
//! are answered NOTAUTH (docs/design.md, "The secondary in the appliance").

use super::xfr_link::{self, Pumped, XfrLink};
use super::{install_zone, zone_changed, Cx, ZoneSource};
use crate::dns::Deferred;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::{IpAddr, SocketAddr};
use gitns_dns::name::Name;
use gitns_dns::secondary::source::{self, Primary};
use gitns_dns::secondary::{ixfr_apply, update_in, Action, HeldSoa, Now, Received, Secondary};
use gitns_dns::zone::printer;
use gitns_net::smoltcp::iface::SocketHandle;
use gitns_net::smoltcp::socket::udp;
use gitns_net::smoltcp::wire::{IpAddress, IpEndpoint};
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
    /// Transfers installed, and failed installs of differences.
    installed: u64,
    buf: Vec<u8>,
}

impl SecondarySource {
    /// The secondary `cfg` asks for: None unless a key names a primary.
    pub fn from_config(cfg: &crate::config::Config, now_ns: u64) -> Option<SecondarySource> {
        let s = &cfg.secondary;
        let at = s
            .primary
            .map_or(Primary::Named(source::PORT), Primary::Given);
        let sources = source::of_keys(&s.keys, at);
        if sources.is_empty() {
            return None;
        }
        for src in &sources {
            let what = match src.is_catch_all() {
                true => String::from("every zone"),
                false => alloc::format!("zone {}", src.zone),
            };
            log::info!("secondary: {what} from primary {}", src.primary);
        }
        Some(SecondarySource {
            core: Secondary::new(sources, now_ns / 1_000_000),
            keys: s.keys.clone(),
            udp: None,
            links: Vec::new(),
            closing: Vec::new(),
            installed: 0,
            buf: alloc::vec![0; MAX_UDP],
        })
    }

    /// The TSIG keys the authority checks NOTIFYs and transfers with.
    pub fn keys(&self) -> &[gitns_dns::keys::Key] {
        &self.keys
    }
}

fn now_of<P: Platform>(platform: &mut P, now_ns: u64) -> Now {
    Now {
        mono_ms: now_ns / 1_000_000,
        wall: platform.wall_clock_ns() / 1_000_000_000,
    }
}

fn endpoint(a: SocketAddr) -> IpEndpoint {
    IpEndpoint::new(IpAddress::from(a.ip()), a.port())
}

fn socket_addr(e: IpEndpoint) -> SocketAddr {
    SocketAddr::new(IpAddr::from(e.addr), e.port)
}

impl<P: Platform> ZoneSource<P> for SecondarySource {
    /// Zones read from the storage cache at boot: served already, checked
    /// now.
    fn restore(&mut self, dns: &crate::dns::Dns, now: u64) {
        for z in dns.zones.zones() {
            let Some(soa) = z.soa() else { continue };
            let Some(rdata) = soa.rdatas.first() else {
                continue;
            };
            let held = HeldSoa {
                ttl: soa.ttl,
                rdata: rdata.to_vec(),
            };
            self.core.restore(&z.origin, held, now / 1_000_000);
        }
    }

    fn run(&mut self, cx: &mut Cx<P>, now_ns: u64) -> bool {
        let now = now_of(cx.platform, now_ns);
        let mut busy = self.receive_udp(cx, now);
        busy |= self.pump_links(cx, now);
        let platform = &mut *cx.platform;
        let actions = self.core.poll(now, &mut || platform.random_u16());
        busy |= !actions.is_empty();
        for a in actions {
            self.act(cx, a, now);
        }
        xfr_link::reap(cx.net, &mut self.closing);
        busy
    }

    fn next_deadline(&self) -> Option<u64> {
        let t = self.core.deadline()?.saturating_mul(1_000_000);
        // Links in flight are pumped every turn of the loop.
        Some(match self.links.is_empty() {
            true => t,
            false => t.min(1),
        })
    }

    fn owns(&self, zone: &Name) -> bool {
        self.core.covers(zone)
    }

    /// A NOTIFY the authority accepted (signed with a key of ours): check
    /// the zone now (RFC 1996 3.11).
    fn resync(&mut self, _cx: &mut Cx<P>, zone: &Name, now: u64) {
        if self.core.notified(zone, None, now / 1_000_000) {
            log::info!("secondary {zone}: NOTIFY, checking the primary");
        } else {
            log::info!("secondary: NOTIFY for {zone} ignored: not a zone we follow");
        }
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
        let zones = self.core.zones().count();
        out.push_str(&alloc::format!(
            "# TYPE gitns_secondary_zones gauge\ngitns_secondary_zones {zones}\n# TYPE gitns_secondary_installed_total counter\ngitns_secondary_installed_total {}\n",
            self.installed
        ));
    }
}

impl SecondarySource {
    /// SOA answers that arrived on the UDP socket.
    fn receive_udp<P: Platform>(&mut self, cx: &mut Cx<P>, now: Now) -> bool {
        let handle = match self.udp {
            Some(h) => h,
            None => match cx.net.bind_udp(cx.platform.ephemeral_port(), 16, 32 * 1024) {
                Ok(h) => *self.udp.insert(h),
                Err(e) => {
                    log::error!("secondary: cannot bind a UDP port: {e}");
                    return false;
                }
            },
        };
        let mut busy = false;
        let sock = cx.net.sockets.get_mut::<udp::Socket>(handle);
        let platform = &mut *cx.platform;
        while let Ok((len, meta)) = sock.recv_slice(&mut self.buf) {
            busy = true;
            let from = socket_addr(meta.endpoint);
            let mut ids = || platform.random_u16();
            self.core.on_udp(&self.buf[..len], from, now, &mut ids);
        }
        busy
    }

    /// Move the transfer connections' bytes; their messages to the core.
    fn pump_links<P: Platform>(&mut self, cx: &mut Cx<P>, now: Now) -> bool {
        let mut busy = false;
        let mut i = 0;
        while i < self.links.len() {
            let (msgs, closed) = match self.links[i].pump(cx.net) {
                Pumped::Idle => (Vec::new(), false),
                Pumped::Messages(m) => (m, false),
                Pumped::Closed(m) => (m, true),
            };
            busy |= closed || !msgs.is_empty();
            let zone = self.links[i].zone.clone();
            let mut open = !closed;
            for m in &msgs {
                open = self.core.on_transfer(&zone, m, now);
                if !open {
                    break;
                }
            }
            if open {
                i += 1;
                continue;
            }
            if closed {
                self.core.on_closed(&zone, now);
            }
            self.links.remove(i).close(cx.net, &mut self.closing);
        }
        busy
    }

    fn act<P: Platform>(&mut self, cx: &mut Cx<P>, a: Action, now: Now) {
        match a {
            Action::Query { to, msg } => {
                let Some(h) = self.udp else { return };
                let sock = cx.net.sockets.get_mut::<udp::Socket>(h);
                if let Err(e) = sock.send_slice(&msg, endpoint(to)) {
                    log::warn!("secondary: SOA query to {to}: {e}");
                }
            }
            Action::Transfer { to, zone, msg } => self.open_link(cx, to, zone, &msg, now),
            Action::Close { zone } => {
                if let Some(i) = self.links.iter().position(|l| l.zone == zone) {
                    self.links.remove(i).close(cx.net, &mut self.closing);
                }
            }
            Action::Install { zone, data } => self.install(cx, zone, data, now),
            Action::Expire { zone } => {
                cx.dns.zones.expire(&zone);
                zone_changed(cx, &zone);
                keep(cx);
            }
            Action::Log(l) => log::info!("{l}"),
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
        if let Some(i) = self.links.iter().position(|l| l.zone == zone) {
            self.links.remove(i).close(cx.net, &mut self.closing);
        }
        let port = cx.platform.ephemeral_port();
        match XfrLink::open(cx.net, zone.clone(), endpoint(to), port, msg) {
            Ok(l) => self.links.push(l),
            Err(e) => {
                log::warn!("secondary {zone}: {e}");
                self.core.on_closed(&zone, now);
            }
        }
    }

    /// Serve what a transfer brought and keep it on the storage cache.
    fn install<P: Platform>(&mut self, cx: &mut Cx<P>, zone: Name, data: Received, now: Now) {
        match data {
            Received::Current(_) => return,
            Received::Full(z) => install_zone(cx, z),
            Received::Incremental(diffs) => {
                let applied = cx
                    .dns
                    .zones
                    .edit_in_place(&zone, |z| ixfr_apply::apply(z, &diffs));
                match applied {
                    Some(Ok(())) => zone_changed(cx, &zone),
                    Some(Err(e)) => {
                        log::warn!("secondary {zone}: IXFR did not apply ({e:?})");
                        return self.core.apply_failed(&zone, now);
                    }
                    None => return self.core.apply_failed(&zone, now),
                }
            }
        }
        self.installed += 1;
        keep(cx);
    }
}

/// Write every served zone to the storage cache as a master file, so a
/// reboot serves them before the primary answers.
fn keep<P: Platform>(cx: &mut Cx<P>) {
    let files: Vec<(String, Vec<u8>)> = cx
        .dns
        .zones
        .zones()
        .map(|z| {
            let name = z.origin.to_text();
            let name = name.trim_end_matches('.').to_lowercase();
            (name, printer::print(z).into_bytes())
        })
        .collect();
    cx.storage.keep(cx.platform, Some(files));
}
