//! The interface: addresses and routes from the configuration, one smoltcp
//! `Interface` and `SocketSet`, and the poll step of the main loop.

use crate::device::{Buffers, PlatformDevice};
use crate::frame::{FrameHook, NoHook};
use crate::platform::Platform;
use alloc::vec::Vec;
use smoltcp::iface::{
    Config, Interface, PollIngressSingleResult, PollResult, SocketHandle, SocketSet,
};
use smoltcp::socket::{tcp, udp};
use smoltcp::storage::PacketMetadata;
use smoltcp::time::Instant;
use smoltcp::wire::{
    EthernetAddress, HardwareAddress, IpCidr, Ipv4Address, Ipv4Cidr, Ipv6Address, Ipv6Cidr,
};

/// Addresses of the service interface.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetConfig {
    pub ipv4: Ipv4Cidr,
    pub ipv4_gateway: Option<Ipv4Address>,
    pub ipv6: Option<Ipv6Cidr>,
    pub ipv6_gateway: Option<Ipv6Address>,
}

impl Default for NetConfig {
    /// 10.0.0.2/24 without a gateway (the boot issue's default).
    fn default() -> Self {
        NetConfig {
            ipv4: Ipv4Cidr::new(Ipv4Address::new(10, 0, 0, 2), 24),
            ipv4_gateway: None,
            ipv6: None,
            ipv6_gateway: None,
        }
    }
}

/// The network stack of the appliance.
pub struct Net {
    pub iface: Interface,
    pub sockets: SocketSet<'static>,
    bufs: Buffers,
    /// The device's MTU (IP bytes per frame), as the platform reported it.
    mtu: usize,
    /// Frames received and sent since boot.
    pub frames_in: u64,
    pub frames_out: u64,
    /// The addresses and gateway the interface was set up with.
    pub(crate) config: NetConfig,
    /// On-link neighbours known to answer ARP, and the UDP datagrams
    /// waiting for the others ([`Net::send_udp`]).
    pub neighbours: crate::held::Table,
    /// The time of the last poll, for sends between polls.
    pub(crate) now_ns: u64,
}

/// Monotonic nanoseconds as a smoltcp instant.
pub fn instant(ns: u64) -> Instant {
    Instant::from_micros((ns / 1000) as i64)
}

impl Net {
    /// Bring the interface up on the platform's device.
    pub fn new<P: Platform>(platform: &mut P, cfg: &NetConfig) -> Net {
        let mtu = platform.mtu();
        let mut bufs = Buffers::new(mtu);
        let mac = EthernetAddress(platform.mac());
        let mut seed = [0u8; 8];
        platform.fill_random(&mut seed);
        let mut config = Config::new(HardwareAddress::Ethernet(mac));
        config.random_seed = u64::from_le_bytes(seed);
        let now = instant(platform.monotonic_ns());
        let mut iface = {
            let mut dev = PlatformDevice::new(platform, &mut bufs);
            Interface::new(config, &mut dev, now)
        };
        iface.update_ip_addrs(|addrs| {
            let _ = addrs.push(IpCidr::Ipv4(cfg.ipv4));
            if let Some(v6) = cfg.ipv6 {
                let _ = addrs.push(IpCidr::Ipv6(v6));
            }
        });
        if let Some(gw) = cfg.ipv4_gateway {
            let _ = iface.routes_mut().add_default_ipv4_route(gw);
        }
        if let Some(gw) = cfg.ipv6_gateway {
            let _ = iface.routes_mut().add_default_ipv6_route(gw);
        }
        Net {
            iface,
            sockets: SocketSet::new(Vec::new()),
            bufs,
            mtu,
            frames_in: 0,
            frames_out: 0,
            config: *cfg,
            neighbours: crate::held::Table::new(),
            now_ns: platform.monotonic_ns(),
        }
    }

    /// The device's MTU: the most IP bytes (header included) one frame
    /// carries, as the tender read it from the host tap (a UDP answer
    /// larger than `mtu() - 28` over IPv4 would need IP fragments).
    pub fn mtu(&self) -> usize {
        self.mtu
    }

    /// Process every pending frame and send what the sockets queued.
    /// Returns true when a socket may have changed state.
    pub fn poll<P: Platform>(&mut self, platform: &mut P, now_ns: u64) -> bool {
        self.poll_with(platform, now_ns, &mut NoHook)
    }

    /// [`Net::poll`], with `hook` called around each received frame:
    /// smoltcp has no accept backlog (a SYN finding no listening socket is
    /// reset), so a server sets up its next listener after a frame, before
    /// the next SYN of a burst; and a socket a server keeps outside the set
    /// goes back in before a frame for it.
    pub fn poll_with<P: Platform>(
        &mut self,
        platform: &mut P,
        now_ns: u64,
        hook: &mut dyn FrameHook,
    ) -> bool {
        let now = instant(now_ns);
        self.now_ns = now_ns;
        self.iface.poll_maintenance(now);
        let mut changed = false;
        loop {
            let len = match platform.net_recv(self.bufs.rx_mut()) {
                Ok(Some(len)) => len,
                Ok(None) => break,
                Err(e) => {
                    log::warn!("net: receive failed: {e:?}");
                    break;
                }
            };
            self.frames_in += 1;
            let answered = crate::arp::answered_by(self.bufs.rx(len), self.config.ipv4);
            hook.before(self.bufs.rx(len), &mut self.sockets);
            let mut dev = PlatformDevice::with_frame(platform, &mut self.bufs, len);
            let r = self
                .iface
                .poll_ingress_single(now, &mut dev, &mut self.sockets);
            self.frames_out += dev.frames_out as u64;
            if let Some(addr) = answered {
                self.neighbour_answered(addr);
            }
            if r == PollIngressSingleResult::SocketStateChanged {
                changed = true;
                hook.after(&mut self.sockets);
            }
        }
        self.poll_neighbours(platform);
        let mut dev = PlatformDevice::new(platform, &mut self.bufs);
        while self.iface.poll_egress(now, &mut dev, &mut self.sockets)
            == PollResult::SocketStateChanged
        {
            changed = true;
        }
        self.frames_out += dev.frames_out as u64;
        platform.net_flush();
        changed
    }

    /// A UDP socket bound to `port`, buffering `slots` datagrams and
    /// `bytes` of payload in each direction.
    pub fn bind_udp(
        &mut self,
        port: u16,
        slots: usize,
        bytes: usize,
    ) -> Result<SocketHandle, udp::BindError> {
        let buffer = || {
            udp::PacketBuffer::new(
                alloc::vec![PacketMetadata::EMPTY; slots],
                alloc::vec![0; bytes],
            )
        };
        let mut sock = udp::Socket::new(buffer(), buffer());
        sock.bind(port)?;
        Ok(self.sockets.add(sock))
    }

    /// A TCP connection to `target` from `local_port` with `rx`/`tx` bytes
    /// of buffer, Nagle off, 20 s without an answer aborting it.
    pub fn connect_tcp(
        &mut self,
        target: smoltcp::wire::IpEndpoint,
        local_port: u16,
        rx: usize,
        tx: usize,
    ) -> Result<SocketHandle, alloc::string::String> {
        let mut sock = tcp::Socket::new(
            tcp::SocketBuffer::new(alloc::vec![0; rx]),
            tcp::SocketBuffer::new(alloc::vec![0; tx]),
        );
        sock.set_nagle_enabled(false);
        sock.set_timeout(Some(smoltcp::time::Duration::from_secs(20)));
        sock.connect(self.iface.context(), target, local_port)
            .map_err(|e| alloc::format!("cannot connect to {target}: {e}"))?;
        Ok(self.sockets.add(sock))
    }

    /// Monotonic nanoseconds at which smoltcp next needs a poll, if any.
    pub fn poll_at_ns(&mut self, now_ns: u64) -> Option<u64> {
        let smol = self
            .iface
            .poll_delay(instant(now_ns), &self.sockets)
            .map(|d| now_ns.saturating_add(d.total_micros().saturating_mul(1000)));
        match (smol, self.neighbours.poll_at()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
